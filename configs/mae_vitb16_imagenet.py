"""python -m ssl_jax.main --config=configs/mae_vitb16_imagenet.py --workdir=DIR

MAE with ViT-B/16 on ImageNet: PRETRAIN.md's command with ``--model
mae_vit_base_patch16`` (facebookresearch/mae ``main_pretrain.py
--norm_pix_loss --mask_ratio 0.75 --epochs 800 --warmup_epochs 40 --blr
1.5e-4 --weight_decay 0.05``, batch 64 x 64 GPUs = 4096).  The model's
defaults: MAE's fixed sine-cosine position embeddings, a 512-d decoder of
8 blocks and 16 heads; one 224 px crop (20-100 %) and flip; AdamW with
betas (0.9, 0.95) at lr 1.5e-4 x batch/256 warmed up over 40 epochs and
cosine to 0, weight decay 0.05 on every tensor of 2 dimensions or more.
Evaluate by fine-tuning (``configs/linear_eval.py:mae_finetune``); the
paper's Table 3 reports 83.6 % for ViT-B fine-tuned after 1600 epochs.
"""
from configs import _imagenet, common

BATCH = 4096


def get_config():
  c = _imagenet.imagenet(
      common.method("mae", decoder_dim=512, decoder_depth=8, decoder_heads=16,
                    mask_ratio=0.75, norm_pix_loss=True),
      "mae_imagenet", "adamw", lr=1.5e-4, weight_decay=0.05, batch_size=BATCH, epochs=800,
      warmup_epochs=40.0, end_lr_ratio=0.0)
  c.model.name = "vit_base16"
  c.model.pos_embed = "sincos_mae"
  c.optim.beta2 = 0.95
  return c.lock()

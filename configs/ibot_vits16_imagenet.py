"""python -m ssl_jax.main --config=configs/ibot_vits16_imagenet.py --workdir=DIR

iBOT with ViT-S/16 on ImageNet, 800 epochs: the official README's ViT-S/16
command (bytedance/ibot, ``run.sh imagenet_pretrain $JOB_NAME vit_small
teacher 16`` on 16 GPUs, batch 16 x 64 = 1024; the README's ViT-S/16 row:
75.2 % k-NN, 77.9 % linear, 82.3 % fine-tuned).  The command's arguments: teacher
temperature 0.04 -> 0.07 over 30 epochs (the patch term's too, to
main_ibot.py's default 0.07), a shared head of 8192 outputs whose
prototypes train their weight-norm gains (``--norm_last_layer false``), 2 x 224
(0.25-1) + 10 x 96 (0.05-0.25) crops, prediction ratio 0 or 0.3 +- 0.2 per
crop; main_ibot.py's defaults for the rest: head 384 -> 2048 -> 2048 -> 256
(GELU, no BN), prototypes frozen for the first epoch, centre momenta 0.9,
teacher EMA 0.996 -> 1, stochastic depth 0.1, AdamW at lr 5e-4 x batch/256
warmed up over 10 epochs and cosine to 1e-6, weight decay cosine 0.04 ->
0.4 on every tensor of 2 dimensions or more (the gains, stored [K, 1] as
PyTorch's ``weight_g``, included), each gradient tensor clipped to norm 3.0.
"""
from configs import _imagenet, common

BATCH = 1024


def get_config():
  method = common.method(
      "ibot", projector=common.head(2048, 256, num_layers=3, hidden_bn=False,
                                    activation="gelu"),
      num_prototypes=8192, student_temp=0.1, teacher_temp=0.07, warmup_teacher_temp=0.04,
      teacher_patch_temp=0.07, warmup_teacher_patch_temp=0.04, warmup_teacher_temp_epochs=30,
      center_momentum=0.9, patch_center_momentum=0.9, pred_ratio=(0.0, 0.3),
      pred_ratio_var=(0.0, 0.2), freeze_prototypes_epochs=1.0, ema_momentum=0.996,
      norm_last_layer=False)
  c = _imagenet.imagenet(
      method, "ibot_multicrop", "adamw", lr=5e-4, weight_decay=0.04, batch_size=BATCH,
      epochs=800, warmup_epochs=10.0, end_lr_ratio=1e-6 / (5e-4 * BATCH / 256))
  c.model.name = "vit_small16"
  c.model.drop_path_rate = 0.1
  c.optim.weight_decay_end = 0.4
  c.optim.clip_grad = 3.0
  return c.lock()

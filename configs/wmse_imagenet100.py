"""python -m ssl_jax.main --config=configs/wmse_imagenet100.py --workdir=DIR

W-MSE 2 on ImageNet-100 (Ermolov et al. 2021, Table 1; htdt/self-supervised
README: --dataset imagenet --epoch 240 --lr 2e-3 --emb 128 --w_size 256
--crop_s0 0.08 --cj0 0.8 --cj1 0.8 --cj2 0.8 --cj3 0.2 --gs_p 0.2), the
largest recipe of the official code (it has none for ImageNet-1k):
ResNet-18, head 1024 -> 128, whitening in sub-batches of 256, one
iteration, colour distortion of strength 1 with blur 0.5, PyTorch Adam lr
2e-3 (not batch-scaled: base_lr 1e-3 x 512/256) with L2 decay 1e-6 on every
parameter, 500 warm-up iterations, then x 0.2 at 50 and 25 epochs before
the end (--drop 50 25 --drop_gamma 0.2), batch 512, 240 epochs.
"""
from configs import _imagenet, common
from ssl_jax.data import imagenet100


def get_config():
  c = _imagenet.imagenet(
      common.method("wmse", projector=common.head(1024, 128), whiten_size=256,
                    whiten_iters=1, eps=0.0, detach_second=False),
      "simclr_imagenet", "adam", lr=1e-3, weight_decay=1e-6, batch_size=512, epochs=240,
      warmup_epochs=500 / (imagenet100.NUM_TRAIN // 512), exclude_bias_and_norm=False)
  c.model.name = "resnet18"
  c.data.name = "imagenet100"
  c.eval.every_steps = 10000
  c.optim.schedule = "multistep"
  c.optim.milestones = (190, 215)
  c.optim.gamma = 0.2
  return c.lock()

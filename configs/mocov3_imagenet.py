"""python -m ssl_jax.main --config=configs/mocov3_imagenet.py --workdir=DIR

MoCo v3 on ImageNet, ResNet-50 100 epochs (facebookresearch/moco-v3
CONFIG.md and main_moco.py defaults; Chen et al. 2021, Table 4): ResNet-50
with zero-initialised residual branches, projector 2 layers 4096 -> 256 and
predictor 2 layers 4096 -> 256 (no biases; BN without affine after the
projector only), temperature 1.0, momentum 0.99 -> 1 (cosine), BYOL's
views with crops of at least 20 %, LARS lr 0.6 x batch/256, weight decay
1e-6 (not on BN and biases), 10 warm-up epochs, batch 4096.  300 epochs:
--config.optim.base_lr=0.3 --config.train.epochs=300.
"""
from configs import _imagenet, common


def get_config():
  c = _imagenet.imagenet(
      common.method("mocov3",
                    projector=common.head(4096, 256, 2, last_bn=True, last_bn_affine=False),
                    predictor=common.head(4096, 256, 2, last_bias=False), temperature=1.0,
                    ema_momentum=0.99),
      "mocov3_imagenet", "lars", lr=0.6, weight_decay=1e-6, batch_size=4096, epochs=100)
  c.model.zero_init_residual = True
  return c.lock()

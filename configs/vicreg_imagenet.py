"""python -m ssl_jax.main --config=configs/vicreg_imagenet.py --workdir=DIR

VICReg on ImageNet, 1000 epochs (Bardes et al. 2022, Section 4.1 and Table
1; facebookresearch/vicreg main_vicreg.py): ResNet-50, projector
8192-8192-8192 (last layer without bias), weights 25 / 25 / 1, BYOL's
asymmetric views, LARS lr 0.2 x batch/256, weight decay 1e-6 (neither on BN
and biases), 10 warm-up epochs, cosine to 0.001 of the peak, batch 2048.
(main_vicreg.py defaults to 100 epochs; its README's 8-GPU run uses batch
512 and base lr 0.3.)
"""
from configs import _imagenet, common


def get_config():
  c = _imagenet.imagenet(
      common.method("vicreg", projector=common.head(8192, 8192, 3, last_bias=False),
                    sim_weight=25.0, var_weight=25.0, cov_weight=1.0),
      "asymmetric_imagenet", "lars", lr=0.2, weight_decay=1e-6, batch_size=2048,
      epochs=1000, end_lr_ratio=0.001)
  return c.lock()

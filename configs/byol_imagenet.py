"""python -m ssl_jax.main --config=configs/byol_imagenet.py --workdir=DIR

BYOL on ImageNet, 1000 epochs (Grill et al. 2020, Section 3.2 and Appendix
C; Table 1): ResNet-50, projector and predictor 4096 -> 256, EMA 0.996 -> 1
(cosine), BYOL's asymmetric views, LARS lr 0.2 x batch/256, weight decay
1.5e-6 (neither on BN and biases), 10 warm-up epochs, cosine to 0, batch
4096.
"""
from configs import _imagenet, common


def get_config():
  c = _imagenet.imagenet(
      common.method("byol", projector=common.head(4096, 256),
                    predictor=common.head(4096, 256), ema_momentum=0.996),
      "asymmetric_imagenet", "lars", lr=0.2, weight_decay=1.5e-6, batch_size=4096,
      epochs=1000)
  return c.lock()

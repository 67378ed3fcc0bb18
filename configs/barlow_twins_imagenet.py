"""python -m ssl_jax.main --config=configs/barlow_twins_imagenet.py --workdir=DIR

Barlow Twins on ImageNet, 1000 epochs (Zbontar et al. 2021, Section 4 and
Table 1; facebookresearch/barlowtwins main.py defaults): ResNet-50,
projector 8192-8192-8192 without biases, λ = 0.0051, no loss scale, BYOL's
asymmetric views, LARS lr 0.2 x batch/256 for the weights and 0.0048 x
batch/256 for biases and BN parameters (bias_lr_ratio 0.024), weight decay
1e-6 (main.py's default; the paper says 1.5e-6), neither on BN and biases,
10 warm-up epochs, cosine to 0.001 of the peak, batch 2048.
"""
from configs import _imagenet, common


def get_config():
  c = _imagenet.imagenet(
      common.method("barlow_twins", projector=common.head(8192, 8192, 3, last_bias=False),
                    lambd=0.0051, scale=1.0),
      "asymmetric_imagenet", "lars", lr=0.2, weight_decay=1e-6, batch_size=2048,
      epochs=1000, end_lr_ratio=0.001)
  c.optim.bias_lr_ratio = 0.0048 / 0.2
  return c.lock()

"""python -m ssl_jax.main --config=configs/simclr_imagenet.py --workdir=DIR

SimCLR on ImageNet, the default setting of Chen et al. 2020 (Section 2.3,
Appendix B.1; google-research/simclr run.py): ResNet-50, projection head
2048 -> 128 with BN (the paper's 2-layer head), temperature 0.1, colour
distortion of strength 1 with blur 0.5, LARS lr 0.3 x batch/256, weight
decay 1e-6 (not on BN and biases), 10 warm-up epochs, cosine to 0, batch
4096, 100 epochs.  The head's last BN has a scale and no shift, as SimCLR's
linear_layer(use_bias=False, use_bn=True).  (run.py's defaults are SimCLR
v2's: a 3-layer head and weight decay 1e-4.)
"""
from configs import _imagenet, common


def get_config():
  c = _imagenet.imagenet(
      common.method("simclr", projector=common.head(2048, 128, last_bn=True, last_bias=False),
                    temperature=0.1),
      "simclr_imagenet", "lars", lr=0.3, weight_decay=1e-6, batch_size=4096, epochs=100)
  return c.lock()

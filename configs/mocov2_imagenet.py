"""python -m ssl_jax.main --config=configs/mocov2_imagenet.py --workdir=DIR

MoCo v2 on ImageNet, 200 epochs (Chen et al. 2020, Table 1; facebookresearch/moco
README: --lr 0.03 --batch-size 256 --mlp --moco-t 0.2 --aug-plus --cos):
ResNet-50, head Linear-ReLU-Linear 2048 -> 128, temperature 0.2, queue
65536, momentum 0.999, SGD lr 0.03 x batch/256, momentum 0.9, weight decay
1e-4 on every parameter, cosine without warm-up, aug+ views (crops of at
least 20 %, blur 0.5).  Kept different: the loss is symmetrised over the
two views (solo-learn's mocov2plus; the official loss is one-directional),
and the momentum follows a cosine from 0.999 to 1 instead of staying 0.999.
"""
from configs import _imagenet, common


def get_config():
  c = _imagenet.imagenet(
      common.method("mocov2", projector=common.head(2048, 128, hidden_bn=False),
                    temperature=0.2, queue_size=65536, ema_momentum=0.999),
      "mocov2_imagenet", "sgd", lr=0.03, weight_decay=1e-4, batch_size=256, epochs=200,
      warmup_epochs=0.0, exclude_bias_and_norm=False)
  return c.lock()

"""python -m ssl_jax.main --config=configs/mocov2_imagenet.py --workdir=DIR

MoCo v2 on ImageNet, 200 epochs (Chen et al. 2020, Table 1; facebookresearch/moco
README: --lr 0.03 --batch-size 256 --mlp --moco-t 0.2 --aug-plus --cos):
ResNet-50, head Linear-ReLU-Linear 2048 -> 128, temperature 0.2, queue
65536, a constant momentum 0.999, the one-directional loss (view 0's query
against view 1's key), SGD lr 0.03 x batch/256, momentum 0.9, weight decay
1e-4 on every parameter, cosine without warm-up, aug+ views (crops of at
least 20 %, blur 0.5).  solo-learn's symmetrised form with a momentum
annealed to 1: --config.method.symmetric=true --config.method.ema_anneal=true.
"""
from configs import _imagenet, common


def get_config():
  c = _imagenet.imagenet(
      common.method("mocov2", projector=common.head(2048, 128, hidden_bn=False),
                    temperature=0.2, queue_size=65536, ema_momentum=0.999,
                    symmetric=False, ema_anneal=False),
      "mocov2_imagenet", "sgd", lr=0.03, weight_decay=1e-4, batch_size=256, epochs=200,
      warmup_epochs=0.0, exclude_bias_and_norm=False)
  return c.lock()

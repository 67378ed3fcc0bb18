"""python -m ssl_jax.main --config=configs/deepclusterv2_imagenet.py --workdir=DIR --config.data.prepared=PREPARED

DeepCluster v2 on ImageNet, 800 epochs with multi-crop (Caron et al. 2020,
appendix; facebookresearch/swav README, 75.2 % linear top-1, and
scripts/deepclusterv2_800ep_pretrain.sh): ResNet-50, projector 2048 -> 128,
three heads of 3000 k-means centroids on the bank of the two 224 px crops,
temperature 0.1, 10 k-means iterations, 2 x 224 + 6 x 96 crops, apex LARC
(trust 0.001, on every parameter) around SGD with momentum 0.9, lr 4.8 at
batch 4096 (0.3 x batch/256) warmed up from 0.3 over 10 epochs, cosine to
0.0048, weight decay 1e-6, batch 4096.  The memory bank is indexed by
example, so the run reads a prepared copy (python -m ssl_jax.prepare
--source=imagenet2012 --root=TFDS_DIR --out=PREPARED), not the tfds stream.
"""
from configs import _imagenet, common


def get_config():
  c = _imagenet.imagenet(
      common.method("deepclusterv2", projector=common.head(2048, 128),
                    num_prototypes=(3000, 3000, 3000), temperature=0.1, kmeans_iters=10),
      "swav_multicrop", "larc", lr=0.3, weight_decay=1e-6, batch_size=4096, epochs=800,
      end_lr_ratio=0.001, exclude_bias_and_norm=False)
  c.optim.warmup_start_lr = 0.3
  return c.lock()

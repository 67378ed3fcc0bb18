"""python -m ssl_jax.main --config=configs/swav_imagenet.py --workdir=DIR

SwAV on ImageNet, 800 epochs with multi-crop (Caron et al. 2020, Table 1;
facebookresearch/swav scripts/swav_800ep_pretrain.sh): ResNet-50, projector
2048 -> 128, 3000 prototypes frozen for the first epoch (313 iterations),
temperature 0.1, ε = 0.05, 3 Sinkhorn iterations, no queue, 2 x 224 + 6 x
96 crops, apex LARC (trust 0.001, on every parameter) around SGD with
momentum 0.9, lr 4.8 at batch 4096 (0.3 x batch/256) warmed up from 0.3
over 10 epochs, cosine to 0.0048, weight decay 1e-6, batch 4096.
"""
from configs import _imagenet, common


def get_config():
  c = _imagenet.imagenet(
      common.method("swav", projector=common.head(2048, 128), num_prototypes=3000,
                    temperature=0.1, epsilon=0.05, sinkhorn_iters=3,
                    freeze_prototypes_epochs=1.0),
      "swav_multicrop", "larc", lr=0.3, weight_decay=1e-6, batch_size=4096, epochs=800,
      end_lr_ratio=0.001, exclude_bias_and_norm=False)
  c.optim.warmup_start_lr = 0.3
  return c.lock()

"""python -m ssl_jax.main --config=configs/wmse_cifar10.py --workdir=DIR

W-MSE 2 on CIFAR-10 (Ermolov et al. 2021, Table 1; htdt/self-supervised
README and cfg.py defaults: --dataset cifar10 --epoch 1000 --lr 3e-3 --emb
64): ResNet-18 (CIFAR stem), head 1024 -> 64, whitening in sub-batches of
128, one iteration, gradients into both views of each pair
(``--config.method.detach_second=true``: solo-learn's simplified loss),
PyTorch Adam lr 3e-3 at batch 512 (base_lr 1.5e-3 x 512/256) with L2 decay
1e-6 on every parameter, 500 warm-up iterations, then x 0.2 at 50 and 25
epochs before the end (cfg.py's --drop 50 25 --drop_gamma 0.2), 1000
epochs, views with crops 0.2-1, jitter (0.4, 0.4, 0.4, 0.1) p 0.8, grey 0.1.
"""
from configs import _solo, common


def get_config():
  c = _solo.solo_cifar(
      common.method("wmse", projector=common.head(1024, 64), whiten_size=128,
                    whiten_iters=1, eps=0.0, detach_second=False),
      "wmse_cifar", optimizer="adam", lr=1.5e-3, weight_decay=1e-6)
  with c.unlocked():
    c.train.batch_size = 512
    c.optim.warmup_epochs = 500 / (50000 // 512)  # 500 iterations
    c.optim.schedule = "multistep"
    c.optim.milestones = (950, 975)
    c.optim.gamma = 0.2
    c.optim.exclude_bias_and_norm = False
  return c

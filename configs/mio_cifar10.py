"""python -m ssl_jax.main --config=configs/mio_cifar10.py --workdir=DIR

MIO on CIFAR-10, the paper's model (D) of Table 4 (85.44 %; MIO Sections
3.1-3.2; miossl's MIOModel and MIOTransform): ResNet-50 with the CIFAR stem,
projector 2 hidden layers of 2048 (BN, ReLU) and a 128-d output with BN,
τ_p = τ_n = 0.5, λ = 1 (the L2 term, as a mean like the code), LARS lr 1.5
at batch 128 (base_lr 3.0 x 128/256; miossl does not scale it), weight decay
1e-6 (not on BN and biases), 10 warm-up epochs from lr 1e-4 into a cosine
planned for 1000 epochs down to 1e-4, trained for 250, miossl's augmentations
(``mio_cifar``: crops 0.8-1, jitter strength 0.5, no blur or solarisation at
32 px; ``mio_cifar_table3`` adds Table 3's solarisation).  Linear
evaluation: configs/linear_eval.py:mio.
"""
from configs import common


def get_config():
  c = common.base_config()
  c.method = common.method(
      "mio", projector=common.head(2048, 128, 3, last_bn=True), temperature_pos=0.5,
      temperature_neg=0.5, lam=1.0, regularizer="mean")
  c.model.name = "resnet50"
  c.model.stem = "cifar"
  c.data.name = "cifar10"
  c.data.views = "mio_cifar"
  c.train.batch_size = 128
  c.train.epochs = 250
  c.optim.name = "lars"
  c.optim.base_lr = 3.0
  c.optim.weight_decay = 1e-6
  c.optim.warmup_epochs = 10.0
  c.optim.warmup_start_lr = 1e-4
  c.optim.decay_epochs = 1000.0
  c.optim.end_lr_ratio = 1e-4 / 1.5
  c.eval.every_steps = 39000
  c.eval.batch_size = 1000
  c.checkpoint.every_steps = 3900
  return c.lock()

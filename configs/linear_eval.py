"""python -m ssl_jax.main --config=configs/linear_eval.py --config.pretrained=RUN --workdir=DIR

Linear evaluation of a pretrained backbone (frozen, inference-mode
BatchNorm; a linear classifier on its pooled features), top-1 and top-5 on
the test split.  Protocols, chosen as ``configs/linear_eval.py:PROTOCOL``;
learning rates are given as the sources state them and stored as base_lr
at batch 256 (peak = base_lr x B/256):

- no protocol (``configs/linear_eval.py``): ``intl``'s hyper-parameters on
  the pretraining run's dataset, with crop-and-flip views at the backbone's
  resolution (``ssl_jax/jobs/follow_run.py``).
- ``intl`` (INTL Appendix C): SGD, momentum 0.9, base lr 0.2 x
  B/256, batch 256, 100 epochs, no weight decay, lr x 0.1 at epochs 60 and
  80 (the last 40 and 20), random resized crop + flip.  ImageNet-100.
- ``intl_multicrop``: as ``intl`` with base lr 0.4, INTL's setting for its
  multi-crop + EMA models (Appendix C).  ImageNet.
- ``intl_cifar`` (INTL's cifar/eval/evaluate.py, W-MSE's protocol): frozen
  features of the unaugmented images computed once, PyTorch Adam lr 1e-2
  with L2 weight decay 5e-6 on every parameter, × (1e-6/1e-2)^(1/500) per
  epoch down to 1e-6, batch 1000, 500 epochs.  CIFAR-10.
- ``mira`` (MIRA's eval_linear.py, the paper's main table): SGD, momentum
  0.9, lr 0.075 x B/256, batch 1024, 100 epochs, cosine, no weight decay,
  the EMA backbone.  The official code steps the cosine once per epoch;
  here it moves every step.  ImageNet.
- ``mira_lars`` (MIRA Appendix, the protocol of its analysis tables): LARS,
  lr 0.1 at batch 256, cosine, no weight decay, 100 epochs.  ImageNet.
- ``mio`` (MIO Section 3.3; miossl's Trainer.linear_eval): SGD, momentum
  0.9, lr 0.01 at batch 32, × 0.98 per epoch, 100 epochs, crops of 80-100 %
  without flip.  The paper stops early (patience 50 on its validation
  split); here all 100 epochs run.  CIFAR-10 (STL-10: set data.name=stl10,
  data.views=linear_mio_stl10).
- ``cifar`` (solo-learn's CIFAR linear protocol): SGD lr 0.1, 100 epochs,
  lr x 0.1 at epochs 60 and 80, 32 px crops.
- ``mae_finetune`` (MAE's FINETUNE.md for ViT-B/16, its headline protocol):
  the whole network trained, AdamW (0.9, 0.999) at base lr 5e-4 x B/256
  for head and backbone, layer-wise lr decay 0.65, weight decay 0.05 off
  biases and norms, batch 1024, 100 epochs, 5 of warm-up, cosine.  Not
  here: its RandAugment, mixup 0.8, cutmix 1.0, label smoothing 0.1,
  random erasing 0.25, stochastic depth 0.1 and the mean-pooled patch
  tokens it classifies (``global_pool``); expect less than its 83.6 %.
  ImageNet.
- ``quick``: the built-in ``synthetic`` data with cached features (the
  quickstart's backbone; a minute on a CPU).

Set the evaluated dataset with ``--config.data.name`` (and ``data.views``
for its resolution); ``--config.use_ema=true`` evaluates the EMA teacher.
"""
from configs import common


def _cosine(c):
  c.optim.schedule, c.optim.milestones = "cosine", ()


def _intl(c):
  c.data.name, c.data.views = "imagenet100", "linear_imagenet"


def _intl_multicrop(c):
  c.data.name, c.data.views = "imagenet2012", "linear_imagenet"
  c.optim.base_lr = 0.4


def _intl_cifar(c):
  c.data.name, c.data.views = "cifar10", "linear_cifar"
  c.train.batch_size, c.train.epochs, c.train.cached_features = 1000, 500, True
  c.optim.name, c.optim.base_lr, c.optim.weight_decay = "adam", 1e-2 * 256 / 1000, 5e-6
  c.optim.exclude_bias_and_norm = False
  c.optim.schedule, c.optim.milestones = "exponential", ()
  c.optim.gamma = (1e-6 / 1e-2) ** (1 / 500)


def _mira(c):
  c.data.name, c.data.views = "imagenet2012", "linear_imagenet"
  c.use_ema = True
  c.train.batch_size = 1024
  c.optim.base_lr = 0.075
  _cosine(c)


def _mira_lars(c):
  c.data.name, c.data.views = "imagenet2012", "linear_imagenet"
  c.optim.name, c.optim.base_lr = "lars", 0.1
  _cosine(c)


def _mio(c):
  c.data.name, c.data.views = "cifar10", "linear_mio_cifar"
  c.train.batch_size = 32
  c.optim.base_lr = 0.01 * 256 / 32
  c.optim.schedule, c.optim.milestones, c.optim.gamma = "exponential", (), 0.98


def _cifar(c):
  c.data.name, c.data.views = "cifar10", "linear_cifar"
  c.optim.base_lr = 0.1


def _mae_finetune(c):
  c.data.name, c.data.views = "imagenet2012", "linear_imagenet"
  c.train.batch_size, c.train.epochs = 1024, 100
  c.optim.name, c.optim.base_lr, c.optim.backbone_base_lr = "adamw", 5e-4, 5e-4
  c.optim.layer_decay, c.optim.weight_decay, c.optim.warmup_epochs = 0.65, 0.05, 5.0
  _cosine(c)


def _quick(c):
  c.data.name, c.data.views = "synthetic", "linear_synthetic"
  c.train.epochs, c.train.batch_size, c.train.cached_features = 10, 128, True
  c.optim.base_lr = 0.5
  _cosine(c)


PROTOCOLS = {"intl": _intl, "intl_multicrop": _intl_multicrop, "intl_cifar": _intl_cifar,
             "mira": _mira, "mira_lars": _mira_lars, "mio": _mio, "cifar": _cifar,
             "mae_finetune": _mae_finetune, "quick": _quick}


def get_config(protocol=None):
  if protocol is None:  # INTL's protocol on the pretraining run's data
    c = common.linear_eval_config()
    PROTOCOLS["intl"](c)
    c.data.name = c.data.views = None
    return c.lock()
  if protocol not in PROTOCOLS:
    raise ValueError(f"unknown linear-evaluation protocol {protocol!r}; choose one of: "
                     f"{', '.join(sorted(PROTOCOLS))}")
  c = common.linear_eval_config()
  PROTOCOLS[protocol](c)
  return c.lock()

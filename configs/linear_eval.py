"""python -m ssl_jax.main --config=configs/linear_eval.py --config.pretrained=RUN --workdir=DIR

Linear evaluation of a pretrained backbone (frozen, inference-mode
BatchNorm; a linear classifier on its pooled features), top-1 and top-5 on
the test split.  Protocols, chosen as ``configs/linear_eval.py:PROTOCOL``:

- ``intl`` (default; INTL Appendix C): SGD, momentum 0.9, base lr 0.2 x
  B/256, batch 256, 100 epochs, no weight decay, lr x 0.1 at epochs 60 and
  80 (the last 40 and 20), random resized crop + flip.  ImageNet-100.
- ``mira_lars`` (MIRA Appendix, the protocol of its analysis tables): LARS,
  lr 0.1 at batch 256, cosine, no weight decay, 100 epochs.  ImageNet.
- ``cifar`` (solo-learn's CIFAR linear protocol): SGD lr 0.1, 100 epochs,
  lr x 0.1 at epochs 60 and 80, 32 px crops.
- ``quick``: the built-in ``synthetic`` data with cached features (the
  quickstart's backbone; a minute on a CPU).

Set the evaluated dataset with ``--config.data.name`` (and ``data.views``
for its resolution); ``--config.use_ema=true`` evaluates the EMA teacher.
"""
from configs import common


def get_config(protocol="intl"):
  c = common.linear_eval_config()
  if protocol == "intl":
    c.data.name, c.data.views = "imagenet100", "linear_imagenet"
  elif protocol == "mira_lars":
    c.data.name, c.data.views = "imagenet2012", "linear_imagenet"
    c.optim.name, c.optim.base_lr, c.optim.schedule = "lars", 0.1, "cosine"
    c.optim.milestones = ()
  elif protocol == "cifar":
    c.data.name, c.data.views = "cifar10", "linear_cifar"
    c.optim.base_lr = 0.1
  elif protocol == "quick":
    c.data.name, c.data.views = "synthetic", "linear_synthetic"
    c.train.epochs, c.train.batch_size, c.train.cached_features = 10, 128, True
    c.optim.base_lr, c.optim.schedule, c.optim.milestones = 0.5, "cosine", ()
  else:
    raise ValueError(f"unknown linear-evaluation protocol {protocol!r}; choose one of: "
                     "cifar, intl, mira_lars, quick")
  return c.lock()

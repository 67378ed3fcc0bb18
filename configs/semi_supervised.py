"""python -m ssl_jax.main --config=configs/semi_supervised.py --config.pretrained=RUN --workdir=DIR

Semi-supervised evaluation: the pretrained backbone and a linear classifier
trained on 1 % or 10 % of ImageNet's labels (SimCLR's subsets), 20 epochs,
batch 256, SGD with momentum 0.9 and a cosine schedule, no weight decay.
``configs/semi_supervised.py:PROTOCOL``:

- ``mira_1pct`` (MIRA Appendix): backbone frozen (lr 0), classifier lr 0.4.
- ``mira_10pct``: backbone lr 0.02, classifier lr 0.1.
- ``intl_1pct`` / ``intl_10pct`` (INTL Appendix C): backbone lr 0.006,
  classifier lr 0.2.
- ``intl_multicrop_1pct`` / ``intl_multicrop_10pct`` (INTL Appendix C, the
  multi-crop + EMA models): backbone lr 0.004, classifier lr 0.2.

Learning rates are the papers' at batch 256 (scaled by B/256 otherwise).
For other datasets set ``--config.data.name`` and ``--config.data.label_fraction``.
"""
from configs import common

# protocol -> (label percent, backbone lr, classifier lr)
PROTOCOLS = {
    "mira_1pct": (1, 0.0, 0.4),
    "mira_10pct": (10, 0.02, 0.1),
    "intl_1pct": (1, 0.006, 0.2),
    "intl_10pct": (10, 0.006, 0.2),
    "intl_multicrop_1pct": (1, 0.004, 0.2),
    "intl_multicrop_10pct": (10, 0.004, 0.2),
}


def get_config(protocol="mira_10pct"):
  if protocol not in PROTOCOLS:
    raise ValueError(f"unknown semi-supervised protocol {protocol!r}; choose one of: "
                     f"{', '.join(sorted(PROTOCOLS))}")
  percent, backbone_lr, head_lr = PROTOCOLS[protocol]
  c = common.linear_eval_config()
  c.data.name, c.data.views = f"imagenet2012_{percent}pct", "linear_imagenet"
  c.train.epochs = 20
  c.optim.base_lr, c.optim.backbone_base_lr = head_lr, backbone_lr
  c.optim.schedule, c.optim.milestones = "cosine", ()
  return c.lock()

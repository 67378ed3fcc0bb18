"""python -m ssl_jax.main --config=configs/quickstart.py --workdir=/tmp/ssl_quickstart

CPU-sized pretraining on the built-in ``synthetic`` dataset: a narrow
ResNet-18 (CIFAR stem, 1/8 width) at 24 px, 6 epochs of batch 128, k-NN on
the held-out split every 100 steps.  Nothing is downloaded; a 2-core CPU
finishes in about 5 minutes.  INTL by default; any method with
``--config=configs/quickstart.py:simclr`` (method names as in
``ssl_jax/methods/__init__.py``).  The heads are scaled down with the
backbone; the losses and their hyper-parameters are the papers'.
"""
import ml_collections

from configs import common

_PROJ = dict(hidden_dim=256, out_dim=128, num_layers=2)
_PRED = dict(hidden_dim=256, out_dim=128, num_layers=2)

# Per method: (config.method fields, optimizer name, base_lr, weight decay).
METHODS = {
    "intl": (dict(projector=dict(hidden_dim=256, out_dim=256, num_layers=3), iters=4,
                  axis="batch", trade_off=None, ema_momentum=None), "sgd", 0.5, 1e-5),
    "simclr": (dict(projector=_PROJ, temperature=0.2), "sgd", 0.4, 1e-5),
    # BN in the projector (MoCo v2 has none) makes 6 epochs of a narrow ResNet learn.
    "mocov2": (dict(projector=_PROJ, temperature=0.2,
                    queue_size=4096, ema_momentum=0.99), "sgd", 0.3, 5e-4),
    "mocov3": (dict(projector=dict(hidden_dim=256, out_dim=128, num_layers=3, last_bn=True,
                                   last_bn_affine=False), predictor=_PRED,
                    temperature=0.2, ema_momentum=0.99), "sgd", 0.3, 1e-5),
    "byol": (dict(projector=_PROJ, predictor=_PRED, ema_momentum=0.99), "sgd", 0.5, 1e-5),
    "simsiam": (dict(projector=dict(hidden_dim=256, out_dim=256, num_layers=3, last_bn=True),
                     predictor=dict(hidden_dim=64, out_dim=256, num_layers=2)),
                "sgd", 0.05, 5e-4),
    "swav": (dict(projector=_PROJ, num_prototypes=100, temperature=0.1, epsilon=0.05,
                  sinkhorn_iters=3, freeze_prototypes_epochs=1.0), "sgd", 0.5, 1e-6),
    # LARS as in solo-learn (SGD at these rates diverges for VICReg); for
    # Barlow Twins an embedding no wider than the batch (128), so the
    # cross-correlation can reach the identity.
    "barlow_twins": (dict(projector=dict(hidden_dim=512, out_dim=128, num_layers=3),
                          lambd=5e-3, scale=0.1), "lars", 0.3, 1e-5),
    "vicreg": (dict(projector=dict(hidden_dim=512, out_dim=512, num_layers=3),
                    sim_weight=25.0, var_weight=25.0, cov_weight=1.0), "lars", 0.3, 1e-4),
    "wmse": (dict(projector=dict(hidden_dim=256, out_dim=32, num_layers=2), whiten_size=64,
                  whiten_iters=1, eps=0.0), "sgd", 0.5, 1e-6),
    "mira": (dict(projector=dict(hidden_dim=256, out_dim=128, num_layers=3),
                  num_prototypes=100, tau_s=0.1, tau_t=0.225, beta_start=0.75,
                  beta_end=2.0 / 3.0, iters=30, ema_momentum=0.99,
                  freeze_prototypes_epochs=1.0), "sgd", 0.5, 1e-6),
    "sce": (dict(projector=_PROJ, predictor=None, lam=0.5, temperature=0.1,
                 temperature_m=0.07, queue_size=4096, ema_momentum=0.99), "sgd", 0.3, 5e-4),
    "mio": (dict(projector=_PROJ, temperature_pos=0.5, temperature_neg=0.5, lam=1.0,
                 regularizer="mean"), "sgd", 0.5, 1e-6),
}


def get_config(method="intl"):
  if method not in METHODS:
    raise ValueError(f"quickstart has no method {method!r}; choose one of: "
                     f"{', '.join(sorted(METHODS))}")
  fields, optimizer, lr, wd = METHODS[method]
  c = common.base_config()
  c.method = ml_collections.ConfigDict({"name": method, **fields})
  if method == "intl":
    c.method = common.intl_method(hidden_dim=256, out_dim=256, num_layers=3)
  c.model.name = "resnet18"
  c.model.width = 0.125
  c.model.stem = "cifar"
  c.data.name = "synthetic"
  c.data.views = "synthetic"
  c.train.batch_size = 128
  c.train.epochs = 6
  c.train.log_every = 20
  c.optim.name = optimizer
  c.optim.base_lr = lr
  c.optim.weight_decay = wd
  c.optim.warmup_epochs = 0.5
  c.optim.trust_coefficient = 0.02  # LARS only (solo-learn's value)
  c.eval.every_steps = 100
  c.eval.batch_size = 500
  c.checkpoint.every_steps = 100
  return c.lock()

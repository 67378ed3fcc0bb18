"""Tiny hyper-parameters for every registered method (fast CPU tests)."""
PROJ = dict(hidden_dim=32, out_dim=16, num_layers=2)
PRED = dict(hidden_dim=32, out_dim=16, num_layers=2)

TINY = {
    "barlow_twins": dict(projector=PROJ, lambd=5e-3, scale=0.1),
    "byol": dict(projector=PROJ, predictor=PRED, ema_momentum=0.9),
    "intl": dict(projector=PROJ),
    "intl_ema": dict(projector=PROJ, ema_momentum=0.9),
    "mio": dict(projector=PROJ),
    "mira": dict(projector=PROJ, num_prototypes=20, ema_momentum=0.9,
                 freeze_prototypes_epochs=0.1),
    # MoCo v2's BN-free projector collapses a network this small; the BN one
    # exercises the same loss and queue.
    "mocov2": dict(projector=PROJ, temperature=0.5, queue_size=128, ema_momentum=0.9),
    "mocov3": dict(projector=dict(PROJ, last_bn=True, last_bn_affine=False), predictor=PRED,
                   temperature=0.2, ema_momentum=0.9),
    "sce": dict(projector=PROJ, predictor=PRED, queue_size=128, ema_momentum=0.9),
    "simclr": dict(projector=PROJ, temperature=0.2),
    "simsiam": dict(projector=dict(PROJ, last_bn=True), predictor=PRED),
    "swav": dict(projector=PROJ, num_prototypes=20, freeze_prototypes_epochs=0.1),
    "vicreg": dict(projector=PROJ),
    "wmse": dict(projector=dict(PROJ, out_dim=4), whiten_size=16),
}

# SGD learning rate for the tiny runs; VICReg's 25x-weighted terms need less.
LEARNING_RATE = {"vicreg": 0.01}


def method_name(key):
  return "intl" if key == "intl_ema" else key

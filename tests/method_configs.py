"""Tiny hyper-parameters for every registered method (fast CPU tests).

Derived, not listed: each method's quickstart recipe (configs/quickstart.py)
with its sizes shrunk to 2-layer heads, a 16-d embedding, 20 prototypes, a 128-entry
queue, a teacher at EMA 0.9 and no KoLeo term.  A new method needs nothing
here once it has a quickstart recipe; ``OVERRIDES`` holds the few departures
a network this small needs, each with its reason.
"""
from configs import quickstart

_SIZES = {"hidden_dim": 32, "out_dim": 16}
_SHRUNK = {"num_prototypes": 20, "queue_size": 128, "koleo_weight": 0.0}

OVERRIDES = {
    # MoCo v2's temperature 0.2 collapses a network this small in 20 steps.
    "mocov2": dict(temperature=0.5),
    # The whitening groups of 16 need an embedding narrower than the group.
    "wmse": dict(whiten_size=16),
    # DINO at τ_t 0.04 on a 16-d head: the targets fall onto one prototype
    # within 3 steps and the centre pushes them off it again, so 20 steps end
    # above the start; at 0.07 the loss against the final teacher falls.
    "dino": dict(teacher_temp=0.07, warmup_teacher_temp=0.07),
    # iBOT's CLS term is DINO's: the same, for the same reason.
    "ibot": dict(teacher_temp=0.07, warmup_teacher_temp=0.07),
    # MAE's decoder at the micro ViT's scale (tests.helpers.tiny_model).
    "mae": dict(decoder_dim=16, decoder_depth=1, decoder_heads=2),
    # INTL with its EMA teacher (the multi-crop recipe's form).
    "intl_ema": dict(ema_momentum=0.9),
}
VARIANTS = {"intl_ema": "intl"}  # test key -> registered method

# SGD learning rate for the tiny runs; VICReg's 25x-weighted terms need less,
# and so does iBOT's pair of terms on the micro ViT (at 0.1 its loss against
# the final teacher ends above the start: 8.06 against 6.87; at 0.05, 5.88
# against 6.93).
LEARNING_RATE = {"vicreg": 0.01, "ibot": 0.05}


def method_name(key):
  return VARIANTS.get(key, key)


def _shrunk(fields):
  out = {}
  for key, value in fields.items():
    if isinstance(value, dict):  # a projector or predictor, at most 2 layers
      out[key] = {k: _SIZES.get(k, v) for k, v in value.items()}
      out[key]["num_layers"] = min(out[key].get("num_layers", 2), 2)
    elif key in _SHRUNK and isinstance(value, (list, tuple)):  # one per head
      out[key] = [_SHRUNK[key]] * len(value)
    elif key in _SHRUNK:
      out[key] = _SHRUNK[key]
    elif key == "ema_momentum" and value is not None:
      out[key] = 0.9
    elif key == "freeze_prototypes_epochs":
      out[key] = min(value, 0.1)
    else:
      out[key] = value
  return out


def tiny(key):
  """config.method fields (without ``name``) for the test key ``key``."""
  fields = quickstart.get_config(method_name(key)).method.to_dict()
  fields.pop("name")
  fields = {**_shrunk(fields), **OVERRIDES.get(key, {})}
  if "whiten_size" in fields:  # each group whitens an embedding narrower than itself
    fields["projector"]["out_dim"] = fields["whiten_size"] // 4
  return fields


TINY = {key: tiny(key) for key in (*quickstart.METHODS, *VARIANTS)}

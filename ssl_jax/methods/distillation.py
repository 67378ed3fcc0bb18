"""Self-distillation without labels: DINO and iBOT.

DINO (Caron et al. 2021, official facebookresearch/dino ``main_dino.py``):
the EMA teacher's centred, sharpened distribution over K prototypes on the
two global crops supervises the student's on every other crop
(``kernels.dino_loss``).  The head is DINO's: a 3-layer MLP with GELU (no
BatchNorm unless ``projector.hidden_bn``) down to a bottleneck, whose
L2-normalised output is scored against K weight-normalised prototypes
(``weight_norm`` with g fixed at 1, ``norm_last_layer=True``).  The teacher
is an EMA of the whole student, prototypes included; the centre is an EMA
(momentum 0.9) of the teacher's logits, updated after the loss reads it.

As the official loop:
- the teacher temperature is held per epoch, a linspace from
  ``warmup_teacher_temp`` to ``teacher_temp`` over the warm-up epochs;
- the prototypes ("last layer") take no update for the first
  ``freeze_prototypes_epochs`` (their AdamW moments and step count start
  when they are released, ``optim._moments``);
- the teacher after step s is m(s) teacher + (1 - m(s)) student, m the
  cosine from ``ema_momentum`` to 1 evaluated at the step just taken;
- crops of one resolution go through the backbone as one batch (BatchNorm
  statistics pooled over them, ``MultiCropWrapper``).
Gradient clipping per tensor and the weight-decay cosine are the
optimiser's (``optim.clip_grad``, ``optim.weight_decay_end``).

One and three steps equal main_dino.py's ``train_one_epoch`` (AdamW with
both schedules, clipping, the frozen then released last layer, multi-crop,
the centre and the teacher; tests/test_official_steps.py).  Kept different:
the official learning rate warms up along ``linspace(0, peak, W)`` (0 at
step 0) and its cosine starts at the peak again at step W, ours
(``schedules.warmup_cosine``) is peak (s + 1) / W and one step further
along the cosine; the hidden Linear layers carry no bias when BatchNorm
follows them (the official keeps one, which the BatchNorm's mean removes);
the heads start from PyTorch's default initialisation, not DINO's
truncated normal (std 0.02).  ``norm_last_layer=False`` trains a gain g per
prototype (``PrototypeSpec.learn_gain``), frozen with the prototypes.
"""
import dataclasses
from typing import Optional

import jax.numpy as jnp

from ssl_jax import kernels
from ssl_jax.kernels.schedules import epoch_linspace_warmup
from ssl_jax.methods.base import (HeadSpec, LossAux, Method, PrototypeSpec, frozen_until,
                                  mlp_spec, require_positive, require_unit_interval)
from ssl_jax.models.block_masking import BlockMaskSpec


@dataclasses.dataclass(frozen=True)
class DINO(Method):
  collapse_hint = ("a teacher temperature too high or a centre momentum too low (uniform "
                   "targets), or a teacher temperature too low for the batch (one prototype "
                   "wins): DINO's two collapse modes")
  required_heads = ("prototypes",)
  requires_teacher = True

  ema_momentum: Optional[float] = 0.996
  student_temp: float = 0.1
  teacher_temp: float = 0.04
  warmup_teacher_temp: float = 0.04
  warmup_teacher_temp_epochs: int = 0
  center_momentum: float = 0.9
  freeze_prototypes_steps: int = 0
  steps_per_epoch: int = 1

  bn_pooling = "all"
  teacher_parts = ("backbone", "projector", "prototypes")

  def __post_init__(self):
    super().__post_init__()
    require_positive(self, "student_temp", "teacher_temp", "warmup_teacher_temp")
    require_unit_interval(self, "center_momentum")
    if self.warmup_teacher_temp_epochs < 0:
      raise ValueError(f"warmup_teacher_temp_epochs must be >= 0, got "
                       f"{self.warmup_teacher_temp_epochs}")

  def target_views(self, num_global):
    if num_global < 2:
      raise ValueError("DINO needs two global crops")
    return (0, 1)

  def ema_schedule(self, total_steps):
    """m(s - 1) at s: the step applies the teacher's update after step s - 1
    with the momentum the official loop uses there, ``momentum_schedule[s-1]``."""
    base = super().ema_schedule(total_steps)
    return lambda step: base(step - 1)

  def teacher_temperature(self, step):
    return epoch_linspace_warmup(self.warmup_teacher_temp, self.teacher_temp,
                                 self.warmup_teacher_temp_epochs, self.steps_per_epoch)(step)

  def frozen_parts(self, step):
    return frozen_until("prototypes", step, self.freeze_prototypes_steps)

  def init_state(self, rng, dim):
    del rng, dim
    return {"center": jnp.zeros((self.head.prototypes.num,), jnp.float32)}

  def loss(self, online, target, state, step, rng):
    del rng
    temp = self.teacher_temperature(step)
    teacher = target["logits"]
    loss = kernels.dino_loss(online["logits"], teacher, state["center"], self.student_temp,
                             temp)
    center = kernels.dino_center_update(state["center"], teacher, self.center_momentum)
    return loss, LossAux({"center": center}, {"dino_teacher_temp": temp})


def make(projector, num_prototypes=65536, student_temp=0.1, teacher_temp=0.04,
         warmup_teacher_temp=0.04, warmup_teacher_temp_epochs=0, center_momentum=0.9,
         freeze_prototypes_epochs=1.0, ema_momentum=DINO.ema_momentum, steps_per_epoch=1,
         norm_last_layer=True):
  """DINO from config.method; ``projector`` is the head's MLP down to the
  bottleneck (the official: hidden 2048, 3 layers, out 256, GELU, no BN)."""
  head = HeadSpec(projector=mlp_spec(projector),
                  prototypes=PrototypeSpec(num_prototypes, normalize_weights=True,
                                           learn_gain=not norm_last_layer))
  return DINO(head=head, ema_momentum=ema_momentum, student_temp=student_temp,
              teacher_temp=teacher_temp, warmup_teacher_temp=warmup_teacher_temp,
              warmup_teacher_temp_epochs=warmup_teacher_temp_epochs,
              center_momentum=center_momentum, steps_per_epoch=steps_per_epoch,
              freeze_prototypes_steps=int(round(freeze_prototypes_epochs * steps_per_epoch)))


@dataclasses.dataclass(frozen=True)
class IBOT(DINO):
  """iBOT (Zhou et al. 2022, official bytedance/ibot ``main_ibot.py``):
  DINO's loss on the CLS token (Eq. 2 of the paper, ``lambda1``) plus
  masked image modelling by self-distillation on the patch tokens (Eq. 1,
  ``lambda2``, ``kernels.ibot_patch_loss``).

  The student sees each global crop with blockwise masks (BEiT's,
  ``models.block_masking``; ``pred_ratio`` [0, 0.3] with ``pred_ratio_var``
  [0, 0.2] in the paper's recipes: half the crops unmasked, the others
  10-50 %) whose patches are replaced by a learned mask token; the local
  crops go in unmasked and count through their CLS token only.  The teacher
  sees the global crops unmasked.  One head scores the CLS and every patch
  token (``shared_head=True``, the recipes' setting); the patch term has its
  own centre (momentum 0.9, the mean over patches and crops) and its own
  teacher temperature, warmed up over the same epochs as DINO's.  The
  rest (EMA teacher, frozen prototypes in the first epoch, weight-decay
  cosine, clipping) is DINO's above.

  Kept different: the masks are drawn inside the step from the step's key
  (same distribution as the official loader, tests/test_block_masking.py);
  the student's separate patch layer (``shared_head=False``) and the Swin
  recipes' ``pred_start_epoch`` are not offered.  ``norm_last_layer=False``
  (the ViT recipes') trains the prototypes' gains, as DINO's.
  """
  collapse_hint = ("DINO's two collapse modes on the CLS token (a teacher temperature too "
                   "high or too low for the batch), or a patch term that dominates: a "
                   "patch_weight far above cls_weight")

  teacher_patch_temp: float = 0.07
  warmup_teacher_patch_temp: float = 0.04
  patch_center_momentum: float = 0.9
  cls_weight: float = 1.0
  patch_weight: float = 1.0

  required_heads = ("prototypes", "patch_masks")
  bn_pooling = "per_view"  # no BatchNorm: the head is refused one below

  def __post_init__(self):
    super().__post_init__()
    require_positive(self, "teacher_patch_temp", "warmup_teacher_patch_temp")
    require_unit_interval(self, "patch_center_momentum")
    projector = self.head.projector
    if projector.hidden_bn or projector.last_bn or projector.last_iternorm_groups:
      raise ValueError("iBOT's head scores patch tokens and takes no BatchNorm here: set "
                       "projector.hidden_bn=False")
    if self.cls_weight < 0 or self.patch_weight < 0:
      raise ValueError(f"cls_weight and patch_weight must be >= 0, got {self.cls_weight} "
                       f"and {self.patch_weight}")

  def masked_views(self, num_global):
    return tuple(range(num_global))

  def teacher_patch_temperature(self, step):
    return epoch_linspace_warmup(self.warmup_teacher_patch_temp, self.teacher_patch_temp,
                                 self.warmup_teacher_temp_epochs, self.steps_per_epoch)(step)

  def init_state(self, rng, dim):
    k = self.head.prototypes.num
    return {"center": jnp.zeros((k,), jnp.float32), "patch_center": jnp.zeros((k,), jnp.float32)}

  def loss(self, online, target, state, step, rng):
    del rng
    temp, patch_temp = self.teacher_temperature(step), self.teacher_patch_temperature(step)
    cls = kernels.dino_loss(online["logits"], target["logits"], state["center"],
                            self.student_temp, temp)
    patch = kernels.ibot_patch_loss(online["patch_logits"], target["patch_logits"],
                                    online["mask"], state["patch_center"], self.student_temp,
                                    patch_temp)
    new_state = {
        "center": kernels.dino_center_update(state["center"], target["logits"],
                                             self.center_momentum),
        "patch_center": kernels.ibot_patch_center_update(
            state["patch_center"], target["patch_logits"], self.patch_center_momentum)}
    metrics = {"ibot_cls_loss": cls, "ibot_patch_loss": patch, "dino_teacher_temp": temp,
               "ibot_teacher_patch_temp": patch_temp,
               "masked_fraction": jnp.mean(online["mask"])}
    return self.cls_weight * cls + self.patch_weight * patch, LossAux(new_state, metrics)


def make_ibot(projector, num_prototypes=8192, student_temp=0.1, teacher_temp=0.04,
              warmup_teacher_temp=0.04, teacher_patch_temp=0.07,
              warmup_teacher_patch_temp=0.04, warmup_teacher_temp_epochs=30,
              center_momentum=0.9, patch_center_momentum=0.9, cls_weight=1.0,
              patch_weight=1.0, pred_ratio=(0.3,), pred_ratio_var=(0.0,), min_aspect=0.3,
              freeze_prototypes_epochs=1.0, ema_momentum=IBOT.ema_momentum,
              steps_per_epoch=1, norm_last_layer=True):
  """iBOT from config.method, with main_ibot.py's defaults; ``pred_ratio``
  and ``pred_ratio_var`` are tuples (one ratio is drawn per crop) and
  ``min_aspect`` the smaller end of ``pred_aspect_ratio``."""
  as_tuple = lambda v: tuple(v) if isinstance(v, (list, tuple)) else (float(v),)
  masks = BlockMaskSpec(as_tuple(pred_ratio), as_tuple(pred_ratio_var), min_aspect)
  head = HeadSpec(projector=mlp_spec(projector),
                  prototypes=PrototypeSpec(num_prototypes, normalize_weights=True,
                                           learn_gain=not norm_last_layer),
                  patch_masks=masks)
  return IBOT(head=head, ema_momentum=ema_momentum, student_temp=student_temp,
              teacher_temp=teacher_temp, warmup_teacher_temp=warmup_teacher_temp,
              warmup_teacher_temp_epochs=warmup_teacher_temp_epochs,
              center_momentum=center_momentum, steps_per_epoch=steps_per_epoch,
              freeze_prototypes_steps=int(round(freeze_prototypes_epochs * steps_per_epoch)),
              teacher_patch_temp=teacher_patch_temp,
              warmup_teacher_patch_temp=warmup_teacher_patch_temp,
              patch_center_momentum=patch_center_momentum, cls_weight=cls_weight,
              patch_weight=patch_weight)

"""python -m ssl_jax.main --config=configs/quickstart.py --workdir=/tmp/ssl_quickstart

CPU-sized pretraining on the built-in ``synthetic`` dataset: a narrow
ResNet-18 (CIFAR stem, 1/8 width) at 24 px, 6 epochs of batch 128 (64 for
the methods whose recipe says so; MAE and iBOT train ViT-Tiny/4), k-NN on
the held-out split every 100 steps.  Nothing is downloaded; a 2-core CPU
finishes in about 5 minutes (the ViTs in 25-60, by the machine).  INTL by
default; any method with ``--config=configs/quickstart.py:simclr`` (method
names as in ``ssl_jax/methods/__init__.py``, or a name in ``VARIANTS``:
``dino_vit`` is DINO on iBOT's ViT-Tiny/4).  The heads are scaled down with the
backbone; the losses and their hyper-parameters are the papers', except
where a recipe below says why, with the numbers of ``bench/quality.py``
(one recipe per method across its three built-in datasets, ``synthetic``,
``synthetic_gray`` and ``digits``).
"""
from typing import NamedTuple, Optional

import ml_collections

from configs import common

_PROJ = dict(hidden_dim=256, out_dim=128, num_layers=2)
_PRED = dict(hidden_dim=256, out_dim=128, num_layers=2)


class Recipe(NamedTuple):
  """A method's quickstart: config.method fields, optimiser, base lr, weight
  decay, and the global batch (smaller for the methods that learn per step
  rather than per example within the CPU budget: twice the steps), the
  view preset (ReSSL's teacher takes a weak view) and the backbone (MAE
  and iBOT need a ViT)."""
  fields: dict
  optimizer: str
  base_lr: float
  weight_decay: float
  batch_size: int = 128
  views: str = "synthetic"
  model: Optional[dict] = None  # config.model of a ViT recipe; None: the narrow ResNet-18
  optim: Optional[dict] = None  # further config.optim keys (MAE's Adam betas)


# DINO's head and teacher on ViT-Tiny/4 with stochastic depth, for iBOT and
# DINO's ViT recipe: the ResNet recipe's, but KoLeo 0.3 (at this scale DINO's
# CLS term alone collapses; its ResNet recipe below says with what numbers).
# A convolutional stem (Xiao et al. 2021) in place of the 4x4 patch
# projection, a departure from both papers: with the projection, DINO's
# synthetic k-NN was 18.3 / 23.9 / 28.4 at steps 100 / 500 / 936 (raw
# pixels 38.8), linear probe 36.2; with the stem 18.3 / 35.8 / 41.0, linear
# probe 49.9 (synthetic_gray: 31.3 and 40.0 against 45.0 and 60.6).
_VIT_TINY = dict(name="vit_tiny4", drop_path_rate=0.1, patch_stem="conv")
_VIT_DISTILLATION = dict(
    projector=dict(hidden_dim=256, out_dim=64, num_layers=3, hidden_bn=False,
                   activation="gelu"),
    num_prototypes=1024, student_temp=0.1, teacher_temp=0.04, warmup_teacher_temp=0.04,
    warmup_teacher_temp_epochs=0, freeze_prototypes_epochs=1.0, ema_momentum=0.99,
    koleo_weight=0.3)

# koleo_weight: DINOv2's KoLeo uniformity term on the embedding (Method.koleo_weight),
# a departure from these papers.  Without it, at this scale, the methods that
# set it end with the backbone's features at effective rank 1-4 of 64 (the
# collapse monitor's alarm) or below raw-pixel k-NN on a dataset of the
# suite; the numbers are in each recipe's comment, the table of every method
# with it in the README (bench/quality.py).
METHODS = {
    "intl": Recipe(
        dict(projector=dict(hidden_dim=256, out_dim=256, num_layers=3), iters=4,
             axis="batch", trade_off=None, ema_momentum=None), "sgd", 0.5, 1e-5),
    "simclr": Recipe(dict(projector=_PROJ, temperature=0.2), "sgd", 0.4, 1e-5),
    # BN in the projector (MoCo v2 has none) makes 6 epochs of a narrow ResNet learn.
    # Without KoLeo: synthetic 36.4 % k-NN at rank 4.2, below raw pixels (38.8 %).
    "mocov2": Recipe(
        dict(projector=_PROJ, temperature=0.2, queue_size=4096, ema_momentum=0.99,
             koleo_weight=0.1), "sgd", 0.3, 5e-4),
    # MoCo v3 without KoLeo: digits 20.7 % at rank 4.3 (collapse reported).
    "mocov3": Recipe(
        dict(projector=dict(hidden_dim=256, out_dim=128, num_layers=3, last_bn=True,
                            last_bn_affine=False), predictor=_PRED,
             temperature=0.2, ema_momentum=0.99, koleo_weight=0.1), "sgd", 0.3, 1e-5),
    # Batch 64: BYOL's, SimSiam's and SCE's k-NN grows with steps more than
    # with examples (batch 128 in the same time: +4.7, +1.5 and +9.5 points).
    # BYOL: KoLeo 0.3 and a faster teacher (EMA 0.98) for synthetic, where
    # the features otherwise stay below raw pixels' k-NN (38.8 %): without
    # KoLeo 37.9 % at rank 2.7 (collapse reported), KoLeo 0.1 33.4 %, 0.3
    # 38.9 %, 0.3 with lr 1.0 36.8 %; 0.3 with EMA 0.98 41.5 % at rank 18.4.
    "byol": Recipe(dict(projector=_PROJ, predictor=_PRED, ema_momentum=0.98, koleo_weight=0.3),
                   "sgd", 0.5, 1e-5, batch_size=64),
    # SimSiam at lr 0.3 with KoLeo 0.1 (digits 30.4 %, rank 11.2): at lr 0.1
    # without it 12.1 % at rank 1.5 (collapse reported), with it 18.2 %.
    "simsiam": Recipe(
        dict(projector=dict(hidden_dim=256, out_dim=256, num_layers=3, last_bn=True),
             predictor=dict(hidden_dim=64, out_dim=256, num_layers=2), koleo_weight=0.1),
        "sgd", 0.3, 5e-4, batch_size=64),
    # SwAV without KoLeo: digits at rank 2.3 (collapse reported; 14.9 % on an
    # earlier rendering of digits).
    "swav": Recipe(
        dict(projector=_PROJ, num_prototypes=100, temperature=0.1, epsilon=0.05,
             sinkhorn_iters=3, freeze_prototypes_epochs=1.0, koleo_weight=0.1),
        "sgd", 0.5, 1e-6),
    # LARS as in solo-learn (SGD at these rates diverges for VICReg); for
    # Barlow Twins an embedding no wider than the batch (128), so the
    # cross-correlation can reach the identity.  Barlow Twins' KoLeo 0.3 (digits
    # 35.9 %, rank 4.9): none ends synthetic at rank 3.9 (collapse reported),
    # 0.1 digits at 29.5 % and rank 4.1 (reported); λ 0.05 with 0.1, 32.7 %;
    # lr 1.0 with 0.1, 24.5 % at rank 3.0.
    "barlow_twins": Recipe(
        dict(projector=dict(hidden_dim=512, out_dim=128, num_layers=3),
             lambd=5e-3, scale=0.1, koleo_weight=0.3), "lars", 0.3, 1e-5),
    "vicreg": Recipe(
        dict(projector=dict(hidden_dim=512, out_dim=512, num_layers=3),
             sim_weight=25.0, var_weight=25.0, cov_weight=1.0), "lars", 0.3, 1e-4),
    # IterNorm in groups of 32 channels, as solo-learn's 2048 / 64.
    "vibcreg": Recipe(
        dict(projector=dict(hidden_dim=256, out_dim=256, num_layers=3, activation="gelu",
                            last_iternorm_groups=8),
             sim_weight=25.0, var_weight=25.0, cov_weight=200.0), "lars", 0.3, 1e-4),
    # Adam, as the W-MSE paper trains (SGD at lr 0.5 ends at 20.8 % k-NN,
    # AdamW at 33.2 %).  Below raw pixels on synthetic and digits; nothing
    # tried lifts it (bench/README.md, "W-MSE on digits").
    "wmse": Recipe(
        dict(projector=dict(hidden_dim=256, out_dim=32, num_layers=2), whiten_size=64,
             whiten_iters=1, eps=0.0, detach_second=False), "adamw", 0.002, 1e-6),
    # DINO with KoLeo 0.3 (digits 29.5 % k-NN; raw pixels 27.4 %): at 0.1
    # digits ends below raw pixels (20.4 %; τ_t 0.07 there: 17.6 %); without
    # KoLeo the GELU head's output collapses to one direction within 100 steps
    # and the centred targets go uniform (loss at log 1024; synthetic: 13.7 %
    # at step 100, embedding rank 1.0; BN in the head: 31.5 % at step 234,
    # backbone rank 2.5, reported as collapse).
    "dino": Recipe(
        dict(projector=dict(hidden_dim=256, out_dim=64, num_layers=3, hidden_bn=False,
                            activation="gelu"),
             num_prototypes=1024, student_temp=0.1, teacher_temp=0.04,
             warmup_teacher_temp=0.04, warmup_teacher_temp_epochs=0, center_momentum=0.9,
             freeze_prototypes_epochs=1.0, ema_momentum=0.99, koleo_weight=0.3),
        "sgd", 0.3, 1e-5),
    # DeepCluster v2 with 3 heads of 100 clusters (the paper's 3000 are for
    # 1.28M images); its first epoch fills the memory bank without updates.
    # Temperature 0.3 and KoLeo 0.1 (synthetic 51.9 % k-NN at rank 14.1).  At
    # the paper's 0.1 without KoLeo the backbone's features fall to effective
    # rank 1.2-1.4 within 22 steps of the first clustering (3 epochs on
    # synthetic: 37.8 % k-NN at rank 2.5); with KoLeo 0.1, rank 2.6 at step
    # 100; with KoLeo and base lr 0.1, 29.8 % at rank 15.0.  At 0.3 with
    # KoLeo, 3 epochs: 44.5 % at rank 20.4.
    "deepclusterv2": Recipe(
        dict(projector=_PROJ, num_prototypes=(100, 100, 100), temperature=0.3,
             kmeans_iters=10, koleo_weight=0.1), "sgd", 0.5, 1e-6),
    # τ_t 0.1 (the paper's 0.225 gives targets too flat for 100 prototypes
    # on a 1/8-width network), prototypes trained from the first step (the
    # paper's one frozen epoch is a sixth of this run) and KoLeo 0.1.  Without
    # KoLeo the features collapse (rank 2.7 on synthetic, 42.6 %; 2.6 on
    # digits, 21.0 %, below raw pixels' 27.4 %), as they did with every other
    # remedy tried (bench/README.md); with it but the paper's τ_t and frozen
    # epoch, synthetic 33.8 % and digits 20.0 %.
    "mira": Recipe(
        dict(projector=dict(hidden_dim=256, out_dim=128, num_layers=3),
             num_prototypes=100, tau_s=0.1, tau_t=0.1, beta_start=0.75,
             beta_end=2.0 / 3.0, iters=30, ema_momentum=0.99,
             freeze_prototypes_epochs=0.0, koleo_weight=0.1), "sgd", 0.5, 1e-6),
    # NNCLR without KoLeo: synthetic 58.9 % but backbone rank 2.9-3.2 at
    # steps 100-200 (collapse reported) and 4.2 at the end.
    "nnclr": Recipe(
        dict(projector=dict(hidden_dim=256, out_dim=128, num_layers=3, last_bn=True),
             predictor=dict(hidden_dim=512, out_dim=128, num_layers=2), temperature=0.2,
             queue_size=4096, koleo_weight=0.1), "sgd", 0.4, 1e-5),
    # ReSSL with KoLeo 0.3 (digits 35.6 %; raw pixels 27.4 %): at 0.1 digits
    # ends at 25.1 %; without KoLeo synthetic ends at 15.8 % with embedding
    # rank 1.9 (the relation over the queue goes uniform), with BN in the head
    # at 32.8 % and backbone rank 2.3 (collapse reported).  The teacher's view
    # is weak as in the paper (crop and flip): with two strong views, 27.0 %
    # at step 234 against 37.7 %.
    "ressl": Recipe(
        dict(projector=dict(hidden_dim=256, out_dim=128, num_layers=2, hidden_bn=False),
             temperature=0.1, temperature_m=0.04, queue_size=4096, ema_momentum=0.99,
             koleo_weight=0.3),
        "sgd", 0.3, 5e-4, views="synthetic_weak_teacher"),
    # SCE without KoLeo: digits 19.0 % at rank 1.4 (collapse reported).
    "sce": Recipe(
        dict(projector=_PROJ, predictor=None, lam=0.5, temperature=0.1,
             temperature_m=0.07, queue_size=4096, ema_momentum=0.99, koleo_weight=0.1),
        "sgd", 0.3, 5e-4,
        batch_size=64),
    # MAE on ViT-Tiny/4 (36 patches at 24 px, 9 seen) with a 2-block, 128-d
    # decoder, AdamW with MAE's betas (0.9, 0.95) and weight decay 0.05,
    # evaluated on CLS + mean patch token (random init: k-NN 20.1 %, linear
    # 18.0 %).  Plain pixels and batch 64: k-NN 30.3 %, linear 26.5 %.  The
    # paper's normalised pixels leave the noise background's patches as
    # unit-variance noise to predict (loss 0.98 -> 0.94, k-NN 18.1 % at step
    # 300 of 468); plain pixels at batch 128: k-NN 24.0 %, linear 21.7 %.
    "mae": Recipe(
        dict(decoder_dim=128, decoder_depth=2, decoder_heads=4, mask_ratio=0.75,
             norm_pix_loss=False), "adamw", 2e-3, 0.05, batch_size=64, views="mae_synthetic",
        model=dict(name="vit_tiny4", pos_embed="sincos_mae", pool="cls_mean"),
        optim=dict(beta2=0.95)),
    # iBOT on ViT-Tiny/4 (MAE's backbone, the CLS token as features), with
    # MAE's AdamW at base lr 2e-3 and DINO's KoLeo 0.3: synthetic k-NN
    # 15.8 -> 40.6, linear probe 44.1 with the stem (14.8 -> 27.6 and 34.3
    # with the patch projection; docs/quality.md).  In 3 epochs
    # (468 steps) k-NN ended at 22.4, short of a 10-point gain; without
    # stochastic depth, at base lr 4e-3 and with the paper's clipping at
    # 3.0 it was lower at steps 100-300 (21.3, 19.5, 19.4 against 19.2,
    # 22.4, 21.3).
    "ibot": Recipe(
        dict(_VIT_DISTILLATION, teacher_patch_temp=0.07, warmup_teacher_patch_temp=0.04,
             pred_ratio=(0.0, 0.3), pred_ratio_var=(0.0, 0.2)),
        "adamw", 2e-3, 0.04, batch_size=64, model=_VIT_TINY),
    # MIO without KoLeo: digits 21.2 % at rank 6.9, below raw pixels (27.4 %).
    "mio": Recipe(
        dict(projector=_PROJ, temperature_pos=0.5, temperature_neg=0.5, lam=1.0,
             regularizer="mean", koleo_weight=0.1), "sgd", 0.5, 1e-6),
}


# The same methods on another backbone: recipe name -> (method, recipe).
VARIANTS = {
    # DINO on ViT-Tiny/4: iBOT's recipe without its masked patch term.
    "dino_vit": ("dino", Recipe(_VIT_DISTILLATION, "adamw", 2e-3, 0.04, batch_size=64,
                                model=_VIT_TINY)),
}


def get_config(method="intl"):
  """``method``: a registered method's name, or a name in VARIANTS."""
  if method in VARIANTS:
    method, recipe = VARIANTS[method]
  elif method in METHODS:
    recipe = METHODS[method]
  else:
    raise ValueError(f"quickstart has no method {method!r}; choose one of: "
                     f"{', '.join(sorted([*METHODS, *VARIANTS]))}")
  c = common.base_config()
  c.method = ml_collections.ConfigDict({"name": method, "koleo_weight": 0.0, **recipe.fields})
  if method == "intl":
    c.method = common.intl_method(hidden_dim=256, out_dim=256, num_layers=3)
    c.method.koleo_weight = recipe.fields.get("koleo_weight", 0.0)
  if recipe.model is None:
    c.model.name = "resnet18"
    c.model.width = 0.125
    c.model.stem = "cifar"
  else:
    c.model.update(recipe.model)
  c.data.name = "synthetic"
  c.data.views = recipe.views
  c.train.batch_size = recipe.batch_size
  c.train.epochs = 6
  c.train.log_every = 20
  c.optim.name = recipe.optimizer
  c.optim.base_lr = recipe.base_lr
  c.optim.weight_decay = recipe.weight_decay
  c.optim.warmup_epochs = 0.5
  c.optim.trust_coefficient = 0.02  # LARS only (solo-learn's value)
  c.optim.update(recipe.optim or {})
  c.eval.every_steps = 100
  c.eval.batch_size = 500
  c.checkpoint.every_steps = 100
  return c.lock()

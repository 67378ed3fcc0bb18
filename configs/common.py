"""Defaults shared by every config; each config file edits a copy and locks it.

Derived quantities (total steps, warm-up steps, peak learning rate, INTL's
β) are computed at run time from these keys and never stored.
"""
import ml_collections
from ml_collections.config_dict import placeholder


def data_config(name) -> ml_collections.ConfigDict:
  """config.data keys every job has: which dataset and how to build it."""
  d = ml_collections.ConfigDict()
  d.name = placeholder(str) if name is None else name  # None: the pretraining run's
  d.root = placeholder(str)  # tfds data_dir; None: $TFDS_DATA_DIR or ~/tensorflow_datasets
  d.image_size = 32          # synthetic only: side of the generated images
  d.seed = 0                 # synthetic only: dataset seed (and the label-fraction draw)
  d.num_examples = placeholder(int)  # synthetic only: train size (test: 1/5); None: 10000
  d.view_size = placeholder(int)     # the first view's side in px, the others scaled with it;
                                     # None: the preset's
  d.eval_root = placeholder(str)     # images only: a labelled folder (train/, test/) for the
                                     # run's k-NN and probe; None: no labels, diagnostics only
  d.prepared = placeholder(str)      # a copy written by python -m ssl_jax.prepare to read
                                     # instead of the source; None: the source itself
  d.service = placeholder(str)       # grpc://HOST:PORT of a tf.data service dispatcher that
                                     # builds the training batches; None: this host builds them
  return d


def logging_config() -> ml_collections.ConfigDict:
  """Where a run's records go besides metrics.jsonl and TensorBoard."""
  g = ml_collections.ConfigDict()
  g.wandb = placeholder(str)  # a Weights & Biases project ("entity/project"); None: none
  return g


def base_config() -> ml_collections.ConfigDict:
  c = ml_collections.ConfigDict()
  c.job = "pretrain"
  c.logging = logging_config()

  c.method = ml_collections.ConfigDict()
  c.method.name = "intl"

  c.model = ml_collections.ConfigDict()
  c.model.name = "resnet50"
  c.model.width = 1.0          # multiplier on the 64-channel base width
  c.model.stem = "imagenet"    # "imagenet" (7x7/2 + max-pool) or "cifar" (3x3/1)
  c.model.zero_init_residual = False  # residual branches start as 0 (torchvision's flag)
  # ViTs (model.name=vit_*) only:
  c.model.drop_path_rate = 0.0           # stochastic depth of the last block
  c.model.layerscale = placeholder(float)  # LayerScale's initial gain; None: none
  c.model.registers = 0                  # register tokens
  c.model.num_heads = placeholder(int)   # attention heads; None: the size's (timm's)
  c.model.pos_embed = "learned"          # or MoCo v3's / MAE's fixed "sincos" / "sincos_mae"
  c.model.pool = "cls"                   # features: CLS token, or "cls_mean" (with the mean patch token)
  c.model.freeze_patch_embed = False     # MoCo v3's frozen random patch projection
  c.model.patch_stem = "linear"          # or "conv": Xiao et al. 2021's convolutional stem

  c.data = data_config("imagenet2012")
  c.data.views = "asymmetric_imagenet"  # augmentation preset (ssl_jax/data/views.py)
  c.data.shuffle_buffer = 16384   # streamed datasets only
  c.data.crop_canvas = placeholder(int)  # px: each image decoded once onto a canvas this
                                         # size and the views cut on the accelerator
                                         # (512 holds ImageNet's typical 500 px); None: the
                                         # host cuts them

  c.train = ml_collections.ConfigDict()
  c.train.batch_size = 256        # global batch over all devices and hosts
  c.train.epochs = 100
  c.train.total_steps = placeholder(int)  # overrides epochs when set
  c.train.seed = 0
  c.train.precision = "float32"   # "bfloat16": backbone and heads in bf16, kernels in fp32
  c.train.log_every = 50
  c.train.max_consecutive_skips = 20  # stop when this many steps in a row were non-finite
  c.train.restart = False         # start over if the workdir holds a run of another config
  c.train.resume_changes = ""     # key prefixes allowed to change on resume, e.g. "optim"
  c.train.stop_on_collapse = False  # exit 1 when a collapse is reported (eval.*_rank)
  c.train.online_probe = True     # linear classifier on stop-gradient features (own SGD)
  c.train.online_probe_lr = 0.1   # its peak lr (cosine to 0)

  c.optim = ml_collections.ConfigDict()
  c.optim.name = "sgd"
  c.optim.base_lr = 0.5           # peak lr = base_lr * batch_size / 256
  c.optim.weight_decay = 1e-5
  c.optim.weight_decay_end = placeholder(float)  # cosine from weight_decay to this (DINO)
  c.optim.clip_grad = placeholder(float)  # each tensor's gradient norm at most this (DINO)
  c.optim.momentum = 0.9             # SGD / LARS momentum; Adam's beta1
  c.optim.beta2 = 0.999             # Adam's second-moment decay (MAE: 0.95)
  c.optim.warmup_epochs = 2.0
  c.optim.warmup_start_lr = 0.0   # the warm-up's first lr (absolute, not batch-scaled)
  c.optim.schedule = "cosine"     # after the warm-up; or "multistep" (W-MSE)
  c.optim.milestones = ()         # multistep: epochs where the lr is multiplied by gamma
  c.optim.gamma = 0.1
  c.optim.end_lr_ratio = 0.001    # final lr as a fraction of the peak
  c.optim.decay_epochs = placeholder(float)  # cosine length if not the run's (MIO: 1000)
  c.optim.trust_coefficient = 0.001  # LARS only
  c.optim.exclude_bias_and_norm = True
  c.optim.constant_lr_parts = ()  # parameter groups kept at the peak lr (SimSiam: predictor)
  c.optim.bias_lr_ratio = 1.0     # biases and BN at this fraction of the lr (Barlow Twins)

  c.eval = ml_collections.ConfigDict()
  c.eval.every_steps = 5000       # 0: only at the start (at_start) and the end
  c.eval.at_start = True          # evaluate the random init at step 0 (README)
  c.eval.batch_size = 512         # rounded up to a multiple of the device count
  c.eval.knn_k = 20
  c.eval.knn_temperature = 0.07
  c.eval.use_ema = False          # evaluate the EMA teacher instead of the online net
  # Collapse: the backbone features' effective rank below this for
  # collapse_patience evaluations in a row (README, "When things go wrong").
  c.eval.min_effective_rank = 4.0
  c.eval.collapse_patience = 2

  c.checkpoint = ml_collections.ConfigDict()
  c.checkpoint.every_steps = 1000
  c.checkpoint.max_to_keep = 3
  return c


def head(hidden_dim, out_dim, num_layers=2, **flags):
  """An MLP head for config.method (see ssl_jax.models.heads.MLPSpec)."""
  return ml_collections.ConfigDict(
      {"hidden_dim": hidden_dim, "out_dim": out_dim, "num_layers": num_layers, **flags})


def method(name, **fields):
  """config.method: the registry name and the factory's keyword arguments."""
  return ml_collections.ConfigDict({"name": name, **fields})


def cifar(c, dataset="cifar10", views="asymmetric_cifar"):
  """ResNet-18 with the CIFAR stem on a 32 px dataset."""
  c.model.name = "resnet18"
  c.model.stem = "cifar"
  c.data.name = dataset
  c.data.views = views
  c.eval.batch_size = 1000
  return c


def intl_method(hidden_dim=8192, out_dim=8192, num_layers=3, ema_momentum=None):
  """config.method for INTL (Appendix C; Tables A, C, E)."""
  m = ml_collections.ConfigDict()
  m.name = "intl"
  m.projector = ml_collections.ConfigDict(
      {"hidden_dim": hidden_dim, "out_dim": out_dim, "num_layers": num_layers})
  m.iters = 4
  m.axis = "batch"
  m.trade_off = placeholder(float)   # None: 0.01 * (log2(batch) - 3)
  m.ema_momentum = placeholder(float) if ema_momentum is None else ema_momentum
  return m


def evaluation_base(job: str) -> ml_collections.ConfigDict:
  """Keys every job on a pretrained backbone shares."""
  c = ml_collections.ConfigDict()
  c.job = job
  c.logging = logging_config()
  c.pretrained = placeholder(str)  # a pretraining --workdir, or an exported backbone file
  c.use_ema = False                # the run's EMA teacher instead of the online backbone
  c.data = data_config(None)  # the pretraining run's (ssl_jax/jobs/follow_run.py)
  c.data.label_fraction = placeholder(float)  # None: every label; 0.01: 1 % per class
  c.eval = ml_collections.ConfigDict()
  c.eval.batch_size = 512
  return c


def linear_eval_config() -> ml_collections.ConfigDict:
  """Linear evaluation / fine-tuning (ssl_jax/jobs/linear_eval.py); INTL's protocol."""
  c = evaluation_base("linear_eval")
  c.data.views = placeholder(str)  # crop-and-flip preset (ssl_jax/data/views.py); None: at
                                   # the backbone's resolution (jobs/follow_run.py)
  c.data.shuffle_buffer = 16384
  c.train = ml_collections.ConfigDict()
  c.train.batch_size = 256
  c.train.epochs = 100
  c.train.seed = 0
  c.train.log_every = 50
  c.train.cached_features = False  # frozen backbone, no augmentation: features once
  c.train.restart = False
  c.train.resume_changes = ""
  c.optim = ml_collections.ConfigDict()
  c.optim.name = "sgd"
  c.optim.base_lr = 0.2            # the classifier's; peak = base_lr * batch / 256
  c.optim.backbone_base_lr = 0.0   # 0: frozen backbone (linear evaluation)
  c.optim.layer_decay = placeholder(float)  # fine-tuning a ViT: block i's lr x decay^(L+1-i)
  c.optim.weight_decay = 0.0
  c.optim.momentum = 0.9
  c.optim.schedule = "multistep"   # or "cosine", "exponential"
  c.optim.milestones = (60, 80)    # multistep: epochs where the lr is multiplied by gamma
  c.optim.gamma = 0.1              # multistep: per milestone; exponential: per epoch
  c.optim.warmup_epochs = 0.0      # cosine only
  c.optim.end_lr_ratio = 0.0       # cosine only
  c.optim.trust_coefficient = 0.001  # LARS only
  c.optim.exclude_bias_and_norm = True
  c.eval.every_steps = 0           # 0: at the end only
  c.checkpoint = ml_collections.ConfigDict()
  c.checkpoint.every_steps = 1000
  c.checkpoint.max_to_keep = 2
  return c

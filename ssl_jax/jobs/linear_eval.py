"""Supervised training on a pretrained backbone: linear evaluation and fine-tuning.

    python -m ssl_jax.main --config=configs/linear_eval.py --config.pretrained=RUN --workdir=DIR

``config.pretrained`` is a pretraining workdir (its latest checkpoint; the
EMA teacher with ``use_ema``) or a file from ``python -m ssl_jax.jobs.export``.
With ``optim.backbone_base_lr = 0`` the backbone is frozen (inference-mode
BatchNorm) and only a linear classifier learns: linear evaluation
(``linear_top1``/``linear_top5``).  With a positive backbone lr the whole
network is fine-tuned (``finetune_top1``/``finetune_top5``), the
semi-supervised protocol when ``data.label_fraction`` (or an
``imagenet2012_1pct``-style dataset) restricts the labels.
``train.cached_features``: a frozen backbone without augmentation computes
the training features once and trains the classifier on them.
The job resumes from its own checkpoints like pretraining does.
"""
import dataclasses
from typing import Any

import flax
import jax
import jax.numpy as jnp
import optax
from absl import logging

from ssl_jax import config_check, lease, sharding, storage, tracking
from ssl_jax import workdir as workdir_record
from ssl_jax.backbone import load_backbone
from ssl_jax.checkpoint import Checkpointer, StopSignal, abstract_state
from ssl_jax.data import pipeline
from ssl_jax.data.sources import load_dataset
from ssl_jax.data.subsets import labelled_subset
from ssl_jax.data.views import views_of
from ssl_jax.evals.classifier import classifier_accuracy
from ssl_jax.evals.features import FeatureExtractor
from ssl_jax.jobs import loop
from ssl_jax.jobs.follow_run import follow_run
from ssl_jax.metrics import MetricsWriter
from ssl_jax.models.linear import cross_entropy, init_linear, linear_logits
from ssl_jax.train.optim import learning_rate, make_optimizer, scaled_learning_rate


@flax.struct.dataclass
class ClassifierState:
  step: jax.Array
  params: Any       # {"head": linear, "backbone": backbone params}
  batch_stats: Any  # the backbone's BatchNorm statistics (change only when fine-tuning)
  opt_state: Any


def make_optimizer_pair(optim_config, batch, steps_per_epoch, total):
  """One optimiser for the head and one for the backbone (zero updates when frozen)."""
  lr = lambda base: learning_rate(optim_config, scaled_learning_rate(base, batch),
                                  steps_per_epoch, total)
  head = make_optimizer(optim_config, lr(optim_config.base_lr))
  frozen = optim_config.backbone_base_lr == 0
  backbone = optax.set_to_zero() if frozen else make_optimizer(
      optim_config, lr(optim_config.backbone_base_lr),
      layer_decay=optim_config.get("layer_decay"))
  tx = optax.multi_transform({"head": head, "backbone": backbone},
                             {"head": "head", "backbone": "backbone"})
  return tx, lr(optim_config.base_lr), frozen


def make_classifier_step(module, normalization, tx, lr, frozen: bool, seed: int = 0):
  """``step(state, batch) -> (state, metrics)``; batch has ``label`` and either
  ``views`` (uint8 images) or ``features`` (cached, frozen backbone only).
  Fine-tuning runs the backbone in training mode, a ViT's stochastic depth
  with keys ``fold_in(key(seed), step)``."""

  def features_of(params, batch_stats, batch, step):
    if "features" in batch:
      return batch["features"], batch_stats
    x = normalization(batch["views"][0])[None]
    variables = {"params": params["backbone"], "batch_stats": batch_stats}
    if frozen:
      return jax.lax.stop_gradient(module.apply(variables, x, train=False)[0]), batch_stats
    rngs = {"dropout": jax.random.fold_in(jax.random.key(seed), step)}
    h, mutated = module.apply(variables, x, train=True, mutable=["batch_stats"], rngs=rngs)
    return h[0], mutated["batch_stats"]

  def step(state, batch):
    def loss_fn(params):
      h, stats = features_of(params, state.batch_stats, batch, state.step)
      logits = linear_logits(params["head"], h)
      return cross_entropy(logits, batch["label"]), (logits, stats)

    (loss, (logits, stats)), grads = jax.value_and_grad(loss_fn, has_aux=True)(state.params)
    updates, opt_state = tx.update(grads, state.opt_state, state.params)
    new = state.replace(step=state.step + 1, params=optax.apply_updates(state.params, updates),
                        batch_stats=stats, opt_state=opt_state)
    top1 = 100.0 * jnp.mean(jnp.argmax(logits, -1) == batch["label"])
    return new, {"loss": loss, "lr": lr(state.step), "train_top1": top1}

  return step


@dataclasses.dataclass(frozen=True)
class Job:
  """The static parts of a classifier run."""
  backbone: Any
  dataset: Any
  train: Any
  mesh: Any
  shard: pipeline.HostShard
  extractor: FeatureExtractor
  steps_per_epoch: int
  total_steps: int
  tx: Any
  lr: Any
  frozen: bool
  prefix: str


def build_job(config) -> Job:
  config_check.validate_linear_eval(config)
  backbone = load_backbone(config.pretrained, config.use_ema)
  follow_run(config, backbone)
  config_check.validate_linear_eval(config)
  mesh = sharding.make_mesh()
  batch = config.train.batch_size
  sharding.check_global_batch(batch, mesh)
  shard = pipeline.HostShard.current()
  dataset = load_dataset(config.data)
  train = labelled_subset(dataset.train, config.data.label_fraction, config.data.seed)
  spe = pipeline.steps_per_epoch(len(train), batch)
  total = config.train.epochs * spe
  tx, lr, frozen = make_optimizer_pair(config.optim, batch, spe, total)
  size = views_of(config.data).views[0].size
  extractor = FeatureExtractor(backbone.encode, mesh, size,
                               sharding.round_up_batch(config.eval.batch_size, mesh),
                               dataset.eval_crop_fraction, shard)
  return Job(backbone, dataset, train, mesh, shard, extractor, spe, total, tx, lr, frozen,
             "linear" if frozen else "finetune")


def _init_state(job: Job):
  params = {"head": init_linear(_feature_dim(job.backbone), job.dataset.num_classes),
            "backbone": job.backbone.variables["params"]}
  return ClassifierState(step=jnp.zeros((), jnp.int32), params=params,
                         batch_stats=job.backbone.variables["batch_stats"],
                         opt_state=job.tx.init(params))


def _feature_dim(backbone):
  images = jnp.zeros((1, backbone.image_size, backbone.image_size, 3), jnp.uint8)
  return jax.eval_shape(backbone.encode, backbone.variables, images)["features"].shape[-1]


def _cached_batches(job: Job, config, start):
  """Training features of the frozen backbone, computed once; batches drawn
  by a seeded per-epoch permutation, a pure function of the step."""
  data = job.extractor(job.backbone.variables, job.train)
  n = int(jnp.sum(data["mask"]))

  @jax.jit  # one program, so it works on arrays that span hosts
  def drop_padding(features, labels, mask):
    valid = jnp.nonzero(mask > 0, size=n)[0]
    return features[valid], labels[valid]

  features, labels = drop_padding(data["features"], data["label"], data["mask"])
  b, spe = config.train.batch_size, job.steps_per_epoch
  key = jax.random.key(config.train.seed)

  @jax.jit
  def batch_at(features, labels, step):
    order = jax.random.permutation(jax.random.fold_in(key, step // spe), n)
    idx = jax.lax.dynamic_slice(order, ((step % spe) * b,), (b,))
    return {"features": features[idx], "label": labels[idx]}

  for step in range(start, 2 ** 62):
    yield batch_at(features, labels, step)


def _image_batches(job: Job, config, start):
  views = views_of(config.data)
  return sharding.prefetch_to_device(
      pipeline.train_batches(job.train, views, config.train.batch_size, config.train.seed,
                             start, job.shard, config.data.shuffle_buffer,
                             config.data.get("service")), job.mesh)


def _evaluate(job: Job, state, cached_test):
  test = cached_test
  if test is None:
    test = job.extractor({"params": state.params["backbone"],
                          "batch_stats": state.batch_stats}, job.dataset.test)
  return classifier_accuracy(state.params["head"], test, job.prefix)


def train_and_evaluate(config, workdir: str):
  """Trains the classifier per ``config`` in ``workdir``; returns the last
  step's record (its ``linear_top1``/``finetune_top1`` at the end).  SIGTERM
  or Ctrl-C saves the step reached; re-running resumes it."""
  with StopSignal() as stop:
    job = build_job(config)
    with lease.held(workdir) as held:
      return _train_classifier(job, config, workdir, held, stop)


def _train_classifier(job, config, workdir, held, stop):
  checkpointer = Checkpointer(storage.path(workdir) / "checkpoints",
                              config.checkpoint.max_to_keep, lease=held)
  workdir_record.claim(config, workdir, checkpointer.directory)
  replicated = sharding.replicated(job.mesh)
  _, state = checkpointer.restore(abstract_state(lambda: _init_state(job), sharding=replicated))
  if state is None:
    state = jax.jit(lambda: _init_state(job), out_shardings=replicated)()
  start = int(state.step)
  batches = (_cached_batches if config.train.cached_features else _image_batches)(
      job, config, start)
  cached_test = job.extractor(job.backbone.variables, job.dataset.test) if job.frozen else None
  step_fn = jax.jit(make_classifier_step(job.backbone.module, job.backbone.normalization,
                                         job.tx, job.lr, job.frozen, config.train.seed),
                    donate_argnums=0, out_shardings=(replicated, replicated))
  logging.info("%s of %s on %s: steps %d -> %d", job.prefix, job.backbone.source,
               job.dataset.name, start, job.total_steps)

  def evaluate(state, step, record):
    record.update(_evaluate(job, state, cached_test))
    logging.info("step %d: %s", step, {k: round(v, 2) for k, v in record.items()
                                       if k.startswith(job.prefix)})

  cadence = loop.Cadence(job.total_steps, config.train.log_every, config.eval.every_steps,
                         config.checkpoint.every_steps)
  trackers = tracking.trackers(config, workdir, workdir_record.flatten(config.to_dict()))
  outputs = loop.Outputs(checkpointer, MetricsWriter(workdir, start_step=start,
                                                     trackers=trackers), stop)
  _, record = loop.run(state, step_fn, batches, cadence, config.train.batch_size, outputs,
                       loop.Hooks(evaluate))
  return record

"""The pretraining job: wires data, model, method, step and I/O; no math.

``train_and_evaluate(config, workdir)`` resumes from the latest checkpoint
in ``workdir`` when there is one, runs to ``total_steps``, evaluates (k-NN,
online probe, collapse diagnostics) at the start, every ``eval.every_steps``
and at the end, writes the plots, and stops cleanly (checkpoint, exit 0) on
SIGTERM or Ctrl-C.
"""
import dataclasses

import jax
import jax.numpy as jnp
import optax
from absl import logging

from ssl_jax import config_check, lease, sharding, storage, tracking
from ssl_jax import workdir as workdir_record
from ssl_jax.checkpoint import Checkpointer, StopSignal, abstract_state
from ssl_jax.data import pipeline
from ssl_jax.data.sources import Dataset, TfdsSplit, load_dataset
from ssl_jax.data.views import ViewSet, views_of
from ssl_jax.evals.collapse import CollapseDetected, CollapseMonitor
from ssl_jax.evals.monitor import PretrainingEvaluator
from ssl_jax.jobs import loop, report
from ssl_jax.methods import Method, build_method
from ssl_jax.metrics import MetricsWriter, is_due, read_metrics
from ssl_jax.models import build_model
from ssl_jax.models.inputs import Normalization
from ssl_jax.registry import ConfigError
from ssl_jax.train.augment import ViewAugmenter
from ssl_jax.train.optim import learning_rate, make_optimizer, scaled_learning_rate
from ssl_jax.train.state import init_train_state
from ssl_jax.train.step import Schedules, make_train_step

_DTYPES = {"float32": jnp.float32, "bfloat16": jnp.bfloat16}


@dataclasses.dataclass(frozen=True)
class Run:
  """Everything static about a run, derived once from the config."""
  mesh: object
  shard: pipeline.HostShard
  dataset: Dataset
  views: ViewSet
  normalization: Normalization  # the dataset's, for training and evaluation views
  method: Method
  model: object
  tx: object
  schedules: Schedules
  probe_tx: object  # the online linear probe's optimiser (None: no probe)
  steps_per_epoch: int
  total_steps: int


def build_run(config) -> Run:
  """Validates ``config`` and builds the static parts of the run."""
  config_check.validate(config)
  mesh = sharding.make_mesh()
  batch = config.train.batch_size
  sharding.check_global_batch(batch, mesh)
  shard = pipeline.HostShard.current()
  views = views_of(config.data)
  dataset = load_dataset(config.data)
  spe = pipeline.steps_per_epoch(len(dataset.train), batch)
  total = config.train.total_steps or config.train.epochs * spe
  method = build_method(config.method, total, spe, len(dataset.train))
  check_indexed(method, dataset)
  check_views(method, views, config.data.views)
  model = build_model(config.model, method.head, _DTYPES[config.train.precision])
  peak = scaled_learning_rate(config.optim.base_lr, batch)
  lr = learning_rate(config.optim, peak, spe, total, method.idle_steps)
  ema = method.ema_schedule(total)
  return Run(mesh=mesh, shard=shard, dataset=dataset, views=views,
             normalization=Normalization(tuple(dataset.mean), tuple(dataset.std)), method=method,
             model=model, tx=make_optimizer(
                 config.optim, lr, peak, total, own_parts=tuple(method.frozen_parts(0)),
                 frozen_modules=("patch_embed",) if config.model.get("freeze_patch_embed")
                 else ()),
             schedules=Schedules(lr, ema),
             probe_tx=_probe_optimizer(config.train, total, dataset.train_labelled),
             steps_per_epoch=spe, total_steps=total)


def check_indexed(method: Method, dataset: Dataset):
  """ConfigError if ``method`` reads example indices that ``dataset``'s
  training split (a tfds stream) cannot give."""
  if method.uses_example_index and isinstance(dataset.train, TfdsSplit):
    raise ConfigError(f"{method.name} keeps a memory bank indexed by example, which a "
                      f"streamed tfds split has not: write {dataset.name} once with "
                      "python -m ssl_jax.prepare and train with --config.data.prepared=DIR")


def check_views(method: Method, views: ViewSet, preset: str):
  """ConfigError if ``method`` cannot train on the preset's views (MIRA's
  and DeepCluster v2's two global crops, ReSSL's weak teacher view)."""
  try:
    method.online_views(len(views.views), views.num_global)
    method.target_views(views.num_global)
  except ValueError as e:
    raise ConfigError(f"data.views={preset!r} has {views.num_global} global crop(s): "
                      f"{e}") from e


def _probe_optimizer(train_config, total_steps, labelled):
  """SGD with momentum 0.9 and a cosine-decayed lr, no weight decay
  (solo-learn); None without a probe or labels to train it on."""
  if not train_config.online_probe:
    return None
  if not labelled:
    logging.info("The training images have no labels: no online linear probe.")
    return None
  return optax.sgd(optax.cosine_decay_schedule(train_config.online_probe_lr, total_steps),
                   momentum=0.9)


def init_state(run: Run, rng):
  """A fresh TrainState for ``run`` (traceable; jit it with the state sharding)."""
  return init_train_state(rng, run.model, run.method, run.tx, run.views.views[0].size,
                          run.probe_tx, run.dataset.num_classes)


def _restore_or_init(run: Run, checkpointer: Checkpointer, init_rng):
  replicated = sharding.replicated(run.mesh)
  init = lambda rng: init_state(run, rng)
  _, state = checkpointer.restore(abstract_state(init, init_rng, sharding=replicated))
  if state is not None:
    logging.info("Resumed from %s at step %d", checkpointer.directory, int(state.step))
    return state
  return jax.jit(init, out_shardings=replicated)(init_rng)


def _compiled_step(run: Run, config):
  augmenter = ViewAugmenter(run.views, run.normalization, _DTYPES[config.train.precision])
  step = make_train_step(run.model, run.method, run.tx, run.schedules, augmenter,
                         run.probe_tx)
  return sharding.jit_train_step(step, run.mesh)


class TrainingDiverged(RuntimeError):
  """Too many consecutive steps had a non-finite loss or gradients."""


def _check_diverged(step, record, limit, checkpointer):
  """Raises TrainingDiverged once ``limit`` steps in a row were skipped.

  Checked at logging steps (reading the count every step would stall the
  device queue).  Skipped steps never changed the parameters, and no
  checkpoint is written while the last step was skipped, so the newest
  checkpoint is the last good one; it is kept.
  """
  run_length = int(record["consecutive_skips"])
  if run_length >= limit:
    checkpointer.wait()
    raise TrainingDiverged(
        f"steps {step - run_length + 1}..{step} ({run_length} in a row, "
        f"train.max_consecutive_skips={limit}) had a non-finite loss, gradients or "
        f"update and were skipped; stopping at step {step}. {_kept(checkpointer)} "
        f"Look at the loss terms in metrics.jsonl before that step; to resume with a "
        f"lower learning rate, add e.g. --config.optim.base_lr=X "
        f"--config.train.resume_changes=optim (or use float32, with "
        f"--config.train.resume_changes=train.precision).")


def _kept(checkpointer):
  latest = checkpointer.latest_step()
  if latest is None:
    return "No checkpoint was written before that."
  return f"The last good checkpoint is step {latest} in {checkpointer.directory} (kept)."


def _last_step_was_good(state, step):
  if int(state.consecutive_skips) == 0:
    return True
  logging.warning("step %d was skipped as non-finite: not checkpointing it", step)
  return False


def _evaluation(run: Run, config, writer, stop, monitor, checkpointer):
  """``evaluate(state, step, record)`` for the loop: k-NN, the online probe and
  collapse diagnostics into ``record`` (spectra and histograms go to
  spectrum.jsonl); a sustained collapse may stop the run.  A stop signal
  interrupts it (EvaluationInterrupted)."""
  evaluator = PretrainingEvaluator(
      run.model, run.normalization, run.mesh, run.dataset, run.views.views[0].size,
      sharding.round_up_batch(config.eval.batch_size, run.mesh), config.eval.knn_k,
      config.eval.knn_temperature, config.eval.use_ema, run.shard, stop.requested)

  def evaluate(state, step, record):
    scalars, details = evaluator(state, step)
    writer.write_details(step, details)
    record.update(scalars)
    logging.info("step %d: %s", step, {k: round(v, 2) for k, v in record.items()
                                       if k.endswith(("top1", "rank"))})
    _watch_collapse(monitor, run, config, state, step, record, checkpointer)

  return evaluate


def _watch_collapse(monitor, run, config, state, step, record, checkpointer):
  """Reports a sustained collapse once (log, ``collapse`` in the record) and,
  with ``train.stop_on_collapse``, saves the step and raises CollapseDetected."""
  if not monitor.update(step, record):
    return
  message = monitor.message(run.method, record)
  logging.error(message)
  record["collapse"] = 1.0
  if config.train.stop_on_collapse:
    checkpointer.save(step, state)
    checkpointer.wait()
    raise CollapseDetected(f"{message} Stopped at step {step}; {_kept(checkpointer)}")


def _hooks(run: Run, config, evaluate, checkpointer):
  limit = config.train.max_consecutive_skips
  return loop.Hooks(
      evaluate=evaluate, log_keys=("loss", "lr", "images_per_sec"),
      after_log=lambda step, record: _check_diverged(step, record, limit, checkpointer),
      can_save=_last_step_was_good)


def _evaluation_owed(start, config, total, records) -> bool:
  """Whether the run evaluates ``start`` before its first step: step 0 with
  ``eval.at_start``, or a due evaluation a stop signal interrupted."""
  if start == 0:
    return config.eval.at_start
  return is_due(start, config.eval.every_steps, total) and not any(
      r["step"] == start and "effective_rank" in r for r in records)


def train_and_evaluate(config, workdir: str):
  """Pretrains per ``config`` in ``workdir``; returns the final TrainState.

  Raises WorkdirBusy if another run holds ``workdir`` (``ssl_jax.lease``);
  a config that cannot run fails before the workdir is touched.  SIGTERM
  or Ctrl-C at any point (loading, compiling, evaluating, training) ends it
  cleanly: the state reached is saved and re-running resumes it.
  """
  with StopSignal() as stop:
    run = build_run(config)
    with lease.held(workdir) as held:
      return _pretrain(run, config, workdir, held, stop)


def _pretrain(run, config, workdir, held, stop):
  checkpoint_dir = storage.path(workdir) / "checkpoints"
  workdir_record.claim(config, workdir, checkpoint_dir)
  # Made by a replicated computation, so every process holds the same global
  # keys and the step never copies them implicitly.
  init_rng, step_rng = jax.jit(lambda: tuple(jax.random.split(jax.random.key(
      config.train.seed))), out_shardings=sharding.replicated(run.mesh))()
  checkpointer = Checkpointer(checkpoint_dir, config.checkpoint.max_to_keep, lease=held)
  state = _restore_or_init(run, checkpointer, init_rng)
  start = int(state.step)
  workdir_record.check_topology(workdir, run.shard.count,
                                isinstance(run.dataset.train, TfdsSplit), start > 0)
  monitor = CollapseMonitor(config.eval.min_effective_rank, config.eval.collapse_patience)
  records = [r for r in read_metrics(workdir) if r["step"] <= start]
  monitor.replay(records)
  # Every process has read the file before process 0's writer rewrites it.
  sharding.sync_processes("metrics_read")
  flat_config = workdir_record.flatten(config.to_dict())
  writer = MetricsWriter(workdir, start_step=start,
                         trackers=tracking.trackers(config, workdir, flat_config))
  writer.write_hparams(flat_config)
  evaluate = _evaluation(run, config, writer, stop, monitor, checkpointer)
  logging.info("Training %s on %s: steps %d -> %d (%d per epoch), global batch %d, "
               "%d devices", run.method.name, run.dataset.name, start, run.total_steps,
               run.steps_per_epoch, config.train.batch_size, run.mesh.devices.size)
  step_fn = _compiled_step(run, config)
  batches = sharding.prefetch_to_device(
      pipeline.train_batches(run.dataset.train, run.views, config.train.batch_size,
                             config.train.seed, start, run.shard, config.data.shuffle_buffer,
                             config.data.get("service")),
      run.mesh)
  cadence = loop.Cadence(run.total_steps, config.train.log_every, config.eval.every_steps,
                         config.checkpoint.every_steps)
  state, _ = loop.run(
      state, lambda state, batch: step_fn(state, batch, step_rng), batches, cadence,
      config.train.batch_size, loop.Outputs(checkpointer, writer, stop),
      _hooks(run, config, evaluate, checkpointer),
      evaluate_first=_evaluation_owed(start, config, run.total_steps, records))
  if jax.process_index() == 0:
    report.write_plots(workdir)
  return state

"""The k-NN evaluation job on a pretrained backbone.

    python -m ssl_jax.main --config=configs/knn_eval.py --config.pretrained=RUN --workdir=DIR

Weighted k-NN (cosine, temperature ``knn.temperature``) for every k in
``knn.ks`` and majority-vote k-NN for every k in ``knn.majority_ks``, with
the train split (or a class-balanced label fraction of it, MIRA Table 4)
as the bank and the test split as queries.  Results go to
``metrics.jsonl`` at the pretrained step: ``knn{k}_top1``/``knn{k}_top5``,
``knn_majority{k}_top1``, with ``_{p}pct`` appended for a label fraction p.
"""
from absl import logging

from ssl_jax import config_check, lease, sharding
from ssl_jax import workdir as workdir_record
from ssl_jax.backbone import load_backbone
from ssl_jax.data import pipeline
from ssl_jax.data.sources import load_dataset
from ssl_jax.data.subsets import labelled_subset
from ssl_jax.evals.features import FeatureExtractor
from ssl_jax.evals.knn import knn_accuracy, make_knn_counter
from ssl_jax.jobs.follow_run import follow_run
from ssl_jax.metrics import MetricsWriter


def _renamed(results, fraction):
  suffix = "" if fraction == 1 else f"_{100 * fraction:g}pct"
  return {f"{name}{suffix}": value for name, value in results.items()}


def train_and_evaluate(config, workdir: str):
  """Runs the k-NN evaluation per ``config``; returns and writes the accuracies."""
  config_check.validate_knn_eval(config)
  backbone = load_backbone(config.pretrained, config.use_ema)
  follow_run(config, backbone)
  config_check.validate_knn_eval(config)
  mesh = sharding.make_mesh()
  shard = pipeline.HostShard.current()
  dataset = load_dataset(config.data)
  batch = sharding.round_up_batch(config.eval.batch_size, mesh)
  size = config.eval.image_size or backbone.image_size
  extract = FeatureExtractor(backbone.encode, mesh, size, batch, dataset.eval_crop_fraction,
                             shard)
  counter = make_knn_counter(mesh, dataset.num_classes, tuple(config.knn.ks),
                             config.knn.temperature, tuple(config.knn.majority_ks))
  test = extract(backbone.variables, dataset.test)
  results = {}
  for fraction in config.knn.label_fractions:
    bank = extract(backbone.variables,
                   labelled_subset(dataset.bank, fraction, config.data.seed))
    results.update(_renamed(knn_accuracy(counter, test, bank, batch), fraction))
  logging.info("k-NN of %s on %s: %s", backbone.source, dataset.name,
               {k: round(v, 2) for k, v in results.items()})
  with lease.held(workdir):
    workdir_record.write_config(config, workdir)
    writer = MetricsWriter(workdir)
    writer.write(backbone.step, results)
    writer.close()
  return results

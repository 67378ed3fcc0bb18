"""What the pretraining loop evaluates: k-NN, the online probe, collapse diagnostics."""
import dataclasses
from typing import Callable, Dict, Optional, Tuple

import jax
from ssl_jax.data import pipeline
from ssl_jax.evals.base import backbone_variables
from ssl_jax.evals.classifier import classifier_accuracy
from ssl_jax.evals.features import FeatureExtractor, RunningStatsEstimator
from ssl_jax.evals.knn import knn_accuracy, make_knn_counter
from ssl_jax.evals.spectrum import collapse_diagnostics, spectrum_and_rank
from ssl_jax.models.batchnorm import train_mode_moments


@dataclasses.dataclass
class PretrainingEvaluator:
  """Evaluates a TrainState on the dataset's bank and test splits.

  Returns scalars for ``metrics.jsonl`` (``knn_top1``, ``knn_top5`` when the
  dataset has labels, ``online_linear_top1/5`` when the state has a probe, ``effective_rank``
  and ``embedding_std`` of the embedding, ``feature_effective_rank`` of the
  backbone features) and the spectra and histogram for ``spectrum.jsonl``.
  """
  model: object
  normalization: object  # models.inputs.Normalization of the model's inputs
  mesh: object
  dataset: object
  image_size: int
  batch_size: int
  k: int = 20
  temperature: float = 0.07
  use_ema: bool = False
  shard: pipeline.HostShard = pipeline.HostShard()
  interrupted: Optional[Callable[[], bool]] = None  # see SplitPass

  def __post_init__(self):
    model, norm = self.model, self.normalization
    self._extract = FeatureExtractor(
        lambda v, x: model.apply(v, norm(x), method=type(model).embed), self.mesh,
        self.image_size, self.batch_size, self.dataset.eval_crop_fraction, self.shard,
        self.interrupted)
    self._estimate_stats = RunningStatsEstimator(
        lambda v, x: train_mode_moments(model, v, norm(x)[None], method=type(model).project),
        self.mesh, self.image_size, self.batch_size, self.dataset.eval_crop_fraction,
        self.shard, self.interrupted)
    self._count = make_knn_counter(self.mesh, self.dataset.num_classes, (self.k,),
                                   self.temperature) if self.dataset.num_classes else None

  def __call__(self, state, step: int) -> Tuple[Dict[str, float], Dict[str, list]]:
    variables = self.variables(state, step)
    test = self._extract(variables, self.dataset.test)
    out = {}
    if self.dataset.num_classes:  # without labels: the diagnostics only
      bank = self._extract(variables, self.dataset.bank)
      knn = knn_accuracy(self._count, test, bank, self.batch_size)
      out = {"knn_top1": knn[f"knn{self.k}_top1"], "knn_top5": knn[f"knn{self.k}_top5"]}
    if state.probe:
      # The probe learns on the online backbone, so it is tested on it (at
      # step 0 the teacher is a copy of it: the same features).
      online = self._extract(self.variables(state, step, False), self.dataset.test) \
          if self.use_ema and step > 0 else test
      out.update(classifier_accuracy(state.probe["params"], online, "online_linear"))
    details = self._diagnose(test, out)
    return out, details

  def variables(self, state, step, use_ema=None):
    """The variables evaluated at ``step``.  Before the first step the
    running statistics are still their initial values (mean 0, variance 1),
    which make every BatchNorm an identity in inference mode: a network that
    training never runs (in train mode BatchNorm normalises from the first
    step).  So step 0 is evaluated with the statistics of the bank split,
    which is what the running statistics become within the first steps."""
    variables = backbone_variables(state, self.use_ema if use_ema is None else use_ema)
    return self._estimate_stats(variables, self.dataset.bank) if step == 0 else variables

  def _diagnose(self, test, out):
    embedding = test.get("embedding", test["features"])
    diag = jax.device_get(collapse_diagnostics(embedding, test["mask"]))
    # The backbone's features only need their spectrum and rank.
    feature_diag = jax.device_get(spectrum_and_rank(test["features"], test["mask"]))
    out["effective_rank"] = float(diag["effective_rank"])
    out["embedding_std"] = float(diag["embedding_std"])
    out["feature_effective_rank"] = float(feature_diag["effective_rank"])
    return {"num_classes": self.dataset.num_classes, "spectrum": diag["spectrum"].tolist(),
            "feature_spectrum": feature_diag["spectrum"].tolist(),
            "dimension_std": diag["dimension_std"].tolist(),
            "cosine_histogram": diag["cosine_histogram"].tolist()}

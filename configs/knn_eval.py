"""python -m ssl_jax.main --config=configs/knn_eval.py --config.pretrained=RUN --workdir=DIR

k-NN evaluation of a pretrained backbone: weighted k-NN (cosine similarity,
temperature 0.07; k = 10, 20, 100, 200 as DINO and MIRA report) and
majority-vote k-NN (k = 5, as INTL reports), the whole train split as the
bank.  ``--config.knn.label_fractions='(0.01, 0.1, 1.0)'`` adds banks of 1 %
and 10 % of the labels per class (MIRA Table 4).  The dataset is the
pretraining run's (``ssl_jax/jobs/follow_run.py``) unless
``--config.data.name`` names another.
"""
import ml_collections

from configs import common


def get_config():
  c = common.evaluation_base("knn_eval")
  c.eval.image_size = ml_collections.config_dict.placeholder(int)  # None: the backbone's
  c.knn = ml_collections.ConfigDict()
  c.knn.ks = (10, 20, 100, 200)
  c.knn.majority_ks = (5,)
  c.knn.temperature = 0.07
  c.knn.label_fractions = (1.0,)
  return c.lock()

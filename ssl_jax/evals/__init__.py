"""Evaluation of pretrained encoders."""
from ssl_jax.evals.base import Evaluator, backbone_variables
from ssl_jax.evals.knn import KnnEvaluator, knn_scores, topk_correct

__all__ = ["Evaluator", "KnnEvaluator", "backbone_variables", "knn_scores", "topk_correct"]

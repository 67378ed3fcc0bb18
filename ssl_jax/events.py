"""TensorBoard event files written in whole chunks, on any storage.

Object stores cannot append, so each ``seal`` packs the events gathered
since the previous one into a new file, ``events.out.tfevents.<start>.<n>``
(TensorBoard reads every event file of a folder in name order).  The first
chunk of a writer opens with a ``SessionLog.START`` just after the step it
resumes from, which makes TensorBoard drop the events a previous attempt
logged after that step (the work the checkpoint did not keep).  Records are framed
by TensorBoard's own ``RecordWriter``; nothing here needs TensorFlow.
"""
import io
import time

from tensorboard.compat.proto import event_pb2, summary_pb2
from tensorboard.plugins.hparams import summary_v2 as hparams_summary
from tensorboard.summary.writer.record_writer import RecordWriter

from ssl_jax import storage


class EventChunks:
  """Scalars for TensorBoard in ``directory``, one file per flush."""

  def __init__(self, directory, start_step: int):
    self.directory = storage.path(directory)
    self._start_ms = time.time_ns() // 1_000_000  # names sort by attempt, then chunk
    self._chunk = 0
    # TensorBoard drops earlier events at or after a START's step: the steps
    # after the checkpoint, which this attempt logs again.
    self._pending = [event_pb2.Event(
        wall_time=time.time(), step=int(start_step) + 1,
        session_log=event_pb2.SessionLog(status=event_pb2.SessionLog.START))]

  def scalars(self, step: int, values: dict):
    summary = summary_pb2.Summary(value=[
        summary_pb2.Summary.Value(tag=k, simple_value=float(v)) for k, v in values.items()])
    self._pending.append(event_pb2.Event(wall_time=time.time(), step=int(step),
                                         summary=summary))

  def hparams(self, values: dict):
    """The run's hyper-parameters (flat name -> bool, number or string) for
    TensorBoard's HParams tab."""
    summary = hparams_summary.hparams_pb(values)
    self._pending.append(event_pb2.Event(wall_time=time.time(), step=0,
                                         summary=summary))

  def seal(self):
    """(path, bytes) of a new event file holding the events since the last
    seal, or None; the caller writes it (``storage.write_bytes``)."""
    if not self._pending:
      return None
    buffer = io.BytesIO()
    writer = RecordWriter(buffer)
    header = event_pb2.Event(wall_time=time.time(), file_version="brain.Event:2")
    for event in [header] + self._pending:
      writer.write(event.SerializeToString())
    name = f"events.out.tfevents.{self._start_ms:013d}.{self._chunk:06d}"
    self._chunk += 1
    self._pending = []
    return self.directory / name, buffer.getvalue()

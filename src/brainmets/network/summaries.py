"""TensorBoard curves of each epoch, written the same under every backend.

Keras' own TensorBoard callback writes through ``tf.summary`` and so needs
TensorFlow; the event files here are written with the ``tensorboard``
package alone (its protos and event writer), so a JAX or PyTorch training
leaves the same curves: ``train/<metric>`` and ``validation/<metric>`` per
epoch, and the learning rate.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path

import keras

log = logging.getLogger(__name__)


def scalar_tags(logs: dict) -> dict[str, float]:
    """Keras' epoch logs as TensorBoard tags."""
    tags = {}
    for key, value in logs.items():
        if key.startswith("val_"):
            tags[f"validation/{key[4:]}"] = float(value)
        else:
            tags[f"train/{key}"] = float(value)
    return tags


class EpochSummaries(keras.callbacks.Callback):
    def __init__(self, directory):
        super().__init__()
        self.directory = Path(directory)
        self.writer = None
        try:
            from tensorboard.summary.writer.event_file_writer import EventFileWriter
        except ImportError:
            log.warning("the tensorboard package is not installed: no TensorBoard curves in %s", self.directory)
            return
        self.directory.mkdir(parents=True, exist_ok=True)
        self.writer = EventFileWriter(str(self.directory))

    def on_epoch_end(self, epoch, logs=None):
        if self.writer is None:
            return
        from tensorboard.compat.proto import event_pb2, summary_pb2

        values = [summary_pb2.Summary.Value(tag=tag, simple_value=value) for tag, value in scalar_tags(logs or {}).items()]
        self.writer.add_event(event_pb2.Event(wall_time=time.time(), step=epoch + 1, summary=summary_pb2.Summary(value=values)))
        self.writer.flush()

    def on_train_end(self, logs=None):
        if self.writer is not None:
            self.writer.close()

"""TensorBoard curves written without TensorFlow (``network.summaries``):
Keras' epoch logs as train/ and validation/ tags, read back by
TensorBoard's own loader."""

from tensorboard.backend.event_processing.event_file_loader import LegacyEventFileLoader

from brainmets.network.summaries import EpochSummaries, scalar_tags


def test_epoch_logs_become_tags():
    assert scalar_tags({"loss": 0.5, "val_loss": 0.25, "dice": 0.8, "learning_rate": 1e-3}) == {
        "train/loss": 0.5, "validation/loss": 0.25, "train/dice": 0.8, "train/learning_rate": 1e-3,
    }


def test_event_files_read_back_in_tensorboard(tmp_path):
    summaries = EpochSummaries(tmp_path / "tb")
    for epoch, loss in enumerate((0.5, 0.25)):
        summaries.on_epoch_end(epoch, {"loss": loss, "val_dice": 0.1 * (epoch + 1)})
    summaries.on_train_end()
    (events,) = (tmp_path / "tb").glob("events.out.tfevents.*")
    scalars = [(e.step, v.tag, v.simple_value) for e in LegacyEventFileLoader(str(events)).Load() for v in e.summary.value]
    assert [s[:2] for s in scalars] == [(1, "train/loss"), (1, "validation/dice"), (2, "train/loss"), (2, "validation/dice")]
    assert [round(s[2], 3) for s in scalars] == [0.5, 0.1, 0.25, 0.2]

"""The learning-rate drop over the last epochs, and its place in the
training fingerprint."""

import keras
import numpy as np
import pytest

from brainmets.network.train import learning_rate_schedule, training_inputs

BASE = {"epochs": 5, "learning_rate": 0.002, "learning_rate_drop_epochs": 2, "learning_rate_drop_factor": 0.1}


def test_rate_is_constant_then_drops_for_the_last_epochs():
    rate = learning_rate_schedule(BASE)
    assert [rate(e) for e in range(5)] == pytest.approx([0.002, 0.002, 0.002, 0.0002, 0.0002])
    constant = learning_rate_schedule({**BASE, "learning_rate_drop_epochs": 0})
    assert {constant(e) for e in range(5)} == {0.002}


def test_keras_applies_the_schedule_to_the_optimizer():
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
    model.compile(optimizer=keras.optimizers.Adam(BASE["learning_rate"]), loss="mse")
    seen = []
    record = keras.callbacks.LambdaCallback(on_epoch_end=lambda epoch, logs: seen.append(float(model.optimizer.learning_rate)))
    x = np.random.default_rng(0).random((8, 3)).astype("float32")
    model.fit(x, x[:, :1], epochs=5, verbose=0, callbacks=[keras.callbacks.LearningRateScheduler(learning_rate_schedule(BASE)), record])
    assert seen == pytest.approx([0.002] * 3 + [0.0002] * 2)


def fingerprint_of(settings):
    index = [{"patient_id": "p1", "sha256": "0"}]
    return training_inputs({"width": 1}, settings, {}, 3, index, [], 0)["training settings"]


def test_more_epochs_continue_a_run_unless_a_drop_ties_the_rates_to_them():
    constant = {**BASE, "learning_rate_drop_epochs": 0}
    assert fingerprint_of(constant) == fingerprint_of({**constant, "epochs": 9})
    # With a drop, epoch 4 of a 5-epoch run is not epoch 4 of a 9-epoch run.
    assert fingerprint_of(BASE) != fingerprint_of({**BASE, "epochs": 9})

"""Training under the JAX backend on a machine without TensorFlow, and the
same batches under every backend."""

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from brainmets.network.train import load_trained

REPO = Path(__file__).resolve().parents[2]

# Makes ``import tensorflow`` fail, as on a machine that has none.
NO_TENSORFLOW = textwrap.dedent(
    """
    import sys
    class NoTensorFlow:
        def find_spec(self, name, path=None, target=None):
            if name == "tensorflow" or name.startswith("tensorflow."):
                raise ModuleNotFoundError(f"No module named {name!r}")
    sys.meta_path.insert(0, NoTensorFlow())
    """
)


def run_python(code: str, backend: str, tmp_path) -> str:
    env = {**os.environ, "KERAS_BACKEND": backend, "PYTHONPATH": str(REPO / "src"), "JAX_PLATFORMS": "cpu"}
    result = subprocess.run([sys.executable, "-c", code], env=env, cwd=tmp_path, capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, result.stderr[-4000:]
    return result.stdout


TRAIN_TWICE = NO_TENSORFLOW + textwrap.dedent(
    """
    import json, logging, sys
    logging.basicConfig(level=logging.INFO, stream=sys.stderr)
    import keras
    from brainmets.network.records import read_index
    from brainmets.network.paths import model_files
    from brainmets.network.train import train_model
    args = json.loads(sys.argv[1]) if len(sys.argv) > 1 else json.loads(open("args.json").read())
    indices = [read_index(p) for p in args["indices"]]
    settings = dict(
        epochs=1, steps_per_epoch=3, batch_size=4, lesion_fraction=0.5, positive_weight=10.0, learning_rate=1e-3,
        beta_1=0.9, beta_2=0.999, l2=1e-5, augment=True, sequence_dropout=0.25, crop=None, precision="float32", gpus=0,
        deterministic=True,
    )
    network = {"width": 0.0625, "bn_momentum": 0.9}
    first = train_model(indices[:2], indices[2:], model_files(args["folder"]), network, settings, {"normalization": "histogram_equalization"}, 7, context=3)
    second = train_model(indices[:2], indices[2:], model_files(args["folder"]), network, {**settings, "epochs": 2}, {"normalization": "histogram_equalization"}, 7, context=3)
    print(json.dumps({"backend": keras.backend.backend(), "first": first, "second": second,
                      "tensorflow_imported": any(m.split(".")[0] == "tensorflow" for m in sys.modules)}))
    """
)


@pytest.mark.slow
def test_jax_training_without_tensorflow_resumes_and_loads_under_tensorflow(records, tmp_path):
    pytest.importorskip("jax")
    folder = tmp_path / "model"
    (tmp_path / "args.json").write_text(json.dumps({"indices": [str(Path(r[1]["path"]).with_name(f"sub-{r[1]['patient_id']}_slices.json")) for r in records], "folder": str(folder)}))
    out = json.loads(run_python(TRAIN_TWICE, "jax", tmp_path).strip().splitlines()[-1])
    assert out["backend"] == "jax" and not out["tensorflow_imported"]
    assert out["first"]["keras_backend"] == "jax" and out["second"]["resumed_from_epoch"] == 1 and out["second"]["epochs"] == 2
    history = (folder / "history.csv").read_text().splitlines()
    assert history[0].startswith("epoch,") and len(history) == 3 and "val_dice" in history[0]
    assert list((folder / "checkpoints").glob("epoch-002.keras")) and list((folder / "tensorboard").glob("events.out.tfevents.*"))
    # The paper's network alone, trained under JAX, predicts here (TensorFlow by default).
    model, card = load_trained(folder)
    assert card["keras_backend"] == "jax" and model.name == "grovik_googlenet"
    x = np.random.default_rng(0).random((2, 32, 32, 28)).astype(np.float32)
    logits = np.asarray(model.predict(x, verbose=0))
    assert logits.shape == (2, 32, 32, 1) and np.isfinite(logits).all()


BATCH_DIGEST = textwrap.dedent(
    """
    import hashlib, json, sys
    import keras
    from brainmets.network import dataset, loader
    from brainmets.network.records import read_index
    from brainmets.network.slicebank import SliceBank
    paths = json.loads(open("paths.json").read())
    bank = SliceBank([read_index(p) for p in paths], context=3)
    sampler = dataset.BalancedSampler(bank, 8, 0.5, seed=21, augment=True, sequence_dropout=0.5)
    batches = loader.training_batches(sampler, 4, workers=3)
    digest = hashlib.sha256()
    for _ in range(5):
        x, y = next(batches)
        digest.update(x.tobytes()); digest.update(y.tobytes())
    batches.close()
    print(keras.backend.backend(), digest.hexdigest())
    """
)


def test_same_seed_same_batches_under_every_backend(records, tmp_path):
    (tmp_path / "paths.json").write_text(json.dumps([str(Path(r[1]["path"]).with_name(f"sub-{r[1]['patient_id']}_slices.json")) for r in records]))
    digests = {}
    for backend, module in (("tensorflow", "tensorflow"), ("jax", "jax"), ("torch", "torch")):
        try:
            __import__(module)
        except ImportError:
            continue
        name, digest = run_python(BATCH_DIGEST, backend, tmp_path).split()[-2:]
        assert name == backend
        digests[backend] = digest
    assert len(digests) >= 2, f"only {list(digests)} installed: nothing to compare"
    assert len(set(digests.values())) == 1, digests
    # And a batch stream that differs would be seen: another seed, another digest.
    other = run_python(BATCH_DIGEST.replace("seed=21", "seed=22"), "jax" if "jax" in digests else "tensorflow", tmp_path).split()[-1]
    assert other not in digests.values()

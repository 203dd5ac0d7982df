"""Small preprocessed patients (oblique affine), their TFRecord shards, and
the settings of a network small enough to train in seconds."""

import numpy as np

from brainmets.geometry import rigid
from brainmets.layout import record_files
from brainmets.network.records import read_index, write_patient_records
from brainmets.network.train import load_trained
from brainmets.niio import save_nifti
from brainmets.sequences import SEQUENCES

SHAPE = (32, 32, 12)


def oblique_affine():
    affine = rigid((0.1, -0.05, 0.2), (-60.0, -70.0, -20.0))
    affine[:3, :3] = affine[:3, :3] * np.array([1.5, 1.5, 3.0])
    return affine


def write_preprocessed(folder, pid: str, seed: int) -> dict:
    """Equalized-looking images (k/255), brain mask and lesions on slices 4-6."""
    rng = np.random.default_rng(seed)
    affine = oblique_affine()
    mask = np.zeros(SHAPE, np.uint8)
    mask[4:28, 4:28, 1:11] = 1
    lesions = np.zeros(SHAPE, np.uint8)
    lesions[10:14, 12:15, 4:7] = 1
    paths = {}
    for i, seq in enumerate(SEQUENCES):
        image = (rng.integers(1, 256, SHAPE) / 255.0).astype(np.float32) * mask
        image[lesions > 0] = (255 - 25 * i) / 255.0
        paths[seq] = folder / f"sub-{pid}_{seq}.nii.gz"
        save_nifti(paths[seq], image, affine)
    paths["brain_mask"] = folder / f"sub-{pid}_mask.nii.gz"
    paths["lesions"] = folder / f"sub-{pid}_lesions.nii.gz"
    save_nifti(paths["brain_mask"], mask, affine)
    save_nifti(paths["lesions"], lesions, affine)
    return paths


def write_records(folder, pid, seed):
    files = write_preprocessed(folder, pid, seed)
    out = record_files(folder / "records", pid)
    write_patient_records(pid, {s: files[s] for s in SEQUENCES}, files["brain_mask"], files["lesions"], out, "histogram_equalization")
    return files, read_index(out["index"])


SETTINGS = dict(
    epochs=1, steps_per_epoch=3, batch_size=4, lesion_fraction=0.5, positive_weight=10.0, learning_rate=1e-3,
    beta_1=0.9, beta_2=0.999, l2=1e-5, augment=True, sequence_dropout=0.25, crop=None, precision="float32", gpus=0, deterministic=True,
    run_eagerly=True,  # a few steps: tracing a graph would take longer than training
)
NETWORK = {"width": 0.0625, "bn_momentum": 0.9}
PREPROCESSING = {"normalization": "histogram_equalization"}


def weights(folder):
    model, _ = load_trained(folder)
    return np.concatenate([w.ravel() for w in model.get_weights()])


def balanced_sampler(records, **overrides):
    """A balanced sampler over ``records``' slice bank (context 3)."""
    from brainmets.network import dataset
    from brainmets.network.slicebank import SliceBank

    settings = dict(batch_size=8, lesion_fraction=0.5, seed=5, augment=True, sequence_dropout=0.0)
    settings.update(overrides)
    bank = SliceBank([r[1] for r in records], context=3)
    return dataset.BalancedSampler(bank, **settings)

"""Steps of one patient's preprocessing chain (``preprocessing.pipeline``)."""

import numpy as np

from brainmets.preprocessing.pipeline import network_mask, with_margin

AFFINE = np.diag([2.0, 2.0, 2.0, 1.0])


def _head(skull: bool):
    """A 30x30x30 volume: a brain ball of radius 8 voxels, and, with
    ``skull``, tissue around it out to 13 voxels (zero beyond)."""
    z, y, x = np.mgrid[:30, :30, :30]
    r = np.sqrt((z - 15) ** 2 + (y - 15) ** 2 + (x - 15) ** 2)
    brain = r <= 8
    image = np.where(brain, 100.0, np.where(r <= 13, 40.0, 0.0) if skull else 0.0).astype(np.float32)
    return brain, image


def test_margin_grows_the_brain_mask_of_a_head_with_its_skull():
    brain, image = _head(skull=True)
    mask, margin = network_mask(brain, AFFINE, 8.0, image)
    assert margin == 8.0 and np.array_equal(mask, with_margin(brain, AFFINE, 8.0)) and mask.sum() > brain.sum()


def test_no_margin_where_nothing_lies_beyond_the_brain():
    """A skull-stripped input: the band would hold only zeros, a grey ring
    after equalization."""
    brain, image = _head(skull=False)
    mask, margin = network_mask(brain, AFFINE, 8.0, image)
    assert margin == 0.0 and np.array_equal(mask, brain)
    assert network_mask(brain, AFFINE, 0.0, image)[1] == 0.0

"""What an image header claims, checked before a voxel is read.

A header is a few hundred bytes that anyone (or any broken converter) can
write; the checks here refuse the ones whose claims cannot be true of a head
MRI before they cost memory or give a believable wrong answer downstream:

* size: the voxel data the header promises must fit in the file (or, for a
  gzip file, in what the file can decompress to) and stay below a sane
  maximum, so that a 79-byte file cannot ask for gigabytes;
* orientation: a voxel-to-scanner mapping must be stated (qform or sform),
  with positive voxel sizes and orthonormal direction cosines; without one
  nibabel falls back to a guess, and left and right are unknown;
* field of view: the image must be about the size of a head.
"""

from __future__ import annotations

import os
from pathlib import Path

import nibabel as nib
import numpy as np

# 2^28 voxels (e.g. 1024x1024x256): several times the finest clinical head
# MRI (0.5 mm isotropic is about 480x480x400); 1 GiB even as float32.
MAX_VOXELS = 2**28
# Deflate cannot compress by more than about 1032:1.
MAX_GZIP_RATIO = 1032
# Direction cosines further than this from orthonormal (about 0.06 degrees
# of shear) are not a scanner's rotation; converters round to ~1e-5.
ORTHONORMAL_TOLERANCE = 1e-3
# A head is about 140-200 mm across; a scan of it covers at least two axes
# of 100 mm (a slab may be thin on the third) and no axis beyond 500 mm.
HEAD_FOV_MM = (100.0, 500.0)


def _human(nbytes: float) -> str:
    for unit in ("bytes", "kB", "MB", "GB", "TB"):
        if nbytes < 1000 or unit == "TB":
            return f"{nbytes:.0f} {unit}" if unit == "bytes" else f"{nbytes:.1f} {unit}"
        nbytes /= 1000
    return ""


def _gzip_isize(path: Path) -> int | None:
    """The uncompressed size modulo 2^32 that a gzip file records at its end."""
    with open(path, "rb") as fh:
        if fh.read(2) != b"\x1f\x8b":
            return None
        fh.seek(-4, os.SEEK_END)
        return int.from_bytes(fh.read(4), "little")


def size_problem(path, header) -> str | None:
    """Why the voxel data this header claims cannot be read from ``path``, or None."""
    path = Path(path)
    shape = tuple(int(n) for n in header.get_data_shape())
    voxels = int(np.prod(shape, dtype=np.float64)) if shape else 0
    claimed = voxels * np.dtype(header.get_data_dtype()).itemsize
    needed = int(header.get_data_offset()) + claimed
    dims = "x".join(str(n) for n in shape)
    what = f"its header claims {dims} voxels of {header.get_data_dtype()} ({_human(claimed)})"
    if voxels > MAX_VOXELS:
        return f"{what}, more than the {MAX_VOXELS / 1e6:.0f} million voxels of any head MRI; is the header damaged?"
    on_disk = path.stat().st_size
    isize = _gzip_isize(path)
    if isize is None:
        if on_disk < needed:
            return f"{what}, but the file holds {_human(on_disk)}: it is truncated or the header is wrong"
        return None
    if needed > MAX_GZIP_RATIO * on_disk:
        return f"{what}, more than a {_human(on_disk)} gzip file can hold: it is truncated or the header is wrong"
    # The trailer states the size exactly below 4 GiB (modulo 2^32 above).
    if needed < 2**32 and isize < needed:
        return f"{what}, but the file decompresses to {_human(isize)}: it is truncated or the header is wrong"
    return None


def raw_header(path, img):
    """The header as stored: nibabel's loader silently repairs some fields
    (negative voxel sizes become positive), which must be seen as written."""
    with nib.openers.ImageOpener(str(path)) as fobj:
        return type(img.header).from_fileobj(fobj, check=False)


def orientation_problem(header, affine) -> str | None:
    """Why the image has no trustworthy voxel-to-scanner mapping, or None;
    ``header`` as stored (``raw_header``)."""
    if int(header["qform_code"]) == 0 and int(header["sform_code"]) == 0:
        return "no orientation: qform_code and sform_code are both 0, so where the voxels lie (and which side is left) is unknown"
    pixdim = np.asarray(header["pixdim"][1:4], dtype=float)
    if not np.all(np.isfinite(pixdim)) or np.any(pixdim <= 0):
        return f"voxel sizes (pixdim) {', '.join(f'{v:g}' for v in pixdim)} are not all positive"
    matrix = np.asarray(affine, dtype=float)[:3, :3]
    if not np.all(np.isfinite(affine)):
        return "the affine holds NaN or Inf"
    spacing = np.sqrt((matrix**2).sum(axis=0))
    if np.any(spacing < 1e-6):
        return f"zero voxel size in the affine (spacing {', '.join(f'{v:g}' for v in spacing)} mm)"
    cosines = matrix / spacing
    error = np.abs(cosines.T @ cosines - np.eye(3)).max()
    if error > ORTHONORMAL_TOLERANCE:
        return f"the affine's direction cosines are not orthonormal (off by {error:.3g}): sheared or singular, not a scanner's orientation"
    return None


def field_of_view_problem(shape, affine) -> str | None:
    """Why the image's extent is not that of a head scan, or None."""
    spacing = np.sqrt((np.asarray(affine, dtype=float)[:3, :3] ** 2).sum(axis=0))
    extent = np.asarray(shape[:3], dtype=float) * spacing
    lo, hi = HEAD_FOV_MM
    if extent.max() > hi or np.sort(extent)[1] < lo:
        shown = " x ".join(f"{e:.0f}" for e in extent)
        return f"field of view {shown} mm is not head-sized (expected at least two axes of {lo:.0f} mm or more and none over {hi:.0f} mm)"
    return None


def header_problem(path, img) -> str | None:
    """The first problem of ``img``'s header (size, orientation, field of
    view), read before its voxels; None when it may be loaded."""
    if not isinstance(img, nib.Nifti1Image):  # NIfTI-2 derives from it
        return f"not a NIfTI image (read as {type(img).__name__})"
    return size_problem(path, img.header) or orientation_problem(raw_header(path, img), img.affine) or field_of_view_problem(img.shape, img.affine)


def canonical(data: np.ndarray, affine: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The image in the voxel order closest to RAS, with its affine: the same
    head stored mirrored or with its axes permuted gives the same arrays, so
    everything downstream (resampling, slicing, the network) sees one image."""
    ornt = nib.orientations.io_orientation(affine)
    if np.array_equal(ornt, [[0, 1], [1, 1], [2, 1]]):
        return data, affine
    new_affine = affine @ nib.orientations.inv_ornt_aff(ornt, data.shape)
    return np.ascontiguousarray(nib.orientations.apply_orientation(data, ornt)), new_affine

"""Benchmark: whole-volume inference on a phantom head, brain window against
the whole frame.

    python benchmarks/inference.py --width 1 --size 256 --slices 160
    python benchmarks/inference.py --model results/demo/models/main --patient results/demo:001

Simulates one phantom patient at the paper's protocol and uses its BRAVO
(histogram-equalised inside the brain, the workflow's normalisation) for all
four sequences. The network is either freshly initialised at --width (the
timing does not depend on the weights) or a trained model folder (then the
agreement figures mean something: a random network's output is not a map a
user would threshold; --patient RUN:ID takes that preprocessed patient of a
workflow run instead of the phantom). Times ``predict_volume`` --repeats times with the
brain window (``inference.window_margin``, --margin) and with the whole
frame, both after a one-batch warm-up (tracing), interleaved run by run,
and prints medians.

Agreement: the largest absolute difference of probabilities inside the
brain, and the Dice of the two masks at --threshold. FLOPs: forward FLOPs of
one slice of the window's size times the slices computed. The last line is

    seconds_per_volume=... full_frame_seconds=... max_abs_diff=... gflop_per_s=... sgemm_gflop_per_s=...

Peak memory: run under /usr/bin/time -v.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from network import sgemm_gflops  # noqa: E402 (the benchmark next door)


def phantom_volume(size: int, slices: int, seed: int):
    """BRAVO and brain mask of one phantom head on a size x size x slices
    grid (slices last), normalised as the workflow does."""
    from brainmets.geometry import resample_to_grid
    from brainmets.phantom import acquisition
    from brainmets.phantom.generate import PhantomConfig, simulate_patient
    from brainmets.preprocessing.normalize import inplane_grid, normalize
    from brainmets.preprocessing.pipeline import with_margin
    from brainmets.slices import slice_axis, to_slices_last

    sim = simulate_patient(PhantomConfig(resolution_scale=1.0, fraction_512=0.0), seed, 0, "bench", "4-10")
    grid, pose = sim.grids["BRAVO"], sim.poses["BRAVO"]
    brain, _, tissue = acquisition.rasterise_truth(grid, pose, sim.head, sim.lesions)
    image = acquisition.render_sequence(sim.noise_rng, "BRAVO", grid, pose, sim.head, sim.lesions, sim.vessels, sim.scanner, tissue)
    shape, affine = inplane_grid(grid.affine, grid.shape, size)
    image = resample_to_grid(image, grid.affine, shape, affine, order=1)
    mask = with_margin(resample_to_grid(brain.astype(np.float32), grid.affine, shape, affine, order=0) > 0.5, affine, 8.0)
    image = normalize(image, mask, slice_axis(affine), "histogram_equalization")
    image, mask = to_slices_last(image, affine), to_slices_last(mask.astype(np.uint8), affine)
    # Pad or cut the slice axis to the asked-for count, centred.
    n = image.shape[-1]
    lo = (n - slices) // 2
    take = np.arange(lo, lo + slices)
    inside = (take >= 0) & (take < n)
    out_image = np.zeros((*image.shape[:2], slices), np.float32)
    out_mask = np.zeros((*mask.shape[:2], slices), np.uint8)
    out_image[..., inside], out_mask[..., inside] = image[..., take[inside]], mask[..., take[inside]]
    return out_image, out_mask


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--width", type=float, default=1.0)
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--slices", type=int, default=160)
    parser.add_argument("--model", type=Path, help="a trained model folder (its width and size win)")
    parser.add_argument("--patient", help="RUN_DIR:ID, a preprocessed patient of a workflow run (with --model)")
    parser.add_argument("--margin", type=int, default=32, help="brain window margin, voxels")
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threshold", type=float, default=0.5, help="for the Dice of the two masks")
    parser.add_argument("--threads", type=int, default=0, help="CPU threads (0: all)")
    parser.add_argument("--seed", type=int, default=2020)
    parser.add_argument("--sgemm-n", type=int, default=2048)
    args = parser.parse_args()

    from brainmets.network.devices import limit_cpu_threads
    from brainmets.network.inference import brain_window, predict_volume
    from brainmets.network.model import build_model, forward_flops
    from brainmets.network.train import load_trained
    from brainmets.sequences import SEQUENCES

    import keras

    if args.threads:
        limit_cpu_threads(args.threads)
    keras.utils.set_random_seed(args.seed)
    if args.model:
        model, card = load_trained(args.model)
        size = card["inplane_size"]
    else:
        size = args.size
        card = {"sequences": list(SEQUENCES), "context": 3}
        model = build_model(len(SEQUENCES) * 7, args.width, input_size=None)
    if args.patient:
        from brainmets.layout import PreprocessingFiles
        from brainmets.network.inference import load_preprocessed

        run_dir, pid = args.patient.rsplit(":", 1)
        normalized = PreprocessingFiles.bids(Path(run_dir) / "preproc", Path(run_dir) / "qc", pid).normalization
        volumes, mask, _, _ = load_preprocessed(card, {seq: normalized.images[seq] for seq in card["sequences"]}, normalized.brain_mask)
        args.slices = mask.shape[-1]
    else:
        image, mask = phantom_volume(size, args.slices, args.seed)
        volumes = {seq: image for seq in card["sequences"]}
    computed = int(mask.any(axis=(0, 1)).sum())
    rows, cols = brain_window(mask, args.margin)
    window = (rows.stop - rows.start, cols.stop - cols.start)

    # Every layer's output grows with the input's area (same padding, sizes
    # on the stride grid): the window's FLOPs scale the whole frame's.
    frame_flops = forward_flops(build_model(model.input_shape[-1], card.get("width", args.width), input_size=size))

    def flops_of(shape) -> float:
        return frame_flops * shape[0] * shape[1] / size**2

    settings = {"window": (args.margin, window), "full_frame": (None, (size, size))}
    for margin, shape in settings.values():
        model.predict_on_batch(np.zeros((args.batch, *shape, model.input_shape[-1]), np.float32))  # warm-up: tracing
    # Interleaved, so that a change in the machine's load falls on both alike.
    times, probs = {name: [] for name in settings}, {}
    for _ in range(args.repeats):
        for name, (margin, _) in settings.items():
            t = time.perf_counter()
            probs[name] = predict_volume(model, card, volumes, mask, args.batch, margin=margin)
            times[name].append(time.perf_counter() - t)
    print("seconds per run: " + "; ".join(f"{name} {', '.join(f'{s:.1f}' for s in ts)}" for name, ts in times.items()))
    runs = {name: (statistics.median(times[name]), probs[name]) for name in settings}
    (window_s, p_window), (full_s, p_full) = runs["window"], runs["full_frame"]
    brain = mask > 0
    max_abs_diff = float(np.abs(p_window - p_full)[brain].max())
    a, b = p_window >= args.threshold, p_full >= args.threshold
    dice = float(2 * (a & b).sum() / (a.sum() + b.sum())) if a.any() or b.any() else 1.0
    window_gflop = flops_of(window) * computed / 1e9
    full_gflop = flops_of((size, size)) * computed / 1e9
    sgemm = sgemm_gflops(keras, args.sgemm_n, args.repeats)
    print(f"volume {size}x{size}x{args.slices}, {computed} slices with brain, window {window[0]}x{window[1]} (margin {args.margin})")
    print(f"window:     {window_s:8.1f} s  {window_gflop:9.0f} GFLOP  {window_gflop / window_s:6.1f} GFLOP/s")
    print(f"full frame: {full_s:8.1f} s  {full_gflop:9.0f} GFLOP  {full_gflop / full_s:6.1f} GFLOP/s")
    print(f"agreement inside the brain: max |diff| {max_abs_diff:.2e}, Dice at {args.threshold} {dice:.4f} ({int(a.sum())} / {int(b.sum())} voxels)")
    print(f"SGEMM {sgemm:.1f} GFLOP/s; window run at {window_gflop / window_s / sgemm:.2f} of it")
    print(
        f"seconds_per_volume={window_s:.2f} full_frame_seconds={full_s:.2f} max_abs_diff={max_abs_diff:.3g} "
        f"gflop_per_s={window_gflop / window_s:.1f} sgemm_gflop_per_s={sgemm:.1f}"
    )


if __name__ == "__main__":
    main()

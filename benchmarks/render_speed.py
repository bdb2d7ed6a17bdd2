"""Heatmap rendering speed on the real Penn Action sequences, against the plain numpy reference.

    .venv/bin/python -m benchmarks.render_speed [--reference-frames 3000]

One thread everywhere (torch.set_num_threads(1); the compiled kernel is single-threaded), warm-up
first, best of 3 repeats. The reference (a loop over frames and channels evaluating eq. 1 and 2 with
numpy on the full 30x30 grid) runs on the first --reference-frames frames; the others on all frames.
Max abs difference is taken against the reference on the frames it rendered. Target: 20x.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch

from benchmarks.common import penn_grid_sequences, print_table
from pipeline.heatmap_kernel import render_heatmaps_fast
from pipeline.heatmaps import render_heatmaps_reference, render_heatmaps_torch
from pipeline.layouts import PENN_ACTION


def best_of(repeats: int, render, sequences) -> float:
    """Best wall time of rendering every sequence (outputs dropped at once: all frames would be ~13 GB)."""
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        for s in sequences:
            render(s)
        best = min(best, time.perf_counter() - start)
    return best


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--reference-frames", type=int, default=3000)
    args = parser.parse_args()
    torch.set_num_threads(1)
    limbs = np.asarray(PENN_ACTION.limbs)
    sequences = penn_grid_sequences()
    total = sum(len(s) for s in sequences)
    ref_seqs, count = [], 0
    for s in sequences:
        if count >= args.reference_frames:
            break
        ref_seqs.append(s)
        count += len(s)
    ref_frames = sum(len(s) for s in ref_seqs)

    render_heatmaps_fast(sequences[0][:2], limbs)  # compile / load the kernel
    render_heatmaps_torch(torch.from_numpy(sequences[0][:2]), limbs)
    ref_time = best_of(1, lambda s: render_heatmaps_reference(s, limbs), ref_seqs)
    fast_time = best_of(3, lambda s: render_heatmaps_fast(s, limbs), sequences)
    torch_time = best_of(3, lambda s: render_heatmaps_torch(torch.from_numpy(s), limbs), sequences)
    ref_out = [render_heatmaps_reference(s, limbs) for s in ref_seqs]

    fast_diff = max(np.abs(render_heatmaps_fast(s, limbs) - r).max() for s, r in zip(ref_seqs, ref_out))
    torch_diff = max(np.abs(render_heatmaps_torch(torch.from_numpy(s), limbs).numpy() - r).max()
                     for s, r in zip(ref_seqs, ref_out))
    ref_fps = ref_frames / ref_time
    rows = [
        ["numpy reference (loop, full grid)", ref_frames, ref_time, ref_frames / ref_time, "1.0", 0.0],
        ["torch, chunks of 64 frames (CPU)", total, torch_time, total / torch_time, f"{total / torch_time / ref_fps:.1f}", torch_diff],
        ["compiled kernel (numba, windowed)", total, fast_time, total / fast_time, f"{total / fast_time / ref_fps:.1f}", fast_diff],
    ]
    print_table(
        f"Heatmap rendering, {len(sequences)} real Penn Action videos, 27 channels, 30x30, sigma 1, 1 thread (target: 20x reference)",
        ["renderer", "frames", "seconds", "frames/s", "x reference", "max abs diff"],
        [r[:5] + [f"{r[5]:.1e}"] for r in rows],
    )


if __name__ == "__main__":
    main()

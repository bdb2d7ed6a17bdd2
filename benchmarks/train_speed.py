"""Training throughput of the default LA2DS network: sequence pairs per second, forward + backward.

    .venv/bin/python -m benchmarks.train_speed [--device cpu|cuda] [--frames 64 100] [--batch 8] [--amp]

One optimisation step = render the augmented sequence's heatmaps with the batched torch renderer on
the device, forward both sequences (encoder, cross-attention, projection), the alignment loss,
backward, Adam step, as the training loop does. Inputs are real-shaped synthetic tensors (Penn
layout: 13 joints + 14 limbs). CPU threads: torch's default (all cores). Warm-up of 2 steps, then
the mean over --steps steps. The reference column is the figure from the stack notes (CPU, 2
threads, ~4.4 M parameters): 6.5 pairs/s at T = 64 and 3.8 at T = 100.
"""

from __future__ import annotations

import argparse
import contextlib
import time

import numpy as np
import torch

from benchmarks.common import print_table
from models.config import ModelConfig
from models.loss import alignment_loss
from models.network import AlignmentNet
from pipeline.heatmaps import render_heatmaps_torch
from pipeline.layouts import PENN_ACTION

REFERENCE_CPU = {64: 6.5, 100: 3.8}


def pairs_per_second(frames: int, batch: int, steps: int, device: torch.device, amp: bool) -> tuple[float, int]:
    torch.manual_seed(0)
    config = ModelConfig.for_layout(PENN_ACTION)
    model = AlignmentNet(config).to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-4, weight_decay=1e-5)
    limbs = torch.as_tensor(np.asarray(PENN_ACTION.limbs), device=device)
    keypoints = torch.rand(batch, frames, PENN_ACTION.num_joints, 3, device=device) * torch.tensor([29.0, 29.0, 1.0], device=device)
    heatmaps = render_heatmaps_torch(keypoints, limbs)
    mask = torch.ones(batch, frames, dtype=torch.bool, device=device)
    gt = torch.arange(frames, device=device).expand(batch, frames)
    autocast = torch.autocast(device.type, dtype=torch.bfloat16) if amp else contextlib.nullcontext()

    def step() -> None:
        optimizer.zero_grad(set_to_none=True)
        with autocast:
            augmented = render_heatmaps_torch(keypoints + 0.5 * torch.randn_like(keypoints) * torch.tensor([1.0, 1.0, 0.0], device=device), limbs)
            z1, z2 = model(heatmaps, mask, augmented, mask)
        loss, _ = alignment_loss(z1, z2, gt, mask, mask, config.temperature)
        loss.backward()
        optimizer.step()

    for _ in range(2):
        step()
    if device.type == "cuda":
        torch.cuda.synchronize()
    start = time.perf_counter()
    for _ in range(steps):
        step()
    if device.type == "cuda":
        torch.cuda.synchronize()
    return batch * steps / (time.perf_counter() - start), model.count_parameters()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--frames", type=int, nargs="+", default=[64, 100])
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--steps", type=int, default=5)
    parser.add_argument("--amp", action="store_true", help="also measure bf16 autocast")
    args = parser.parse_args()
    device = torch.device(args.device)
    rows = []
    for frames in args.frames:
        for amp in ([False, True] if args.amp else [False]):
            rate, params = pairs_per_second(frames, args.batch, args.steps, device, amp)
            reference = REFERENCE_CPU.get(frames) if device.type == "cpu" and not amp else None
            rows.append([f"{device.type}{' bf16' if amp else ''}", frames, args.batch, f"{rate:.2f}",
                         f"{reference}" if reference else "-", f"{rate / reference:.2f}" if reference else "-"])
    print_table(f"Training throughput, default LA2DS network ({params:,} parameters), {torch.get_num_threads()} CPU threads",
                ["device", "T", "batch", "pairs/s", "reference pairs/s", "ratio"], rows)


if __name__ == "__main__":
    main()

"""Shared helpers of the benchmarks: real data location, Penn sequences in grid coordinates, tables."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
PENN_ROOT = REPO.parent / "shared" / "data" / "penn_action"


def require_penn() -> Path:
    if not (PENN_ROOT / "labels").is_dir():
        sys.exit(f"benchmark skipped: real Penn Action data not found at {PENN_ROOT}")
    return PENN_ROOT


def penn_grid_sequences(limit: int | None = None) -> list[np.ndarray]:
    """Real Penn Action videos as (T, 13, 3) grid keypoints, mapped as the cache maps them."""
    from pipeline.heatmaps import GridMapping, HeatmapSettings, crop_box
    from pipeline.sources import discover_videos, load_video

    refs = discover_videos("penn", require_penn())[:limit]
    sequences = []
    for ref in refs:
        keypoints = load_video(ref).keypoints
        sequences.append(GridMapping.fit(crop_box(keypoints), HeatmapSettings()).to_grid(keypoints))
    return sequences


def print_table(title: str, columns: list[str], rows: list[list]) -> None:
    cells = [[f"{v:,.1f}" if isinstance(v, float) else str(v) for v in row] for row in rows]
    widths = [max(len(c), *(len(r[i]) for r in cells)) for i, c in enumerate(columns)]
    print(f"\n{title}")
    print("| " + " | ".join(c.ljust(w) for c, w in zip(columns, widths)) + " |")
    print("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    for row in cells:
        print("| " + " | ".join(v.ljust(w) if i == 0 else v.rjust(w) for i, (v, w) in enumerate(zip(row, widths))) + " |")

"""Whole preprocessing of every Penn Action file through the CLI: cold and warm, 1 and 2 Dask workers.

    .venv/bin/python -m benchmarks.preprocess_penn

Each cold run starts from an empty cache (a temporary folder); the warm run repeats the same command
on the filled cache (nothing to do). Wall time includes the CLI's start (imports, Dask cluster).
Targets: cold under 60 s with 2 workers; warm under 10 s.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.common import REPO, print_table, require_penn

TARGETS = {"cold": 60.0, "warm": 10.0}


def run_cli(source: Path, cache: Path, workers: int) -> float:
    command = [sys.executable, "-m", "la2ds.cli", "preprocess", "penn", "--source", str(source), "--cache", str(cache),
               "--workers", str(workers), "--quiet"]
    start = time.perf_counter()
    done = subprocess.run(command, cwd=REPO, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        sys.exit(f"preprocessing failed:\n{done.stdout}\n{done.stderr}")
    return seconds


def cache_stats(cache: Path) -> tuple[int, int, int]:
    """(videos, frames, stored bytes) of the cache's penn_action dataset."""
    videos = frames = 0
    for meta in (cache / "penn_action").glob("*/zarr.json"):
        attrs = json.loads(meta.read_text()).get("attributes", {})
        if attrs.get("complete") is True:
            videos += 1
            frames += attrs["n_frames"]
    stored = sum(p.stat().st_size for p in cache.rglob("*") if p.is_file())
    return videos, frames, stored


def main() -> None:
    source = require_penn()
    rows = []
    for workers in (1, 2):
        with tempfile.TemporaryDirectory(prefix="la2ds-bench-") as tmp:
            cache = Path(tmp) / "cache.zarr"
            cold = run_cli(source, cache, workers)
            warm = run_cli(source, cache, workers)
            videos, frames, stored = cache_stats(cache)
        for label, seconds in (("cold", cold), ("warm", warm)):
            rate = (f"{videos / seconds:,.0f}", f"{frames / seconds:,.0f}") if label == "cold" else ("-", "-")
            rows.append([label, workers, seconds, *rate, f"{stored / frames:,.0f}", TARGETS[label], f"{seconds / TARGETS[label]:.2f}"])
    print_table(
        f"Preprocessing all {videos} Penn Action files ({frames:,} frames) through `la2ds preprocess penn`",
        ["run", "workers", "wall s", "videos/s", "frames/s", "bytes/frame", "target s", "ratio to target"],
        rows,
    )


if __name__ == "__main__":
    main()

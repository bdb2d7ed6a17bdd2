"""Data loader throughput: AlignmentPairs over real Penn Action videos of one action, 0 and 2 workers.

    .venv/bin/python -m benchmarks.loader_speed [--action squat] [--cache PATH] [--train-pairs-per-s X]

Builds a cache of the action's videos (a temporary folder of symlinks to its .mat files, the
action read from each file, through storage.build.build_cache), or reuses `--cache` when it
already holds that action. Then iterates `make_loader(AlignmentPairs(...), batch_size=8,
shuffle=True, num_workers=w)` for 2 epochs with w = 0 and 2 (default augmentations), and with
raw_heatmaps=True (uint8 batches, decoded on the training device) with 2 workers, and reports
sequence pairs per second per epoch; the first epoch with workers includes starting them
(forkserver). A pair is S (heatmaps read from the cache, decoded to float32) plus the augmented
keypoints S' and its ground truth, collated into padded batches: everything the training loop
receives (it renders S' heatmaps itself, on its device).

Target (issue 3): the loader at least 5x the training throughput. Give the training figure
(pairs/s, forward + backward, same data) with --train-pairs-per-s to fill the reference column.
"""

from __future__ import annotations

import argparse
import logging
import shutil
import tempfile
import time
from pathlib import Path

import scipy.io

from benchmarks.common import print_table, require_penn

DATASET = "penn_action"
TARGET_FACTOR = 5.0


def action_files(root: Path, action: str) -> list[Path]:
    """The .mat files of one action (reading only the `action` field of each)."""
    files = []
    for path in sorted((root / "labels").glob("*.mat")):
        if str(scipy.io.loadmat(str(path), variable_names=["action"])["action"][0]) == action:
            files.append(path)
    return files


def has_action(cache: Path, action: str) -> bool:
    from storage.cache import CacheError
    from storage.dataset import CachedVideos

    try:
        return len(CachedVideos(cache, DATASET, action=action)) > 0
    except (CacheError, KeyError):
        return False


def build(cache: Path, action: str, workers: int) -> float:
    """Cache the action's Penn videos; returns the seconds it took."""
    from storage.build import PreprocessConfig, build_cache

    files = action_files(require_penn(), action)
    if not files:
        raise SystemExit(f"no Penn Action video of action {action!r}")
    start = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="la2ds-bench-src-") as tmp:
        labels = Path(tmp) / "labels"
        labels.mkdir()
        for path in files:
            (labels / path.name).symlink_to(path.resolve())
        summary = build_cache(PreprocessConfig(kind="penn", source=tmp, cache=cache, workers=workers))
    if not summary.ok:
        raise SystemExit(f"preprocessing failed:\n{summary.text()}")
    return time.perf_counter() - start


def measure(cache: Path, action: str, num_workers: int, epochs: int, batch_size: int, max_frames: int | None,
            raw: bool = False) -> list[tuple[float, int, int]]:
    """(seconds, pairs, frames of S) per epoch."""
    from storage.dataset import AlignmentPairs, CachedVideos, make_loader

    videos = CachedVideos(cache, DATASET, action=action, max_frames=max_frames, raw_heatmaps=raw)
    pairs = AlignmentPairs(videos, seed=0)
    loader = make_loader(pairs, batch_size=batch_size, shuffle=True, num_workers=num_workers, seed=0)
    results = []
    try:
        for epoch in range(epochs):
            pairs.set_epoch(epoch)
            start = time.perf_counter()
            count = frames = 0
            for batch in loader:
                count += len(batch["video_ids"])
                frames += int(batch["mask"].sum())
            results.append((time.perf_counter() - start, count, frames))
    finally:
        del loader
    return results


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--action", default="squat")
    parser.add_argument("--cache", type=Path, help="cache to build or reuse (default: a temporary one, removed after)")
    parser.add_argument("--train-pairs-per-s", type=float, help="training throughput (pairs/s) on the same data")
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--workers", type=int, nargs="+", default=[0, 2], help="num_workers values to measure")
    parser.add_argument("--raw-workers", type=int, nargs="*", default=[2],
                        help="num_workers values to measure with raw_heatmaps=True (uint8 batches)")
    parser.add_argument("--max-frames", type=int, help="CachedVideos max_frames (default: whole videos)")
    parser.add_argument("--build-workers", type=int, default=2, help="Dask workers when building the cache")
    args = parser.parse_args(argv)
    logging.getLogger("distributed").setLevel(logging.ERROR)

    tmp = None
    if args.cache is None:
        tmp = tempfile.mkdtemp(prefix="la2ds-bench-")
        cache = Path(tmp) / "cache.zarr"
    else:
        cache = args.cache
    try:
        if has_action(cache, args.action):
            note = f"reused {cache}"
        else:
            note = f"built in {build(cache, args.action, args.build_workers):.1f} s"
        rows = []
        reference = TARGET_FACTOR * args.train_pairs_per_s if args.train_pairs_per_s else None
        runs = [(w, False) for w in args.workers] + [(w, True) for w in args.raw_workers]
        for workers, raw in runs:
            for epoch, (seconds, count, frames) in enumerate(
                measure(cache, args.action, workers, args.epochs, args.batch_size, args.max_frames, raw), start=1
            ):
                rate = count / seconds
                label = (f"pairs/s, {'uint8' if raw else 'float32'} heatmaps, {workers} workers, epoch {epoch}"
                         + (" (incl. worker start)" if workers and epoch == 1 else ""))
                rows.append([label, rate, f"{reference:,.1f}" if reference else "-",
                             f"{rate / reference:.2f}" if reference else "-"])
        print_table(
            f"AlignmentPairs loader on Penn Action '{args.action}' ({count} videos, {frames:,} frames of S per epoch; "
            f"batch {args.batch_size}; cache {note})",
            ["figure", "value", f"reference ({TARGET_FACTOR:g}x training)", "ratio"],
            rows,
        )
    finally:
        if tmp is not None:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()

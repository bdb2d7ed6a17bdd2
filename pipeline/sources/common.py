"""Helpers shared by the pose sources: per-frame file naming, frame gaps, fitting to a frame.

Rules (the sources' docstrings refer to these):
- Frame number of a per-frame file = the LAST run of decimal digits in its name without the
  extension: ``vid_000000000012_keypoints.json`` -> 12, ``cam01.0012.json`` -> 12. A file without
  digits, or two files with the same number, is a `SourceError`.
- Gaps: a video spans frame numbers first..last. A number with no file becomes a frame whose joints
  all have confidence 0 (x = y = 0), and a warning such as "frames 12-14 missing: filled with
  confidence 0" goes to `PoseSequence.warnings`. The first number need not be 0.
- Fit to frame: one uniform scale (aspect ratio kept) and one translation for a whole video, so that
  the bounding box of its valid joints fills (width, height) less a margin of 5 % of the width
  (left and right) and of the height (top and bottom), centred.
"""

from __future__ import annotations

import math
import re
from pathlib import Path

import numpy as np

from pipeline.errors import SourceError

FIT_MARGIN = 0.05

_DIGITS = re.compile(r"\d+")


def frame_number(path: Path) -> int:
    """The last run of digits in the file name stem."""
    runs = _DIGITS.findall(path.stem)
    if not runs:
        raise SourceError(path, "no frame number in the file name (expected digits, e.g. frame_000012)")
    return int(runs[-1])


def numbered_files(directory: Path, pattern: str) -> list[tuple[int, Path]]:
    """(frame number, file) for the frame files matching `pattern` in `directory`, ordered by number.

    Frame files are those with digits in their name; others (manifest.json, cam_intrinsics.txt)
    are not frames and are left alone.

    Raises SourceError naming both files when two share a frame number.
    """
    by_number: dict[int, Path] = {}
    for file in _frame_files(directory, pattern):
        number = frame_number(file)
        if number in by_number:
            raise SourceError(file, f"frame number {number} is also the frame number of {by_number[number].name}")
        by_number[number] = file
    return sorted(by_number.items())


def video_dirs(root: Path, pattern: str) -> list[Path]:
    """[root] if root directly holds files matching `pattern`, else its subdirectories that do."""
    if _holds(root, pattern):
        return [root]
    if not root.is_dir():
        return []
    return [d for d in sorted(root.iterdir()) if d.is_dir() and _holds(d, pattern)]


def _frame_files(directory: Path, pattern: str) -> list[Path]:
    return sorted(p for p in directory.glob(pattern) if p.is_file() and _DIGITS.search(p.stem))


def _holds(directory: Path, pattern: str) -> bool:
    return directory.is_dir() and bool(_frame_files(directory, pattern))


def fill_gaps(numbers: list[int], frames: np.ndarray) -> tuple[np.ndarray, list[str]]:
    """Place frames at their numbers, filling absent numbers with confidence-0 frames.

    numbers: N ascending distinct frame numbers; frames: (N, K, 3).
    Returns ((T, K, 3) with T = last - first + 1, warnings naming each missing run).
    """
    first = numbers[0]
    out = np.zeros((numbers[-1] - first + 1, *frames.shape[1:]), dtype=frames.dtype)
    out[np.asarray(numbers) - first] = frames
    return out, gap_warnings(numbers)


def gap_warnings(numbers: list[int]) -> list[str]:
    """One warning per run of missing numbers between consecutive entries of `numbers`."""
    warnings = []
    for before, after in zip(numbers[:-1], numbers[1:]):
        if after - before > 1:
            first, last = before + 1, after - 1
            span = f"frame {first}" if first == last else f"frames {first}-{last}"
            warnings.append(f"{span} missing: filled with confidence 0")
    return warnings


def fit_to_frame(xy: np.ndarray, valid: np.ndarray, frame_size: tuple[int, int], margin: float = FIT_MARGIN) -> np.ndarray:
    """Scale and translate points uniformly so the valid ones fill the frame, centred, aspect kept.

    xy: (..., 2) points (x = column, y = row); valid: boolean mask of shape xy.shape[:-1], with at
    least one True; frame_size: (width, height). Returns float64 (..., 2); invalid points are
    mapped too (callers zero them). A zero extent on one axis leaves the other axis to set the
    scale; a single point goes to the centre.
    """
    width, height = frame_size
    points = xy[valid]
    low, high = points.min(axis=0), points.max(axis=0)
    extent = high - low
    room = np.array([width, height], dtype=np.float64) * (1.0 - 2.0 * margin)
    ratios = [room[i] / extent[i] for i in range(2) if extent[i] > 0]
    scale = min(ratios) if ratios else 1.0
    centre = (low + high) / 2.0
    return (xy - centre) * scale + np.array([width, height], dtype=np.float64) / 2.0


def infer_frame_size(xy: np.ndarray) -> tuple[int, int]:
    """(ceil(max x) + 1, ceil(max y) + 1) over the given (N, 2) points (N >= 1)."""
    return (int(math.ceil(float(xy[:, 0].max()))) + 1, int(math.ceil(float(xy[:, 1].max()))) + 1)


def zero_missing(keypoints: np.ndarray) -> np.ndarray:
    """Set x = y = 0 wherever c = 0 (in place); returns keypoints. keypoints: (..., 3)."""
    keypoints[keypoints[..., 2] == 0, :2] = 0.0
    return keypoints


def check_finite(values: np.ndarray, path: Path, what: str) -> None:
    """SourceError naming `path` if `values` holds NaN or infinity."""
    bad = ~np.isfinite(values)
    if bad.any():
        raise SourceError(path, f"{int(bad.sum())} non-finite (NaN or infinite) {what}")


def npz_text(arrays: dict[str, np.ndarray], key: str, path: Path) -> str | None:
    """An optional string entry of a .npz (a 0-d or 1-element str array)."""
    if key not in arrays:
        return None
    value = arrays[key]
    if value.dtype.kind != "U" or value.size != 1:
        raise SourceError(path, f"{key} should be one string, got {value.dtype} of shape {value.shape}")
    return str(value.reshape(())) or None

"""H2O-style hand poses: a video is a directory of per-frame text files of 128 numbers each.

File format (whitespace-separated): left-hand valid flag (1 or 0), 21 x (x, y, z), right-hand valid
flag, 21 x (x, y, z). Coordinates are 3D camera coordinates in metres (x right, y down, z forward
from the camera). Joint order within a hand: wrist, then thumb, index, middle, ring, pinky, 4 each.

Rules:
- discover(root): root itself if it directly holds ``*.txt`` files, else each subdirectory that
  does; video_id = directory name.
- Frame number = last run of digits in the file stem; gaps become confidence-0 frames plus a
  warning, a duplicate number is an error (same rules as OpenPose, see `common`).
- Layout HANDS42: left hand's 21 joints, then the right hand's. A valid hand's joints get c = 1.0,
  an invalid hand's c = 0 (x = y = 0).
- Projection to 2D pixels:
  * with ``options.intrinsics`` (text file ``fx fy cx cy`` and optionally ``width height``):
    perspective u = fx * x / z + cx, v = fy * y / z + cy; frame_size = (width, height) from the
    file, else (ceil(2 cx), ceil(2 cy));
  * without: orthographic, (x, y) kept and z dropped, then ONE uniform scale + translation for the
    whole video so that all valid joints fill ``options.frame_size`` with a 5 % margin, aspect kept.
- Errors (SourceError naming the file): not 128 numbers (count given), non-numeric text, NaN or
  infinite numbers, a valid flag other than 0 / 1, z <= 0 for a valid joint with intrinsics, a bad
  intrinsics file; naming the directory: no valid hand in any frame.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from pipeline.errors import SourceError
from pipeline.layouts import HANDS42
from pipeline.pose import PoseSequence
from pipeline.sources.base import SourceKind, SourceOptions, VideoRef
from pipeline.sources.common import check_finite, fill_gaps, fit_to_frame, numbered_files, video_dirs, zero_missing

HAND_JOINTS = 21
NUMBERS_PER_FILE = 2 * (1 + 3 * HAND_JOINTS)  # 128


def discover(root: Path) -> list[VideoRef]:
    """One VideoRef per directory of ``*.txt`` frames: root itself, or else each subdirectory."""
    return [
        VideoRef(kind=SourceKind.h2o, video_id=directory.name, path=str(directory))
        for directory in video_dirs(root, "*.txt")
    ]


def load(ref: VideoRef, options: SourceOptions) -> PoseSequence:
    """Read one H2O video as (T, 42, 3) keypoints in pixels; see the module docstring."""
    directory = Path(ref.path)
    files = numbered_files(directory, "*.txt")
    if not files:
        raise SourceError(directory, "no *.txt frame files")
    joints3d, valid = _read_frames([path for _, path in files])  # (N, 42, 3), (N, 42)
    if not valid.any():
        raise SourceError(directory, "no valid hand in any frame")
    if options.intrinsics:
        xy, frame_size = _perspective(joints3d, valid, Path(options.intrinsics), [path for _, path in files])
    else:
        frame_size = options.frame_size
        xy = fit_to_frame(joints3d[..., :2], valid, frame_size)
    keypoints = zero_missing(np.concatenate([xy, valid[..., None].astype(np.float64)], axis=-1))
    keypoints, warnings = fill_gaps([number for number, _ in files], keypoints)
    return PoseSequence(
        video_id=ref.video_id,
        layout=HANDS42,
        keypoints=keypoints,
        frame_size=tuple(frame_size),
        source_path=directory,
        warnings=warnings,
    )


def _read_frames(paths: list[Path]) -> tuple[np.ndarray, np.ndarray]:
    """(N, 42, 3) 3D joints and (N, 42) validity for N frame files."""
    frames = [read_frame(path) for path in paths]
    return np.stack([f[0] for f in frames]), np.stack([f[1] for f in frames])


def read_frame(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """One frame file -> ((42, 3) joints in metres, (42,) bool valid)."""
    numbers = _numbers(path)
    if numbers.size != NUMBERS_PER_FILE:
        raise SourceError(path, f"holds {numbers.size} numbers, expected {NUMBERS_PER_FILE} (per hand: valid flag + 21 x 3 coordinates)")
    check_finite(numbers, path, "numbers")
    hands = numbers.reshape(2, 1 + 3 * HAND_JOINTS)
    flags = hands[:, 0]
    if not np.isin(flags, (0.0, 1.0)).all():
        raise SourceError(path, f"hand valid flags are {flags.tolist()}, expected 0 or 1")
    joints = hands[:, 1:].reshape(2 * HAND_JOINTS, 3)
    valid = np.repeat(flags == 1.0, HAND_JOINTS)
    return joints, valid


def _numbers(path: Path) -> np.ndarray:
    try:
        tokens = path.read_text(encoding="utf-8").split()
    except (OSError, UnicodeDecodeError) as err:
        raise SourceError(path, f"unreadable text file ({err})") from err
    try:
        return np.array([float(token) for token in tokens], dtype=np.float64)
    except ValueError as err:
        raise SourceError(path, f"non-numeric text ({err})") from err


def _perspective(joints3d: np.ndarray, valid: np.ndarray, intrinsics: Path, paths: list[Path]) -> tuple[np.ndarray, tuple[int, int]]:
    """Pinhole projection of (N, 42, 3) joints -> ((N, 42, 2) pixels, frame size)."""
    fx, fy, cx, cy, frame_size = read_intrinsics(intrinsics)
    z = joints3d[..., 2]
    behind = valid & (z <= 0)
    if behind.any():
        frame, joint = np.argwhere(behind)[0]
        raise SourceError(paths[frame], f"joint {HANDS42.joints[joint]} has z = {z[frame, joint]:.4g} <= 0 (not in front of the camera)")
    safe_z = np.where(valid, z, 1.0)
    u = fx * joints3d[..., 0] / safe_z + cx
    v = fy * joints3d[..., 1] / safe_z + cy
    return np.stack([u, v], axis=-1), frame_size


def read_intrinsics(path: Path) -> tuple[float, float, float, float, tuple[int, int]]:
    """(fx, fy, cx, cy, (width, height)) from a ``fx fy cx cy [width height]`` text file."""
    if not path.is_file():
        raise SourceError(path, "intrinsics file does not exist")
    values = _numbers(path)
    if values.size not in (4, 6):
        raise SourceError(path, f"intrinsics file holds {values.size} numbers, expected 4 (fx fy cx cy) or 6 (fx fy cx cy width height)")
    check_finite(values, path, "intrinsics")
    fx, fy, cx, cy = (float(v) for v in values[:4])
    if fx <= 0 or fy <= 0:
        raise SourceError(path, f"focal lengths must be positive, got fx = {fx}, fy = {fy}")
    if values.size == 6:
        frame_size = (int(round(values[4])), int(round(values[5])))
    else:
        frame_size = (math.ceil(2 * cx), math.ceil(2 * cy))
    if min(frame_size) <= 0:
        raise SourceError(path, f"frame size {frame_size} is not positive")
    return fx, fy, cx, cy, frame_size

"""Penn Action: one MATLAB annotation file per video, ``labels/NNNN.mat``.

Fields used (see ../shared/data/README.md): action (str), x and y (T, 13) pixel coordinates,
visibility (T, 13) 1 visible / 0 occluded, train (1 train / -1 test), dimensions [H, W, T], nframes.
``pose`` (viewpoint) and ``bbox`` are not read (``bbox`` has T - 1 rows in a few real files).

Rules:
- discover(root): root is the Penn Action root (holding ``labels/``) or the labels directory
  itself; one video per ``*.mat`` file, video_id = file stem ("0001").
- Layout PENN_ACTION (13 joints, the file's order). Confidence: 1.0 for visible joints,
  ``options.occluded_confidence`` (default 0.5) for occluded ones (Penn fills in their coordinates);
  a joint at or inside the top-left pixel (x <= 1 and y <= 1) is missing: c = 0. The real files
  mark unannotated joints with such corner placeholders ((0, 0), (1, 1), (0.75, 0.75), ...), all
  flagged invisible: 152,630 of the 1,744,951 joints of the 1874 files here (8.7 %). Read as
  occluded, they would stretch every crop box to the frame corner.
- split "train" / "test" from ``train``; frame_size = (W, H) from ``dimensions``; action = the
  file's string (12 names in the copy here, e.g. "baseball_pitch", "jump_rope").
- Phase labels: if ``<stem>.phases.npy`` lies beside the .mat (integer array of shape (T,), as the
  synthetic generator writes), it becomes ``PoseSequence.phases``.
- Errors (SourceError naming the .mat or .phases.npy file): unreadable or truncated file, a
  missing field (named), x / y / visibility not (T, 13) or of different shapes, T different from
  ``nframes`` or from ``dimensions`` (both numbers given), zero frames, NaN or infinite coordinates,
  ``train`` other than 1 / -1.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import scipy.io

from pipeline.errors import SourceError
from pipeline.layouts import PENN_ACTION
from pipeline.pose import PoseSequence
from pipeline.sources.base import SourceKind, SourceOptions, VideoRef
from pipeline.sources.common import check_finite

REQUIRED_FIELDS = ("action", "x", "y", "visibility", "train", "dimensions", "nframes")
_SPLITS = {1: "train", -1: "test"}


def discover(root: Path) -> list[VideoRef]:
    """One VideoRef per ``*.mat`` in ``root/labels`` (or in root itself when it has no ``labels/``)."""
    labels = root / "labels" if (root / "labels").is_dir() else root
    return [
        VideoRef(kind=SourceKind.penn, video_id=path.stem, path=str(path))
        for path in sorted(labels.glob("*.mat"))
        if path.is_file()
    ]


def load(ref: VideoRef, options: SourceOptions) -> PoseSequence:
    """Read one Penn Action video: keypoints (T, 13, 3), see the module docstring for the rules."""
    path = Path(ref.path)
    mat = _read_mat(path)
    x, y, visible = _joint_arrays(mat, path)
    height, width, length = _dimensions(mat, path)
    _check_length(x.shape[0], _scalar(mat, "nframes", path), "nframes", path)
    _check_length(x.shape[0], length, "dimensions[2]", path)
    return PoseSequence(
        video_id=ref.video_id,
        layout=PENN_ACTION,
        keypoints=_keypoints(x, y, visible, options.occluded_confidence),
        frame_size=(width, height),
        source_path=path,
        action=_action(mat, path),
        split=_split(mat, path),
        phases=_phases(path, x.shape[0]),
    )


def _read_mat(path: Path) -> dict:
    """The .mat variables; SourceError if unreadable or a required field is absent."""
    try:
        mat = scipy.io.loadmat(str(path))
    except Exception as err:  # scipy raises OSError, ValueError, IndexError, MatReadError... on bad files
        raise SourceError(path, f"unreadable or truncated .mat file ({type(err).__name__}: {err})") from err
    missing = [name for name in REQUIRED_FIELDS if name not in mat]
    if missing:
        raise SourceError(path, f"missing field(s) {', '.join(missing)} (a Penn Action file has {', '.join(REQUIRED_FIELDS)})")
    return mat


def _joint_arrays(mat: dict, path: Path) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """x, y (T, 13) float64 and visible (T, 13) bool, checked for shape and finiteness."""
    arrays = {}
    for name in ("x", "y", "visibility"):
        try:
            arrays[name] = np.asarray(mat[name], dtype=np.float64)
        except (TypeError, ValueError) as err:
            raise SourceError(path, f"field {name} is not numeric ({err})") from err
    x, y, visibility = arrays["x"], arrays["y"], arrays["visibility"]
    if x.ndim != 2 or x.shape[1] != PENN_ACTION.num_joints:
        raise SourceError(path, f"x has shape {x.shape}, expected (T, {PENN_ACTION.num_joints})")
    if y.shape != x.shape or visibility.shape != x.shape:
        raise SourceError(path, f"x, y and visibility shapes differ: {x.shape}, {y.shape}, {visibility.shape}")
    if x.shape[0] == 0:
        raise SourceError(path, "empty video: x and y have zero frames")
    check_finite(x, path, "x coordinates")
    check_finite(y, path, "y coordinates")
    return x, y, visibility != 0


# Penn Action's placeholder for a joint that was not annotated: a point in the top-left pixel.
PLACEHOLDER_MAX = 1.0


def _keypoints(x: np.ndarray, y: np.ndarray, visible: np.ndarray, occluded_confidence: float) -> np.ndarray:
    """(T, 13, 3) float32: c = 1 visible, occluded_confidence occluded, 0 for corner placeholders."""
    conf = np.where(visible, 1.0, occluded_confidence)
    conf[(x <= PLACEHOLDER_MAX) & (y <= PLACEHOLDER_MAX)] = 0.0
    return np.stack([x, y, conf], axis=-1).astype(np.float32)


def _scalar(mat: dict, name: str, path: Path) -> int:
    values = np.asarray(mat[name]).ravel()
    if values.size != 1 or not np.issubdtype(values.dtype, np.number):
        raise SourceError(path, f"field {name} should be one number, got {values.size} value(s) of type {values.dtype}")
    return int(values[0])


def _dimensions(mat: dict, path: Path) -> tuple[int, int, int]:
    """(H, W, T) from the dimensions field."""
    values = np.asarray(mat["dimensions"]).ravel()
    if values.size != 3 or not np.issubdtype(values.dtype, np.number):
        raise SourceError(path, f"field dimensions should be [H, W, T], got {values.size} value(s)")
    height, width, length = (int(v) for v in values)
    if height <= 0 or width <= 0:
        raise SourceError(path, f"field dimensions gives a frame of {width}x{height} pixels")
    return height, width, length


def _check_length(frames: int, declared: int, field: str, path: Path) -> None:
    if frames != declared:
        raise SourceError(path, f"x and y hold {frames} frames but {field} says {declared}")


def _action(mat: dict, path: Path) -> str:
    values = np.asarray(mat["action"]).ravel()
    if values.size != 1 or values.dtype.kind != "U" or not str(values[0]).strip():
        raise SourceError(path, "field action is not a non-empty string")
    return str(values[0]).strip()


def _split(mat: dict, path: Path) -> str:
    value = _scalar(mat, "train", path)
    if value not in _SPLITS:
        raise SourceError(path, f"field train is {value}, expected 1 (train) or -1 (test)")
    return _SPLITS[value]


def source_files(ref: VideoRef) -> list[Path]:
    """The .mat and, when present, its phase labels: what the cache's source sha256 covers."""
    mat = Path(ref.path)
    phases = _phases_path(mat)
    return [mat, phases] if phases.exists() else [mat]


def _phases_path(mat_path: Path) -> Path:
    return mat_path.with_name(mat_path.stem + ".phases.npy")


def _phases(mat_path: Path, frames: int) -> np.ndarray | None:
    """(T,) int phase labels from ``<stem>.phases.npy`` beside the .mat, or None if there is none."""
    path = _phases_path(mat_path)
    if not path.exists():
        return None
    try:
        phases = np.load(path, allow_pickle=False)
    except (OSError, ValueError, EOFError) as err:
        raise SourceError(path, f"unreadable phase labels ({err})") from err
    if phases.shape != (frames,) or phases.dtype.kind not in "iu":
        raise SourceError(path, f"phase labels are {phases.dtype} of shape {phases.shape}, expected integers of shape ({frames},)")
    return phases

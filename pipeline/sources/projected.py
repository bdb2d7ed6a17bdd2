"""3D skeletons projected orthographically to 2D: one ``.npy`` or ``.npz`` file per video.

Files: ``.npy`` holding a (T, K, 3) array; or ``.npz`` with key ``joints3d`` (T, K, 3) and optional
keys ``layout`` (str), ``action`` (str), ``split`` (str), ``phases`` ((T,) int). video_id = file stem.

Rules:
- discover(root): root itself if it is a .npy/.npz file, else every ``*.npy`` / ``*.npz`` directly
  in root.
- Layout: the npz ``layout`` key, else ``options.layout``, else "penn_action"; K must equal the
  layout's joint count.
- Axis convention (camera coordinates): x right, y down, z depth (away from the viewer). Image
  column u and row v after dropping ``options.drop_axis``:
      drop 2 (z, default): u = x, v = y   (front view)
      drop 0 (x):          u = z, v = y   (side view)
      drop 1 (y):          u = x, v = z   (top view)
- Before dropping, an optional rotation by ``options.yaw_degrees`` (theta) about the y axis:
  x' = x cos(theta) + z sin(theta), z' = -x sin(theta) + z cos(theta), y' = y. So yaw 90 turns
  +z into +x: the front view of the rotated skeleton is its side view (u = z).
- Every joint gets c = 1.0 (as LA2DS does when camera parameters are unknown).
- One uniform scale + translation for the whole video so that its projected skeleton fills
  ``options.frame_size`` (width, height) with a 5 % margin, aspect kept, centred;
  frame_size = options.frame_size.
- Errors (SourceError naming the file): unreadable file, npz without ``joints3d``, an array that is
  not (T, K, 3), zero frames or joints, NaN or infinite values, K different from the layout's,
  unknown layout name, non-string layout/action/split, non-integer phases.
"""

from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np

from pipeline.errors import SourceError
from pipeline.layouts import Layout, get_layout
from pipeline.pose import PoseSequence
from pipeline.sources.base import SourceKind, SourceOptions, VideoRef
from pipeline.sources.common import check_finite, fit_to_frame, npz_text

DEFAULT_LAYOUT = "penn_action"
SUFFIXES = (".npy", ".npz")
# drop_axis -> (axis shown as image column u, axis shown as image row v)
VIEW_AXES = {2: (0, 1), 0: (2, 1), 1: (0, 2)}


def discover(root: Path) -> list[VideoRef]:
    """One VideoRef per .npy/.npz file: root itself if it is one, else those directly in root."""
    files = [root] if root.is_file() else sorted(p for p in root.iterdir() if p.is_file())
    return [
        VideoRef(kind=SourceKind.projected, video_id=path.stem, path=str(path))
        for path in files
        if path.suffix in SUFFIXES
    ]


def load(ref: VideoRef, options: SourceOptions) -> PoseSequence:
    """Read one 3D skeleton file and project it: keypoints (T, K, 3), see the module docstring."""
    path = Path(ref.path)
    arrays = _read_arrays(path)
    joints3d = _joints3d(arrays, path)
    layout = _layout(arrays, options, path)
    if joints3d.shape[1] != layout.num_joints:
        raise SourceError(path, f"{joints3d.shape[1]} joints per frame, layout {layout.name} has {layout.num_joints}")
    xy = project(joints3d, options.yaw_degrees, options.drop_axis)
    xy = fit_to_frame(xy, np.ones(xy.shape[:2], dtype=bool), options.frame_size)
    keypoints = np.concatenate([xy, np.ones((*xy.shape[:2], 1))], axis=-1)
    return PoseSequence(
        video_id=ref.video_id,
        layout=layout,
        keypoints=keypoints,
        frame_size=tuple(options.frame_size),
        source_path=path,
        action=npz_text(arrays, "action", path),
        split=npz_text(arrays, "split", path),
        phases=_phases(arrays, joints3d.shape[0], path),
    )


def project(joints3d: np.ndarray, yaw_degrees: float = 0.0, drop_axis: int = 2) -> np.ndarray:
    """(T, K, 3) camera coordinates -> (T, K, 2) (u, v): rotate about y by yaw, drop one axis."""
    theta = np.deg2rad(yaw_degrees)
    cos, sin = np.cos(theta), np.sin(theta)
    rotation = np.array([[cos, 0.0, sin], [0.0, 1.0, 0.0], [-sin, 0.0, cos]])
    rotated = joints3d @ rotation.T
    return rotated[..., list(VIEW_AXES[drop_axis])]


def _read_arrays(path: Path) -> dict[str, np.ndarray]:
    """{"joints3d": ...} for a .npy file; every array of a .npz file."""
    if path.suffix not in SUFFIXES:
        raise SourceError(path, "not a .npy or .npz file")
    try:
        with open(path, "rb") as handle:
            loaded = np.load(handle, allow_pickle=False)
            if isinstance(loaded, np.lib.npyio.NpzFile):
                with loaded:
                    return {key: loaded[key] for key in loaded.files}
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as err:
        raise SourceError(path, f"unreadable {path.suffix} file ({type(err).__name__}: {err})") from err
    if path.suffix == ".npz":
        raise SourceError(path, "not a .npz archive (it holds a single array)")
    return {"joints3d": loaded}


def _joints3d(arrays: dict[str, np.ndarray], path: Path) -> np.ndarray:
    """The (T, K, 3) float64 joints, checked."""
    if "joints3d" not in arrays:
        raise SourceError(path, f"no joints3d array in the .npz (keys: {', '.join(arrays) or 'none'})")
    joints = arrays["joints3d"]
    if joints.ndim != 3 or joints.shape[2] != 3:
        raise SourceError(path, f"joints3d has shape {joints.shape}, expected (T, K, 3)")
    if joints.shape[0] == 0 or joints.shape[1] == 0:
        raise SourceError(path, f"empty skeleton array of shape {joints.shape}")
    if joints.dtype.kind not in "iuf":
        raise SourceError(path, f"joints3d has dtype {joints.dtype}, expected numbers")
    joints = joints.astype(np.float64)
    check_finite(joints, path, "3D coordinates")
    return joints


def _layout(arrays: dict[str, np.ndarray], options: SourceOptions, path: Path) -> Layout:
    name = npz_text(arrays, "layout", path) or options.layout or DEFAULT_LAYOUT
    try:
        return get_layout(name)
    except ValueError as err:
        raise SourceError(path, str(err)) from err


def _phases(arrays: dict[str, np.ndarray], frames: int, path: Path) -> np.ndarray | None:
    if "phases" not in arrays:
        return None
    phases = arrays["phases"]
    if phases.shape != (frames,) or phases.dtype.kind not in "iu":
        raise SourceError(path, f"phases are {phases.dtype} of shape {phases.shape}, expected integers of shape ({frames},)")
    return phases

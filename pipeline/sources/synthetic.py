"""The synthetic generator's native files: one ``<video_id>.npz`` per video (pipeline/synth/writers.py).

Keys: keypoints2d (T, K, 3) x, y pixels and confidence (c = 0: missing), layout (str), frame_size
(2,) (width, height), phases (T,) int; optional action, split (str). Other keys (phase_names) are
ignored.

Rules:
- discover(root): one video per ``*.npz`` file directly in root; video_id = file stem.
- The layout is the file's; ``options.layout``, when set, must name the same layout.
- Errors (SourceError naming the file): unreadable file or not an .npz archive, a missing key
  (named), unknown layout or a layout other than ``options.layout``, frame_size not two positive
  numbers, non-numeric keypoints, non-integer phases, non-string text entries, and everything
  `PoseSequence` checks (shapes, K, NaN, confidence outside [0, 1], no joint with c > 0).
"""

from __future__ import annotations

import zipfile
import zlib
from pathlib import Path

import numpy as np

from pipeline.errors import SourceError
from pipeline.layouts import Layout, get_layout
from pipeline.pose import PoseSequence
from pipeline.sources.base import SourceKind, SourceOptions, VideoRef
from pipeline.sources.common import npz_text

REQUIRED_KEYS = ("keypoints2d", "layout", "frame_size", "phases")


def discover(root: Path) -> list[VideoRef]:
    """One VideoRef per ``*.npz`` file directly in root."""
    return [
        VideoRef(kind=SourceKind.synthetic, video_id=path.stem, path=str(path))
        for path in sorted(root.glob("*.npz"))
        if path.is_file()
    ]


def load(ref: VideoRef, options: SourceOptions) -> PoseSequence:
    """Read one native synthetic video: keypoints (T, K, 3) with phases, see the module docstring."""
    path = Path(ref.path)
    arrays = _read_npz(path)
    missing = [key for key in REQUIRED_KEYS if key not in arrays]
    if missing:
        raise SourceError(path, f"missing key(s) {', '.join(missing)} (a synthetic video has {', '.join(REQUIRED_KEYS)})")
    keypoints, phases = arrays["keypoints2d"], arrays["phases"]
    if keypoints.dtype.kind not in "iuf":
        raise SourceError(path, f"keypoints2d has dtype {keypoints.dtype}, expected numbers")
    if phases.dtype.kind not in "iu":
        raise SourceError(path, f"phases have dtype {phases.dtype}, expected integers")
    return PoseSequence(
        video_id=ref.video_id,
        layout=_layout(arrays, options, path),
        keypoints=keypoints,
        frame_size=_frame_size(arrays["frame_size"], path),
        source_path=path,
        action=npz_text(arrays, "action", path),
        split=npz_text(arrays, "split", path),
        phases=phases,
    )


def _read_npz(path: Path) -> dict[str, np.ndarray]:
    """Every array of the .npz archive at `path`."""
    try:
        loaded = np.load(path, allow_pickle=False)
        if isinstance(loaded, np.lib.npyio.NpzFile):
            with loaded:
                return {key: loaded[key] for key in loaded.files}
    except (OSError, ValueError, EOFError, zipfile.BadZipFile, zlib.error) as err:
        raise SourceError(path, f"unreadable .npz file ({type(err).__name__}: {err})") from err
    raise SourceError(path, "not a .npz archive (it holds a single array)")


def _layout(arrays: dict[str, np.ndarray], options: SourceOptions, path: Path) -> Layout:
    name = npz_text(arrays, "layout", path)
    if options.layout is not None and options.layout != name:
        raise SourceError(path, f"file holds layout {name}, but options ask for {options.layout}")
    try:
        return get_layout(name)
    except ValueError as err:
        raise SourceError(path, str(err)) from err


def _frame_size(value: np.ndarray, path: Path) -> tuple[int, int]:
    if value.shape != (2,) or value.dtype.kind not in "iuf" or (value <= 0).any():
        raise SourceError(path, f"frame_size should be (width, height) > 0, got {value!r}")
    return int(value[0]), int(value[1])

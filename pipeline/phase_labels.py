"""Published per-frame phase labels, in the layout of the TCC / CARL releases.

Layout: one ``.npy`` per video, ``LABEL_DIR/{train,val}/{action}/{video}.npy``, holding the video's
per-frame phase labels (T,) as integers (0 .. P-1, -1 where unknown); ``{video}`` is the cache's
video id (Penn Action: the annotation file's stem, "0001").

Rules:
- Only the ``train`` and ``val`` folders are read; a LABEL_DIR with neither is an error that says
  what layout is expected. Other files and folders are ignored.
- An array of shape (T,), (T, 1) or (1, T) of integers (or of floats holding whole numbers) in
  [-1, 32767] is accepted and returned as (T,) int16; anything else, an unreadable file, or a video
  id found twice (e.g. in train and in val) raises PhaseLabelError naming the file(s).
- Given the cached videos' lengths, a label file whose length differs raises PhaseLabelError naming
  the file and both lengths.
Pure logic: no Zarr here (storage/labels.py writes the labels into the cache).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from pipeline.errors import SourceError

LABEL_SPLITS = ("train", "val")
_INT16_MAX = np.iinfo(np.int16).max


class PhaseLabelError(SourceError):
    """A published label file (or folder) that cannot be used: names the path and the problem."""


@dataclass(frozen=True)
class LabelFile:
    video_id: str
    split: str
    action: str
    path: Path


def find_label_files(label_dir: str | Path) -> dict[str, LabelFile]:
    """video_id -> its label file, from LABEL_DIR/{train,val}/{action}/{video}.npy."""
    label_dir = Path(label_dir)
    if not label_dir.is_dir():
        raise PhaseLabelError(label_dir, "no such label folder")
    splits = [split for split in LABEL_SPLITS if (label_dir / split).is_dir()]
    if not splits:
        raise PhaseLabelError(label_dir, "neither train/ nor val/ here; expected LABEL_DIR/{train,val}/{action}/{video}.npy")
    files: dict[str, LabelFile] = {}
    for split in splits:
        for action_dir in sorted(p for p in (label_dir / split).iterdir() if p.is_dir()):
            for path in sorted(action_dir.glob("*.npy")):
                if not path.is_file():
                    continue
                if path.stem in files:
                    raise PhaseLabelError(path, f"video {path.stem} has a second label file (first: {files[path.stem].path})")
                files[path.stem] = LabelFile(path.stem, split, action_dir.name, path)
    return files


def read_label_file(path: str | Path, n_frames: int | None = None) -> np.ndarray:
    """(T,) int16 labels of one file; PhaseLabelError naming it when unusable or not n_frames long."""
    path = Path(path)
    try:
        labels = np.load(path, allow_pickle=False)
    except (OSError, ValueError, EOFError) as err:
        raise PhaseLabelError(path, f"unreadable label file ({type(err).__name__}: {err})") from err
    if labels.ndim == 2 and 1 in labels.shape:
        labels = labels.reshape(-1)
    if labels.ndim != 1 or labels.size == 0:
        raise PhaseLabelError(path, f"labels have shape {labels.shape}, expected (T,) per-frame phase labels")
    if labels.dtype.kind == "f":
        if not np.isfinite(labels).all() or not np.array_equal(labels, np.round(labels)):
            raise PhaseLabelError(path, "labels are floats that are not all whole numbers")
    elif labels.dtype.kind not in "iu":
        raise PhaseLabelError(path, f"labels are of type {labels.dtype}, expected integers")
    if labels.min() < -1 or labels.max() > _INT16_MAX:
        raise PhaseLabelError(path, f"labels range over [{labels.min()}, {labels.max()}], expected -1 (unknown) or 0 .. {_INT16_MAX}")
    if n_frames is not None and labels.shape[0] != n_frames:
        raise PhaseLabelError(path, f"{labels.shape[0]} labels, but the cached video has {n_frames} frames")
    return labels.astype(np.int16)


def load_published_labels(label_dir: str | Path, lengths: Mapping[str, int] | None = None) -> dict[str, np.ndarray]:
    """video_id -> (T,) int16 labels for every label file under LABEL_DIR.

    lengths: video_id -> number of frames of the cached video; a label file of another length raises
    PhaseLabelError naming the file (videos absent from `lengths` are not checked).
    """
    lengths = lengths or {}
    return {vid: read_label_file(f.path, lengths.get(vid)) for vid, f in find_label_files(label_dir).items()}

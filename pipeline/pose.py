"""`PoseSequence`: the one in-memory type every pose source produces."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from pipeline.errors import SourceError
from pipeline.layouts import Layout


@dataclass
class PoseSequence:
    """One video's 2D skeletons.

    keypoints: (T, K, 3) float32 -- x, y in source pixels (x = column, y = row), confidence c in
        [0, 1]; c = 0 marks a missing joint (its x, y are then meaningless).
    frame_size: (width, height) of the source frames in pixels.
    phases: (T,) int16 per-frame phase label, -1 where unknown; None when the source has none.
    warnings: things a person should know that did not stop the video (e.g. filled frame gaps).
    """

    video_id: str
    layout: Layout
    keypoints: np.ndarray
    frame_size: tuple[int, int]
    source_path: Path
    action: str | None = None
    split: str | None = None
    phases: np.ndarray | None = None
    warnings: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.keypoints = np.asarray(self.keypoints, dtype=np.float32)
        validate_keypoints(self.keypoints, self.layout, self.source_path)
        if self.phases is not None:
            self.phases = np.asarray(self.phases, dtype=np.int16)
            if self.phases.shape != (self.num_frames,):
                raise SourceError(
                    self.source_path,
                    f"phase labels have shape {self.phases.shape}, expected ({self.num_frames},)",
                )

    @property
    def num_frames(self) -> int:
        return int(self.keypoints.shape[0])


def validate_keypoints(keypoints: np.ndarray, layout: Layout, path: str | Path) -> None:
    """Raise `SourceError` naming `path` unless keypoints is a usable (T, K, 3) array for `layout`.

    Usable: T >= 1, K = layout.num_joints, every value finite, c in [0, 1], and at least one joint
    with c > 0 somewhere (an all-missing video has no crop box and nothing to learn from).
    """
    if keypoints.ndim != 3 or keypoints.shape[2] != 3:
        raise SourceError(path, f"keypoints have shape {keypoints.shape}, expected (T, K, 3)")
    if keypoints.shape[1] != layout.num_joints:
        raise SourceError(
            path, f"{keypoints.shape[1]} joints per frame, layout {layout.name} has {layout.num_joints}"
        )
    if keypoints.shape[0] == 0:
        raise SourceError(path, "empty video: no frames")
    bad = ~np.isfinite(keypoints)
    if bad.any():
        t, k, _ = np.argwhere(bad)[0]
        raise SourceError(
            path, f"{int(bad.any(axis=2).sum())} non-finite (NaN or infinite) keypoint values, first at frame {t}, joint {layout.joints[k]}"
        )
    conf = keypoints[..., 2]
    if conf.min() < 0 or conf.max() > 1:
        raise SourceError(path, f"confidence outside [0, 1] (min {conf.min():.3g}, max {conf.max():.3g})")
    if not (conf > 0).any():
        raise SourceError(path, "empty video: no joint with confidence > 0 in any frame")

"""The record every metric consumes: one video's frozen per-frame embeddings and phase labels."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["UNKNOWN_PHASE", "VideoEmbedding", "group_by_action", "single_action"]

UNKNOWN_PHASE = -1


@dataclass
class VideoEmbedding:
    """One video of one action in one split.

    embeddings: (T, D) float32, one row per frame.
    phases:     (T,) int, the phase (key-event interval) of each frame, 0..K-1; -1 = unknown.
    """

    video_id: str
    action: str
    split: str
    embeddings: np.ndarray
    phases: np.ndarray

    def __post_init__(self) -> None:
        self.embeddings = np.asarray(self.embeddings, dtype=np.float32)
        if self.phases is None:
            self.phases = np.full(len(self.embeddings), UNKNOWN_PHASE, dtype=np.int64)
        self.phases = np.asarray(self.phases).astype(np.int64)
        if self.embeddings.ndim != 2:
            raise ValueError(f"{self.video_id}: embeddings must be (T, D), got {self.embeddings.shape}")
        if self.phases.shape != (self.embeddings.shape[0],):
            raise ValueError(f"{self.video_id}: phases must be ({self.embeddings.shape[0]},), got {self.phases.shape}")

    @property
    def labelled(self) -> np.ndarray:
        """(T,) bool: frames whose phase is known."""
        return self.phases != UNKNOWN_PHASE

    @property
    def n_frames(self) -> int:
        return int(self.embeddings.shape[0])


def group_by_action(videos: list[VideoEmbedding]) -> dict[str, list[VideoEmbedding]]:
    """Videos per action, in first-seen order of the actions and input order within an action."""
    groups: dict[str, list[VideoEmbedding]] = {}
    for video in videos:
        groups.setdefault(video.action, []).append(video)
    return groups


def single_action(metric: str, *video_lists: list[VideoEmbedding]) -> None:
    """Raise ValueError unless all given videos belong to one action (phase ids are per action)."""
    actions = {v.action for videos in video_lists for v in videos}
    if len(actions) > 1:
        raise ValueError(f"{metric}: phase labels are per action; got videos of {sorted(actions)} "
                         "(evaluate one action at a time, e.g. with report.evaluate_all)")

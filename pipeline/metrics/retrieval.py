"""Fine-grained frame retrieval AP@K (CARL protocol).

For each labelled frame of each test video (the query), its K nearest frames in squared Euclidean
distance among the frames of all *other* test videos of the same action (never the query's own
video); precision = the share of those K whose phase equals the query's phase. The score is the
mean over the query frames of a video, then the mean over videos. Frames of unknown phase (-1)
are neither queries nor candidates (a neighbour without a label can be judged neither right nor
wrong). When fewer than K candidates exist, all of them are used (precision over that many).
Ties in distance at the K-th place are broken arbitrarily (`np.argpartition`). Videos of several
actions are handled per action; the video mean runs over all query videos. NaN if no video has a
labelled frame and a candidate.
"""

from __future__ import annotations

import numpy as np
from scipy.spatial.distance import cdist

from .types import VideoEmbedding, group_by_action

__all__ = ["FrameRetrieval", "video_precisions"]


def video_precisions(videos: list[VideoEmbedding], ks: tuple[int, ...]) -> np.ndarray:
    """(V', len(ks)) mean precision@K of each video of one action that has labelled query frames and
    labelled candidates in other videos (V' <= V rows, in input order)."""
    feats = [v.embeddings[v.labelled].astype(np.float64) for v in videos]
    labels = [v.phases[v.labelled] for v in videos]
    k_max = max(ks)
    rows = []
    for i, (query, query_labels) in enumerate(zip(feats, labels)):
        others = [j for j in range(len(videos)) if j != i]
        if len(query) == 0 or not others:
            continue
        cand = np.concatenate([feats[j] for j in others])
        cand_labels = np.concatenate([labels[j] for j in others])
        if len(cand) == 0:
            continue
        dist = cdist(query, cand, "sqeuclidean")  # (n_i, N)
        kk = min(k_max, len(cand))
        if kk < len(cand):
            top = np.argpartition(dist, kk - 1, axis=1)[:, :kk]
        else:
            top = np.broadcast_to(np.arange(len(cand)), (len(query), len(cand)))
        order = np.take_along_axis(dist, top, axis=1).argsort(axis=1, kind="stable")
        top = np.take_along_axis(top, order, axis=1)  # (n_i, kk) nearest first
        hits = cand_labels[top] == query_labels[:, None]
        rows.append([hits[:, :min(k, kk)].mean(axis=1).mean() for k in ks])
    return np.asarray(rows, dtype=np.float64).reshape(-1, len(ks))


class FrameRetrieval:
    """AP@K for each K in ks over the test videos (train is ignored).

    __call__(train, test) -> {str(K): precision in [0, 1] (NaN if undefined)}.
    """

    name = "ap"

    def __init__(self, ks: tuple[int, ...] = (5, 10, 15)) -> None:
        if not ks or min(ks) < 1:
            raise ValueError(f"ks must be positive integers, got {ks}")
        self.ks = tuple(int(k) for k in ks)

    def __call__(self, train: list[VideoEmbedding], test: list[VideoEmbedding]) -> dict[str, float]:
        per_video = [video_precisions(group, self.ks) for group in group_by_action(test).values()]
        per_video = np.concatenate(per_video) if per_video else np.zeros((0, len(self.ks)))
        if len(per_video) == 0:
            return {str(k): float("nan") for k in self.ks}
        means = per_video.mean(axis=0)
        return {str(k): float(m) for k, m in zip(self.ks, means)}

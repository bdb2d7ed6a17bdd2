"""Kendall's tau of nearest-neighbour alignments (TCC protocol).

For every ordered pair (i, j), i != j, of test videos of one action: take every `stride`-th frame
of both, find for each frame of i its nearest frame of j in squared Euclidean distance
(`cdist(..., "sqeuclidean")`, first index on ties, as `np.argmin`), and compute
`scipy.stats.kendalltau(arange(n_i), nn_index)` (tau-b). The metric is the mean over all pairs,
pairs with NaN (e.g. a constant nn index) dropped; NaN if no pair is left. Videos of several
actions are paired only within an action and the mean runs over all such pairs.

`tau_b_against_time` computes the same tau-b as scipy for many nn-index rows at once (the first
variable, time, has no ties), exactly as scipy's formula: (C - D) / sqrt(n0 * (n0 - n_ties)).
"""

from __future__ import annotations

import numpy as np
from scipy.spatial.distance import cdist

from .types import VideoEmbedding, group_by_action

__all__ = ["KendallsTau", "nearest_neighbour_indices", "tau_b_against_time"]

_CHUNK_ELEMENTS = 1 << 22  # rows * n * n per block in tau_b_against_time


def tau_b_against_time(nn: np.ndarray) -> np.ndarray:
    """(P,) float64 tau-b of each row of nn (P, n) against arange(n); NaN where undefined.

    Equal to `scipy.stats.kendalltau(np.arange(n), row).statistic` for every row."""
    nn = np.asarray(nn, dtype=np.int64)
    p, n = nn.shape
    out = np.full(p, np.nan)
    if n < 2:
        return out
    upper = np.triu(np.ones((n, n), dtype=bool), k=1)
    n0 = n * (n - 1) / 2.0
    step = max(1, _CHUNK_ELEMENTS // (n * n))
    for start in range(0, p, step):
        block = nn[start:start + step]
        diff = block[:, None, :] - block[:, :, None]  # [b, i, j] = y_j - y_i
        s = np.where(upper, np.sign(diff), 0).sum(axis=(1, 2)).astype(np.float64)
        ties = np.where(upper, diff == 0, False).sum(axis=(1, 2)).astype(np.float64)
        denom = n0 * (n0 - ties)
        with np.errstate(invalid="ignore", divide="ignore"):
            tau = np.where(denom > 0, s / np.sqrt(np.where(denom > 0, denom, 1.0)), np.nan)
        out[start:start + step] = np.clip(tau, -1.0, 1.0)
    return out


def nearest_neighbour_indices(query: np.ndarray, candidates: list[np.ndarray]) -> np.ndarray:
    """(J, n) int: for each candidate video j (L_j, D), the nearest frame of j of each query frame (n, D)."""
    lengths = [len(c) for c in candidates]
    dist = cdist(query, np.concatenate(candidates), "sqeuclidean")  # (n, sum L_j)
    offsets = np.concatenate([[0], np.cumsum(lengths)])
    return np.stack([dist[:, offsets[j]:offsets[j + 1]].argmin(axis=1) for j in range(len(candidates))])


class KendallsTau:
    """Mean Kendall's tau over ordered pairs of test videos of an action.

    __call__(train, test) -> float (train is ignored; NaN if no pair gives a defined tau).
    """

    name = "kendalls_tau"

    def __init__(self, stride: int = 1) -> None:
        if stride < 1:
            raise ValueError(f"stride must be >= 1, got {stride}")
        self.stride = int(stride)

    def pair_taus(self, videos: list[VideoEmbedding]) -> np.ndarray:
        """(V * (V - 1),) tau of the ordered pairs (i, j), i != j, of `videos` (one action), NaNs kept."""
        feats = [v.embeddings[::self.stride].astype(np.float64) for v in videos]
        taus = []
        for i, query in enumerate(feats):
            others = [f for j, f in enumerate(feats) if j != i]
            if not others or len(query) == 0:
                continue
            if any(len(f) == 0 for f in others):
                raise ValueError("a test video has no frames")
            taus.append(tau_b_against_time(nearest_neighbour_indices(query, others)))
        return np.concatenate(taus) if taus else np.zeros(0)

    def __call__(self, train: list[VideoEmbedding], test: list[VideoEmbedding]) -> float:
        taus = [self.pair_taus(group) for group in group_by_action(test).values()]
        taus = np.concatenate(taus) if taus else np.zeros(0)
        taus = taus[~np.isnan(taus)]
        return float(taus.mean()) if len(taus) else float("nan")

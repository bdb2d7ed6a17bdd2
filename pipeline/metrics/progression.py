"""Phase progression (TCC's "event completion" regression).

Per-frame targets, as `get_targets_from_labels` in the TCC code: with K phases 0..K-1 there are
K - 1 boundaries; for boundary k (k = 0..K-2) and a video of T frames,

    target_k(t) = (t - t_k) / T,   t_k = the last frame whose phase is k,

i.e. how far (in fractions of the video) frame t lies after the end of phase k. One ordinary least
squares regression (scikit-learn `LinearRegression`) per target is fitted on the training frames;
the score is the mean over targets of R^2 (`r2_score`, as `LinearRegression.score`) on the test
frames.

Absent phases (TCC's code fails on them): if phase k never occurs in a video, t_k is the last frame
of the nearest earlier phase that does occur (a zero-length phase ends where its predecessor ends);
if none earlier occurs, t_k = -1 (it ended just before the first frame). Frames of unknown phase
(-1) do not define boundaries and are left out of fitting and scoring; videos with no known phase
are skipped. K is `num_phases`, or else 1 + the largest phase seen in train and test.
"""

from __future__ import annotations

import numpy as np
from sklearn.linear_model import LinearRegression
from sklearn.metrics import r2_score

from .types import UNKNOWN_PHASE, VideoEmbedding, single_action

__all__ = ["PhaseProgression", "boundary_frames", "progress_targets"]


def boundary_frames(phases: np.ndarray, num_phases: int) -> np.ndarray:
    """(K - 1,) int: t_k for k = 0..K-2 under the absent-phase rule above. phases: (T,) int."""
    phases = np.asarray(phases)
    bounds = np.empty(max(num_phases - 1, 0), dtype=np.int64)
    previous = -1
    for k in range(num_phases - 1):
        where = np.flatnonzero(phases == k)
        previous = int(where[-1]) if len(where) else previous
        bounds[k] = previous
    return bounds


def progress_targets(phases: np.ndarray, num_phases: int) -> np.ndarray:
    """(T, K - 1) float64: target_k(t) = (t - t_k) / T for every frame t. phases: (T,) int."""
    t = len(phases)
    bounds = boundary_frames(phases, num_phases)
    return (np.arange(t, dtype=np.float64)[:, None] - bounds[None, :]) / t


class PhaseProgression:
    """Mean R^2 of linear regressions from frame embeddings to the phase-progress targets.

    __call__(train, test) -> float (NaN if there is no target, or no labelled train/test frame).
    train, test: videos of one action (ValueError otherwise).
    """

    name = "progression"

    def __init__(self, num_phases: int | None = None) -> None:
        self.num_phases = num_phases

    def _frames(self, videos: list[VideoEmbedding], k: int) -> tuple[np.ndarray, np.ndarray]:
        xs, ys = [], []
        for v in videos:
            mask = v.labelled
            if not mask.any():
                continue
            xs.append(v.embeddings[mask].astype(np.float64))
            ys.append(progress_targets(v.phases, k)[mask])
        if not xs:
            return np.zeros((0, 0)), np.zeros((0, max(k - 1, 0)))
        return np.concatenate(xs), np.concatenate(ys)

    def __call__(self, train: list[VideoEmbedding], test: list[VideoEmbedding]) -> float:
        single_action(self.name, train, test)
        k = self.num_phases
        if k is None:
            seen = [v.phases.max() for v in [*train, *test] if len(v.phases)]
            k = int(max(seen, default=UNKNOWN_PHASE)) + 1
        if k < 2:
            return float("nan")
        x_train, y_train = self._frames(train, k)
        x_test, y_test = self._frames(test, k)
        if len(x_train) == 0 or len(x_test) == 0:
            return float("nan")
        # Multi-output OLS fits each target independently: identical to one regression per target.
        model = LinearRegression().fit(x_train, y_train)
        scores = r2_score(y_test, model.predict(x_test), multioutput="raw_values")
        return float(np.mean(scores))

"""Fine-grained phase classification (TCC / CASA / CARL protocol).

An RBF SVM (scikit-learn `SVC(decision_function_shape="ovo")`, default C and gamma, as in the TCC
reference code) is fitted on the per-frame embeddings of the labelled training videos and scored
by its accuracy on every labelled frame of the test videos, in percent.

Which training videos are "labelled" for a fraction f: of the n training videos that carry at least
one known phase, the first `max(1, int(f * n))` of one seeded permutation
`numpy.random.default_rng(seed).permutation(n)` (input order before permuting). The same
permutation serves every fraction, so the subsets are nested (10 % within 50 % within 100 %).
Frames whose phase is -1 (unknown) are left out of training and of scoring.

`standardize=True` (an option, off by default: the reference code does not) first scales every
embedding dimension to zero mean and unit variance over the training frames. It matters when the
embeddings vary little around a large common offset: SVC's default gamma="scale" is
1 / (D * X.var()) with X.var() over all values, offsets included, so the kernel is then nearly
constant and the SVM predicts the majority phase (seen on LA2DS encoder outputs of real Penn squat).

A training subset holding a single phase cannot be fitted (SVC refuses one class); every test frame
is then predicted as that phase. No labelled training or test frame at all gives NaN.
"""

from __future__ import annotations

import numpy as np
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC

from .types import VideoEmbedding, single_action

__all__ = ["PhaseClassification", "fraction_key", "select_training_videos"]


def fraction_key(fraction: float) -> str:
    """The report key of a fraction: 0.1 -> "0.1", 1 -> "1.0"."""
    return str(float(fraction))


def select_training_videos(n: int, fraction: float, seed: int = 0) -> np.ndarray:
    """Indices (into the n labelled training videos) of the ones used at `fraction`.

    Returns the first `max(1, int(fraction * n))` entries of `default_rng(seed).permutation(n)`
    (an empty array when n == 0)."""
    if not 0.0 < fraction <= 1.0:
        raise ValueError(f"fraction must lie in (0, 1], got {fraction}")
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    count = max(1, int(fraction * n))
    return np.random.default_rng(seed).permutation(n)[:count]


def _labelled_frames(videos: list[VideoEmbedding]) -> tuple[np.ndarray, np.ndarray]:
    """(N, D) float64 embeddings and (N,) phases of the labelled frames of `videos`."""
    if not videos:
        return np.zeros((0, 0)), np.zeros(0, dtype=np.int64)
    x = np.concatenate([v.embeddings[v.labelled] for v in videos]).astype(np.float64)
    y = np.concatenate([v.phases[v.labelled] for v in videos])
    return x, y


class PhaseClassification:
    """Per-frame phase classification accuracy (percent) with a fraction of training videos labelled.

    __call__(train, test) -> {fraction_key(f): accuracy in percent (float, NaN if undefined)}.
    train, test: videos of one action (ValueError otherwise).
    """

    name = "classification"

    def __init__(self, fractions: tuple[float, ...] = (0.1, 0.5, 1.0), seed: int = 0, standardize: bool = False) -> None:
        for f in fractions:
            if not 0.0 < f <= 1.0:
                raise ValueError(f"fraction must lie in (0, 1], got {f}")
        self.fractions = tuple(float(f) for f in fractions)
        self.seed = seed
        self.standardize = standardize

    def __call__(self, train: list[VideoEmbedding], test: list[VideoEmbedding]) -> dict[str, float]:
        single_action(self.name, train, test)
        labelled_train = [v for v in train if v.labelled.any()]
        x_test, y_test = _labelled_frames(test)
        out: dict[str, float] = {}
        for f in self.fractions:
            chosen = select_training_videos(len(labelled_train), f, self.seed)
            x_train, y_train = _labelled_frames([labelled_train[i] for i in chosen])
            out[fraction_key(f)] = self.accuracy(x_train, y_train, x_test, y_test, self.standardize)
        return out

    @staticmethod
    def accuracy(x_train: np.ndarray, y_train: np.ndarray, x_test: np.ndarray, y_test: np.ndarray,
                 standardize: bool = False) -> float:
        """Accuracy in percent of an SVC fitted on (x_train (N, D), y_train (N,)) on (x_test (M, D), y_test (M,)).

        standardize: scale each embedding dimension to zero mean and unit variance over the training
        frames first (an option, not the reference protocol; see the module docstring)."""
        if len(y_train) == 0 or len(y_test) == 0:
            return float("nan")
        if standardize:
            scaler = StandardScaler().fit(x_train)
            x_train, x_test = scaler.transform(x_train), scaler.transform(x_test)
        classes = np.unique(y_train)
        if len(classes) == 1:
            predicted = np.full(len(y_test), classes[0])
        else:
            predicted = SVC(decision_function_shape="ovo").fit(x_train, y_train).predict(x_test)
        return float(100.0 * np.mean(predicted == y_test))

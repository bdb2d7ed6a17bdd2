"""Skeleton augmentation with known frame correspondences (the self-supervised training signal).

From an original skeleton sequence S (M frames of grid keypoints) make S' (N frames) and the
ground-truth index i_gt(j) in S of every frame j of S':

- temporal:    keep N of the M frames as a random sorted subset (speed change), p = 0.5;
- position:    Gaussian noise, sigma 1 heatmap pixel, on every present joint, p = 0.3;
- orientation: rotate one limb chain about its proximal joint by an angle ~ N(0, 0.1 rad), p = 0.3;
- flip:        mirror x (x -> size - 1 - x) and swap left/right joints, p = 0.3.

RGB frames (modality "rgb" / "rgb+pose", `storage.dataset.AlignmentPairs`) follow the pose side:
the frames at the same indices (gt_index), mirrored exactly when the pose was flipped
(`flip_rgb`), and a photometric jitter (`rgb_jitter`) drawn once per sequence: brightness
offset b ~ U(-brightness, +brightness) (fraction of full scale, default +-0.2, i.e. +-51 of 255),
contrast factor c ~ U(1 - contrast, 1 + contrast) (default 0.8..1.2) about the sequence's mean
intensity: out = clip((x - mean) * c + mean + b, 0, 1), rounded back to uint8.

Keypoints are grid keypoints `(M, K, 3) float32`: x = column, y = row in the S x S heatmap grid
(pixel centres 0..S-1), c = confidence; c = 0 marks a missing joint, whose x, y are 0. Every
function here keeps missing joints missing (c = 0, x = y = 0) and never changes c.

All randomness comes from a `numpy.random.Generator` passed in; the same generator state gives the
same output. Pure numpy (the augmented heatmaps are rendered later by the torch renderer).

Two levels of API:
- plain functions (`temporal_subsample`, `add_position_noise`, `rotate_chain`, `horizontal_flip`,
  `drop_chains`) that do one thing, deterministic where they can be (`rotate_chain` takes the
  angle, `horizontal_flip` takes no rng);
- pyskl-style callables (`TemporalSubsample`, `PositionNoise`, `RotateChain`, `HorizontalFlip`)
  that apply one augmentation with a probability to an `Augmented` sample, composed by `augment`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from pipeline.heatmaps import flip_grid_keypoints
from pipeline.layouts import Layout

__all__ = [
    "AugmentConfig", "Augmented", "TemporalSubsample", "PositionNoise", "RotateChain", "HorizontalFlip",
    "build_transforms", "augment", "temporal_subsample", "add_position_noise", "rotate_chain",
    "horizontal_flip", "drop_chains", "rgb_jitter", "flip_rgb",
]


class AugmentConfig(BaseModel):
    """Probabilities and parameters of the training augmentations (defaults from the paper)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    temporal_p: float = Field(0.5, ge=0.0, le=1.0, description="probability of the temporal subsample")
    min_keep_fraction: float = Field(0.5, gt=0.0, le=1.0, description="N >= ceil(fraction * M)")
    min_frames: int = Field(2, ge=1, description="N >= min_frames (sequences shorter are kept whole)")
    position_p: float = Field(0.3, ge=0.0, le=1.0, description="probability of the position noise")
    position_sigma: float = Field(1.0, ge=0.0, description="noise sigma in heatmap pixels")
    rotation_p: float = Field(0.3, ge=0.0, le=1.0, description="probability of the chain rotation")
    rotation_sigma: float = Field(0.1, ge=0.0, description="rotation angle ~ N(0, sigma) radians")
    rotation_chains: tuple[str, ...] | None = Field(
        None, description="layout chain names to choose from; None = every chain of the layout"
    )
    flip_p: float = Field(0.3, ge=0.0, le=1.0, description="probability of the horizontal flip")
    brightness: float = Field(0.2, ge=0.0, le=1.0, description="RGB: offset ~ U(-b, b), fraction of full scale")
    contrast: float = Field(0.2, ge=0.0, lt=1.0, description="RGB: factor ~ U(1 - c, 1 + c) about the mean")

    @classmethod
    def identity(cls) -> "AugmentConfig":
        """Every probability 0 (and no RGB jitter): `augment` returns the input unchanged with gt = arange(M)."""
        return cls(temporal_p=0.0, position_p=0.0, rotation_p=0.0, flip_p=0.0, brightness=0.0, contrast=0.0)


@dataclass(frozen=True)
class Augmented:
    """An augmented sequence S' and its correspondences to the original S.

    keypoints: (N, K, 3) float32 grid keypoints of S'.
    gt_index:  (N,) int64, gt_index[j] = index in S of frame j of S' (sorted, unique, in [0, M)).
    applied:   augmentation name ("temporal", "position", "rotation", "flip") -> whether it ran.
    params:    what the augmentations drew (e.g. "num_frames", "chain", "angle"), for tests and logs.
    """

    keypoints: np.ndarray
    gt_index: np.ndarray
    applied: dict[str, bool] = field(default_factory=dict)
    params: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def original(cls, keypoints: np.ndarray) -> "Augmented":
        """The unaugmented sequence: a float32 copy of (M, K, 3) keypoints, gt = arange(M)."""
        kp = _as_keypoints(keypoints)
        return cls(keypoints=kp, gt_index=np.arange(len(kp), dtype=np.int64))

    @property
    def num_frames(self) -> int:
        return int(self.keypoints.shape[0])

    def _with(self, name: str, applied: bool, keypoints=None, gt_index=None, **params) -> "Augmented":
        return replace(
            self,
            keypoints=self.keypoints if keypoints is None else keypoints,
            gt_index=self.gt_index if gt_index is None else gt_index,
            applied={**self.applied, name: applied},
            params={**self.params, **params},
        )


def _as_keypoints(keypoints: np.ndarray) -> np.ndarray:
    kp = np.array(keypoints, dtype=np.float32, copy=True)
    if kp.ndim != 3 or kp.shape[-1] != 3:
        raise ValueError(f"keypoints must be (frames, joints, 3), got {kp.shape}")
    return kp


# --------------------------------------------------------------------------------------------
# Plain functions
# --------------------------------------------------------------------------------------------


def temporal_subsample(
    keypoints: np.ndarray, rng: np.random.Generator, min_keep_fraction: float = 0.5, min_frames: int = 2
) -> tuple[np.ndarray, np.ndarray]:
    """Keep N of the M frames as a random sorted subset (a speed change).

    keypoints: (M, K, 3). N is drawn uniformly from [max(min_frames, ceil(min_keep_fraction * M)), M]
    (inclusive); a sequence with M <= min_frames is kept whole.
    Returns (keypoints[index] (N, K, 3) float32, index (N,) int64 sorted, unique, in [0, M)).
    """
    kp = _as_keypoints(keypoints)
    m = len(kp)
    if m <= min_frames:
        index = np.arange(m, dtype=np.int64)
        return kp, index
    low = min(m, max(min_frames, math.ceil(min_keep_fraction * m)))
    n = int(rng.integers(low, m + 1))
    index = np.sort(rng.choice(m, size=n, replace=False)).astype(np.int64)
    return kp[index], index


def add_position_noise(keypoints: np.ndarray, rng: np.random.Generator, sigma: float = 1.0) -> np.ndarray:
    """Independent N(0, sigma^2) noise (heatmap pixels) on x and y of every present joint.

    keypoints: (..., K, 3). Missing joints (c <= 0) are returned unchanged; c is never changed.
    Returns (..., K, 3) float32.
    """
    kp = np.array(keypoints, dtype=np.float32, copy=True)
    present = kp[..., 2] > 0
    noise = rng.normal(0.0, sigma, size=kp.shape[:-1] + (2,))
    kp[..., :2] = np.where(present[..., None], kp[..., :2] + noise, kp[..., :2]).astype(np.float32)
    return kp


def rotate_chain(keypoints: np.ndarray, chain: Sequence[int], angle: float) -> np.ndarray:
    """Rotate the joints chain[1:] about the proximal joint chain[0], per frame, by `angle` radians.

    keypoints: (..., K, 3). In grid coordinates (x = column, y = row, rows pointing down) a
    positive angle turns +x towards +y: (x, y) - p -> (cos a dx - sin a dy, sin a dx + cos a dy),
    i.e. clockwise on screen. A rigid rotation: every distance within the chain (so every bone
    length) is preserved. Frames whose proximal joint is missing are left alone; missing distal
    joints stay missing; joints outside the chain are untouched.
    Returns (..., K, 3) float32.
    """
    kp = np.array(keypoints, dtype=np.float32, copy=True)
    chain = [int(j) for j in chain]
    if len(chain) < 2:
        raise ValueError(f"a chain needs a proximal joint and at least one more, got {chain}")
    proximal, distal = chain[0], chain[1:]
    pivot = kp[..., proximal, :2].astype(np.float64)[..., None, :]  # (..., 1, 2)
    pts = kp[..., distal, :].astype(np.float64)  # (..., D, 3)
    d = pts[..., :2] - pivot
    cos, sin = math.cos(angle), math.sin(angle)
    rotated = np.stack([cos * d[..., 0] - sin * d[..., 1], sin * d[..., 0] + cos * d[..., 1]], axis=-1) + pivot
    move = (kp[..., proximal, 2] > 0)[..., None] & (pts[..., 2] > 0)  # (..., D)
    kp[..., distal, :2] = np.where(move[..., None], rotated, pts[..., :2]).astype(np.float32)
    return kp


def horizontal_flip(keypoints: np.ndarray, layout: Layout, size: int = 30) -> np.ndarray:
    """Mirror x (x -> size - 1 - x for present joints) and swap the layout's left/right joints.

    keypoints: (..., K, 3). Its own inverse. Returns (..., K, 3) float32.
    """
    return flip_grid_keypoints(keypoints, layout.flip_permutation, size)


def drop_chains(
    keypoints: np.ndarray,
    layout: Layout,
    rng: np.random.Generator,
    p: float,
    chains: Sequence[str] | None = None,
) -> tuple[np.ndarray, list[str | None]]:
    """Per frame, with probability p, make every joint of one random limb chain missing.

    A robustness-test corruption (e.g. an occluded arm): all joints of the chosen chain, the
    proximal one included, get c = 0, x = y = 0. keypoints: (M, K, 3); chains: names from
    `layout.chains` to choose from (None = all of them).
    Returns (keypoints (M, K, 3) float32, dropped: per frame the dropped chain's name or None).
    """
    kp = _as_keypoints(keypoints)
    names = list(layout.chains) if chains is None else list(chains)
    unknown = [n for n in names if n not in layout.chains]
    if unknown:
        raise ValueError(f"layout {layout.name} has no chains {unknown}; known: {list(layout.chains)}")
    dropped: list[str | None] = [None] * len(kp)
    if not names or p <= 0:
        return kp, dropped
    hit = rng.random(len(kp)) < p
    choice = rng.integers(0, len(names), size=len(kp))
    for t in np.flatnonzero(hit):
        name = names[choice[t]]
        kp[t, list(layout.chains[name])] = 0.0
        dropped[t] = name
    return kp, dropped


def flip_rgb(frames: np.ndarray) -> np.ndarray:
    """Mirror RGB frames (..., H, W) left-right (the image counterpart of `horizontal_flip`: the
    cached crop is the pose crop box, so column x goes to W - 1 - x like the keypoints)."""
    return np.ascontiguousarray(frames[..., ::-1])


def rgb_jitter(
    frames: np.ndarray, rng: np.random.Generator, brightness: float = 0.2, contrast: float = 0.2
) -> tuple[np.ndarray, dict[str, float]]:
    """Brightness and contrast jitter of a sequence of uint8 RGB frames (N, 3, H, W), one draw per sequence.

    b ~ U(-brightness, brightness), c ~ U(1 - contrast, 1 + contrast);
    out = clip((x / 255 - mean) * c + mean + b, 0, 1) * 255 rounded, mean = the mean of x / 255 over
    the whole sequence. Returns (uint8 frames, {"brightness": b, "contrast": c}).
    """
    b = float(rng.uniform(-brightness, brightness)) if brightness > 0 else 0.0
    c = float(rng.uniform(1.0 - contrast, 1.0 + contrast)) if contrast > 0 else 1.0
    params = {"brightness": b, "contrast": c}
    if b == 0.0 and c == 1.0:
        return np.array(frames, dtype=np.uint8, copy=True), params
    x = frames.astype(np.float32) / 255.0
    mean = float(x.mean()) if x.size else 0.0
    out = np.clip((x - mean) * c + mean + b, 0.0, 1.0)
    return np.rint(out * 255.0).astype(np.uint8), params


# --------------------------------------------------------------------------------------------
# pyskl-style transforms: callables (sample, rng) -> sample, each with its own probability
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TemporalSubsample:
    """With probability p, keep a random sorted subset of the frames; updates gt_index."""

    p: float = 0.5
    min_keep_fraction: float = 0.5
    min_frames: int = 2

    def __call__(self, sample: Augmented, rng: np.random.Generator) -> Augmented:
        if not rng.random() < self.p:
            return sample._with("temporal", False)
        kp, index = temporal_subsample(sample.keypoints, rng, self.min_keep_fraction, self.min_frames)
        return sample._with("temporal", True, kp, sample.gt_index[index], num_frames=len(index))


@dataclass(frozen=True)
class PositionNoise:
    """With probability p, add N(0, sigma^2) noise to every present joint."""

    p: float = 0.3
    sigma: float = 1.0

    def __call__(self, sample: Augmented, rng: np.random.Generator) -> Augmented:
        if not rng.random() < self.p:
            return sample._with("position", False)
        return sample._with("position", True, add_position_noise(sample.keypoints, rng, self.sigma))


@dataclass(frozen=True)
class RotateChain:
    """With probability p, rotate one random chain of `chains` (name -> joint indices) by N(0, sigma)."""

    chains: dict[str, tuple[int, ...]]
    p: float = 0.3
    sigma: float = 0.1

    def __call__(self, sample: Augmented, rng: np.random.Generator) -> Augmented:
        if not rng.random() < self.p or not self.chains:
            return sample._with("rotation", False)
        names = list(self.chains)
        name = names[int(rng.integers(len(names)))]
        angle = float(rng.normal(0.0, self.sigma))
        kp = rotate_chain(sample.keypoints, self.chains[name], angle)
        return sample._with("rotation", True, kp, chain=name, angle=angle)


@dataclass(frozen=True)
class HorizontalFlip:
    """With probability p, mirror x and swap left/right joints."""

    flip_permutation: tuple[int, ...]
    p: float = 0.3
    size: int = 30

    def __call__(self, sample: Augmented, rng: np.random.Generator) -> Augmented:
        if not rng.random() < self.p:
            return sample._with("flip", False)
        return sample._with("flip", True, flip_grid_keypoints(sample.keypoints, self.flip_permutation, self.size))


def build_transforms(layout: Layout, config: AugmentConfig | None = None, size: int = 30) -> list:
    """The transforms of `augment`, in order: temporal, position, rotation, flip."""
    config = config or AugmentConfig()
    names = layout.chains if config.rotation_chains is None else config.rotation_chains
    unknown = [n for n in names if n not in layout.chains]
    if unknown:
        raise ValueError(f"layout {layout.name} has no chains {unknown}; known: {list(layout.chains)}")
    return [
        TemporalSubsample(config.temporal_p, config.min_keep_fraction, config.min_frames),
        PositionNoise(config.position_p, config.position_sigma),
        RotateChain({n: tuple(layout.chains[n]) for n in names}, config.rotation_p, config.rotation_sigma),
        HorizontalFlip(tuple(layout.flip_permutation), config.flip_p, size),
    ]


def augment(
    keypoints: np.ndarray,
    layout: Layout,
    rng: np.random.Generator,
    config: AugmentConfig | None = None,
    size: int = 30,
) -> Augmented:
    """Make S' and its ground-truth indices from S: temporal, position, rotation, flip, in that order.

    keypoints: (M, K, 3) grid keypoints of S (K = layout.num_joints). Returns an `Augmented` with
    keypoints (N, K, 3) float32, gt_index (N,) int64 and what was applied. Same rng state, same result.
    """
    sample = Augmented.original(keypoints)
    if sample.keypoints.shape[1] != layout.num_joints:
        raise ValueError(
            f"keypoints have {sample.keypoints.shape[1]} joints, layout {layout.name} has {layout.num_joints}"
        )
    for transform in build_transforms(layout, config, size):
        sample = transform(sample, rng)
    return sample

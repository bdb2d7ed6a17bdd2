"""Crop box, heatmap-grid mapping and the joint + limb Gaussian heatmaps (paper eq. 1 and 2).

Convention (recorded with the cached data): in the S x S heatmap grid, x = column and y = row,
pixel centres at integers 0..S-1.

    joint k:      H[t, k, row, col] = exp(-((col - x_k)^2 + (row - y_k)^2) / (2 sigma^2)) * c_k
    limb (a, b):  H[t, K + l, row, col] = exp(-d2((col, row), segment a-b) / (2 sigma^2)) * min(c_a, c_b)

where d2 is the squared distance to the segment (to the nearest end point beyond its ends).
Channels: K joints, then L limbs in layout order. A missing joint (c = 0) gives a zero map, and so
does every limb touching it. Maps are rendered directly on the S x S grid, never at frame size.

Three renderers share this definition:
- `render_heatmaps_reference`: plain numpy, a loop over frames and channels (the yardstick);
- `render_heatmaps_torch`: batched torch, CPU or GPU, any leading batch shape (training path);
- `pipeline.heatmap_kernel.render_heatmaps_fast`: compiled windowed CPU kernel (bulk preprocessing).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

# Bumped whenever rendering output changes for the same inputs (recorded in the cache).
RENDERER_VERSION = "1"


class HeatmapSettings(BaseModel):
    """How keypoints become heatmaps; everything here is recorded in the cache and its params hash.

    sigma = 1.0 heatmap pixel by default: on a 30x30 grid a body is ~28 px tall and a forearm
    ~3-5 px long, so sigma 1 keeps neighbouring joints apart (maps overlap below 1 %
    at 6 px) while every map still covers a 5x5 neighbourhood with signal.
    margin = 1.0 heatmap pixel between the crop box and the grid border, so that a joint on the
    box edge keeps the inner half of its Gaussian plus one pixel of the outer half.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    size: int = Field(30, ge=4, le=256, description="heatmap side S (pixels)")
    sigma: float = Field(1.0, gt=0.0, le=10.0, description="Gaussian sigma in heatmap pixels")
    margin: float = Field(1.0, ge=0.0, description="heatmap pixels between crop box and grid border")


@dataclass(frozen=True)
class CropBox:
    """Smallest box [x0, y0, x1, y1] (source pixels) holding every joint with c > 0 of a video."""

    x0: float
    y0: float
    x1: float
    y1: float

    def as_list(self) -> list[float]:
        return [self.x0, self.y0, self.x1, self.y1]


def crop_box(keypoints: np.ndarray) -> CropBox:
    """keypoints: (T, K, 3). Raises ValueError if no joint has c > 0."""
    confident = keypoints[..., 2] > 0
    if not confident.any():
        raise ValueError("no joint with confidence > 0: no crop box")
    xy = keypoints[..., :2][confident]
    x0, y0 = xy.min(axis=0)
    x1, y1 = xy.max(axis=0)
    return CropBox(float(x0), float(y0), float(x1), float(y1))


@dataclass(frozen=True)
class GridMapping:
    """Uniform scale + offset from source pixels to heatmap grid: grid = source * scale + offset.

    The aspect ratio is kept (one scale for x and y) and the box is centred in the grid with
    `margin` pixels on its longer side. A degenerate box (a single point, or zero extent) uses
    scale 1 and lands in the grid centre.
    """

    scale: float
    offset_x: float
    offset_y: float

    @classmethod
    def fit(cls, box: CropBox, settings: HeatmapSettings) -> "GridMapping":
        span = settings.size - 1 - 2 * settings.margin
        width, height = box.x1 - box.x0, box.y1 - box.y0
        extent = max(width, height)
        scale = span / extent if extent > 1e-6 and span > 0 else 1.0
        centre = (settings.size - 1) / 2
        return cls(
            scale=float(scale),
            offset_x=float(centre - (box.x0 + width / 2) * scale),
            offset_y=float(centre - (box.y0 + height / 2) * scale),
        )

    def to_grid(self, keypoints: np.ndarray) -> np.ndarray:
        """keypoints: (..., K, 3) source pixels -> (..., K, 3) float32 grid coordinates, same c.

        Missing joints (c = 0) get x = y = 0.
        """
        out = np.array(keypoints, dtype=np.float32, copy=True)
        out[..., 0] = keypoints[..., 0] * self.scale + self.offset_x
        out[..., 1] = keypoints[..., 1] * self.scale + self.offset_y
        out[..., :2][out[..., 2] <= 0] = 0.0
        return out

    def to_source(self, grid_keypoints: np.ndarray) -> np.ndarray:
        """Inverse of `to_grid` (missing joints stay meaningless)."""
        out = np.array(grid_keypoints, dtype=np.float32, copy=True)
        out[..., 0] = (grid_keypoints[..., 0] - self.offset_x) / self.scale
        out[..., 1] = (grid_keypoints[..., 1] - self.offset_y) / self.scale
        return out


def _segment_distance2(px: np.ndarray, py: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Squared distance from points (px, py) to segment a-b (a, b: (2,) arrays)."""
    dx, dy = b[0] - a[0], b[1] - a[1]
    length2 = dx * dx + dy * dy
    if length2 > 0:
        t = np.clip(((px - a[0]) * dx + (py - a[1]) * dy) / length2, 0.0, 1.0)
    else:
        t = np.zeros_like(px)
    return (px - a[0] - t * dx) ** 2 + (py - a[1] - t * dy) ** 2


def render_heatmaps_reference(
    grid_keypoints: np.ndarray, limbs: np.ndarray, size: int = 30, sigma: float = 1.0
) -> np.ndarray:
    """Plain per-frame, per-channel numpy evaluation of eq. 1 and 2 on the full grid.

    grid_keypoints: (T, K, 3) grid coordinates + confidence; limbs: (L, 2) int.
    Returns (T, K + L, size, size) float32.
    """
    grid_keypoints = np.asarray(grid_keypoints, dtype=np.float64)
    limbs = np.asarray(limbs, dtype=np.int64).reshape(-1, 2)
    num_frames, num_joints, _ = grid_keypoints.shape
    rows, cols = np.mgrid[0:size, 0:size].astype(np.float64)
    out = np.zeros((num_frames, num_joints + len(limbs), size, size), dtype=np.float32)
    two_sigma2 = 2.0 * sigma * sigma
    for t in range(num_frames):
        frame = grid_keypoints[t]
        for k in range(num_joints):
            x, y, c = frame[k]
            if c > 0:
                out[t, k] = np.exp(-((cols - x) ** 2 + (rows - y) ** 2) / two_sigma2) * c
        for l, (a, b) in enumerate(limbs):
            c = min(frame[a, 2], frame[b, 2])
            if c > 0:
                d2 = _segment_distance2(cols, rows, frame[a, :2], frame[b, :2])
                out[t, num_joints + l] = np.exp(-d2 / two_sigma2) * c
    return out


def render_heatmaps_torch(grid_keypoints, limbs, size: int = 30, sigma: float = 1.0, chunk: int = 64):
    """Batched torch renderer (CPU or GPU, differentiable in the keypoints).

    grid_keypoints: (..., K, 3) tensor (any leading shape: (T,), (B, T), ...); limbs: (L, 2) long
    tensor or array. Returns (..., K + L, size, size) on the keypoints' device and dtype.
    Work is split in chunks of `chunk` frames: small temporaries stay in cache (about 4x faster on
    CPU than one call over thousands of frames).
    """
    import torch

    kp = torch.as_tensor(grid_keypoints)
    if not kp.is_floating_point():
        kp = kp.float()
    limbs_t = torch.as_tensor(np.asarray(limbs), dtype=torch.long, device=kp.device).reshape(-1, 2)
    lead = kp.shape[:-2]
    flat = kp.reshape(-1, kp.shape[-2], 3)
    channels = kp.shape[-2] + limbs_t.shape[0]
    out = flat.new_empty((flat.shape[0], channels, size, size))
    axis = torch.arange(size, device=kp.device, dtype=kp.dtype)
    for start in range(0, flat.shape[0], chunk):
        out[start : start + chunk] = _render_chunk_torch(flat[start : start + chunk], limbs_t, axis, sigma)
    return out.reshape(*lead, channels, size, size)


def _render_chunk_torch(kp, limbs, axis, sigma: float):
    """kp: (N, K, 3); limbs: (L, 2); axis: (S,). Returns (N, K + L, S, S)."""
    import torch

    two_sigma2 = 2.0 * sigma * sigma
    x, y, c = kp[..., 0], kp[..., 1], kp[..., 2]
    # Joints (eq. 1), separable: exp(-dx^2/2s^2) * exp(-dy^2/2s^2).
    gx = torch.exp(-((axis - x[..., None]) ** 2) / two_sigma2)  # (N, K, S) over columns
    gy = torch.exp(-((axis - y[..., None]) ** 2) / two_sigma2)  # (N, K, S) over rows
    joints = gy[..., :, None] * gx[..., None, :] * c.clamp(min=0)[..., None, None]
    if limbs.numel() == 0:
        return joints
    # Limbs (eq. 2): squared distance of every pixel to every segment.
    a, b = kp[:, limbs[:, 0], :2], kp[:, limbs[:, 1], :2]  # (N, L, 2)
    d = b - a
    length2 = (d * d).sum(-1)  # (N, L)
    px = axis[None, None, None, :] - a[..., 0, None, None]  # (N, L, 1, S): col - a_x
    py = axis[None, None, :, None] - a[..., 1, None, None]  # (N, L, S, 1): row - a_y
    dx, dy = d[..., 0, None, None], d[..., 1, None, None]
    safe_length2 = torch.where(length2 > 0, length2, torch.ones_like(length2))[..., None, None]
    t = ((px * dx + py * dy) / safe_length2).clamp(0.0, 1.0)
    d2 = (px - t * dx) ** 2 + (py - t * dy) ** 2
    limb_c = torch.minimum(c[:, limbs[:, 0]], c[:, limbs[:, 1]]).clamp(min=0)
    limb_maps = torch.exp(-d2 / two_sigma2) * limb_c[..., None, None]
    return torch.cat([joints, limb_maps], dim=1)


def flip_grid_keypoints(grid_keypoints: np.ndarray, flip_permutation, size: int = 30) -> np.ndarray:
    """Horizontal flip in grid coordinates: x -> (size - 1) - x, then swap left/right joints.

    grid_keypoints: (..., K, 3). Missing joints stay missing (x = 0).
    """
    out = np.array(grid_keypoints, dtype=np.float32, copy=True)
    present = out[..., 2] > 0
    out[..., 0] = np.where(present, (size - 1) - out[..., 0], 0.0)
    return out[..., list(flip_permutation), :]

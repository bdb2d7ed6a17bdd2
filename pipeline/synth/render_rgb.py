"""RGB videos of synthetic skeletons, so that the RGB path runs without downloads.

Rules (every random choice comes from a Generator seeded by (seed, crc32(video_id), 2), so a video
renders the same way every time):
- Frame size: the video's frame_size (width, height); T frames, one per pose frame.
- Skeleton: the 2D keypoints (keypoints2d, pixels) of the video's layout (penn_action by default).
  A joint missing from the observation (c = 0) is drawn where linear interpolation in time between
  its observed frames puts it (the body is still there; only the annotation lacks it); a joint never
  observed, and the limbs touching it, are not drawn.
- Limbs: cv2.line, anti-aliased, thickness 6-10 px (per video), each limb its own saturated colour
  (fixed palette by limb index); joints: filled circles of radius ~0.7 x thickness, lighter colour.
- Background, per video: smooth random noise, a linear two-colour gradient or sinusoidal stripes
  (random colours in a muted range, random angle / period), plus a faint fine-grained texture.
- Camera noise: Gaussian, sigma 2-6 grey levels (per video), different in every frame (two noise
  fields, each frame takes one rolled by a random offset: much cheaper than fresh draws); clipped.
- Files: <out>/<video_id>.mp4 (or a given name), cv2.VideoWriter with the mp4v codec, 30 fps.
"""

from __future__ import annotations

import colorsys
import zlib
from pathlib import Path

import numpy as np

from pipeline.layouts import get_layout
from pipeline.synth.motion import SyntheticVideo

FPS = 30.0


def _rng(video: SyntheticVideo, seed: int) -> np.random.Generator:
    return np.random.default_rng([seed, zlib.crc32(video.video_id.encode()), 2])


def limb_colours(count: int) -> list[tuple[int, int, int]]:
    """`count` distinct saturated RGB colours (hues spread evenly, alternating brightness)."""
    colours = []
    for i in range(count):
        r, g, b = colorsys.hsv_to_rgb((i * 0.618034) % 1.0, 0.95, 1.0 if i % 2 == 0 else 0.8)
        colours.append((int(r * 255), int(g * 255), int(b * 255)))
    return colours


def background(width: int, height: int, rng: np.random.Generator) -> np.ndarray:
    """(H, W, 3) uint8 RGB textured background: smooth noise, gradient or stripes."""
    import cv2

    kind = rng.integers(3)
    colours = rng.uniform(40, 200, (2, 3))
    if kind == 0:  # smooth noise
        cell = rng.uniform(16, 48)
        small = rng.uniform(40, 210, (int(height / cell) + 2, int(width / cell) + 2, 3)).astype(np.float32)
        image = cv2.resize(small, (width, height), interpolation=cv2.INTER_CUBIC)
    else:
        angle = rng.uniform(0, np.pi)
        rows, cols = np.mgrid[0:height, 0:width].astype(np.float32)
        along = cols * np.cos(angle) + rows * np.sin(angle)
        if kind == 1:  # gradient
            u = (along - along.min()) / max(float(np.ptp(along)), 1.0)
        else:  # stripes
            u = 0.5 + 0.5 * np.sin(2 * np.pi * along / rng.uniform(12, 60))
        image = colours[0] + u[..., None] * (colours[1] - colours[0])
    image = image + rng.normal(0, 6, (height, width, 1))  # fine-grained texture, fixed for the video
    return np.clip(image, 0, 255).astype(np.uint8)


def _fill_missing(keypoints: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(T, K, 3) -> (T, K, 2) positions with missing joints interpolated in time, (K,) drawable joints."""
    frames = np.arange(keypoints.shape[0])
    xy = keypoints[..., :2].astype(np.float64).copy()
    seen = keypoints[..., 2] > 0
    drawable = seen.any(axis=0)
    for k in np.flatnonzero(drawable & ~seen.all(axis=0)):
        for axis in range(2):
            xy[~seen[:, k], k, axis] = np.interp(frames[~seen[:, k]], frames[seen[:, k]], xy[seen[:, k], k, axis])
    return xy, drawable


def render_frames(video: SyntheticVideo, seed: int = 0) -> np.ndarray:
    """(T, H, W, 3) uint8 RGB frames of the video's skeleton (see the module docstring)."""
    import cv2

    rng = _rng(video, seed)
    width, height = video.frame_size
    limbs = get_layout(video.layout).limbs
    colours = limb_colours(len(limbs))
    base = background(width, height, rng)
    thickness = int(rng.integers(6, 11))
    radius = max(3, round(0.7 * thickness))
    noise_sigma = rng.uniform(2.0, 6.0)
    bank = np.rint(rng.standard_normal((2, height, width, 3), dtype=np.float32) * noise_sigma).astype(np.int16)
    xy, drawable = _fill_missing(video.keypoints2d)
    shift = 4  # sub-pixel drawing: coordinates in 1/16 pixel
    points = np.rint(xy * (1 << shift)).astype(np.int64)
    frames = np.empty((len(points), height, width, 3), dtype=np.uint8)
    for t, pts in enumerate(points):
        frame = base.copy()
        for (a, b), colour in zip(limbs, colours):
            if drawable[a] and drawable[b]:
                cv2.line(frame, tuple(map(int, pts[a])), tuple(map(int, pts[b])), colour, thickness, cv2.LINE_AA, shift)
        for k in np.flatnonzero(drawable):
            colour = colours[k % len(colours)]
            light = tuple(int(c + (255 - c) * 0.5) for c in colour)
            cv2.circle(frame, tuple(map(int, pts[k])), radius << shift, light, -1, cv2.LINE_AA, shift)
        shift_rows, shift_cols = int(rng.integers(height)), int(rng.integers(width))
        noise = np.roll(bank[t % 2], (shift_rows, shift_cols), axis=(0, 1))
        frames[t] = np.clip(frame.astype(np.int16) + noise, 0, 255).astype(np.uint8)
    return frames


def write_rgb_video(video: SyntheticVideo, out_dir: str | Path, seed: int = 0, name: str | None = None) -> Path:
    """Render the video and write it to out_dir/<name or video_id>.mp4 (mp4v, 30 fps); returns the path."""
    import cv2

    path = Path(out_dir) / f"{name or video.video_id}.mp4"
    path.parent.mkdir(parents=True, exist_ok=True)
    width, height = video.frame_size
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), FPS, (width, height))
    if not writer.isOpened():
        raise RuntimeError(f"{path}: OpenCV cannot write mp4v video here")
    try:
        for frame in render_frames(video, seed):
            writer.write(cv2.cvtColor(frame, cv2.COLOR_RGB2BGR))
    finally:
        writer.release()
    return path

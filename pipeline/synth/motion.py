"""Synthetic videos: 3D human motion with per-frame phase labels, seen by a random camera.

Rules (all random choices come from numpy Generators seeded by (seed, action, index), so those three
reproduce a video exactly; the 3D motion and framing do not depend on the requested layout):
- Timing: a global tempo in [0.7, 1.4] times a per-phase factor in [0.75, 1.33] scales each phase's
  base length (at least 3 frames per phase); inside a phase, progress follows a random monotonic
  piecewise-linear time warp (4 pieces) and then smoothstep easing between the two key poses.
- Padding: 3-15 frames holding the first key pose before the motion, 3-15 holding the last one after.
- Amplitude: every key pose's angles (and lift) from the first key pose are scaled by [0.85, 1.1].
- Body size: bone lengths scaled by [0.85, 1.15] (fixed within a video).
- Camera: pinhole; subject yaw in [-180, 180) degrees (0: facing the camera, 90: facing image
  right, +-180: back to the camera), camera elevation (looking down) in [0, 15] degrees, distance
  3.5-6 m. joints3d are camera coordinates: x right, y down, z depth, metres.
- Framing: focal length and principal point are chosen per video so that the whole video's
  skeleton spans 50-85 % of the frame height (at most 90 % of the width) at a random place, at
  least MARGIN pixels from the borders before noise.
- 2D observation: Gaussian noise of sigma in [0.3, 1.5] px, clipped to the frame; confidence
  uniform in [0.6, 1]; missing joints (x = y = c = 0): each joint of each frame with probability
  in [0, 0.03], and in half the videos one joint for a run of 5-20 frames.
- Split: the last round(30 %) indices of each action are "test", the others "train".
"""

from __future__ import annotations

import zlib
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from pipeline.synth.actions import ACTIONS, Action, get_action
from pipeline.synth.mapping import map_joints
from pipeline.synth.skeleton import REST_CENTRE_HEIGHT, pose_body, rotation_matrices

TEST_FRACTION = 0.3
DEFAULT_FRAME_SIZE = (480, 360)
MARGIN = 8.0  # px between the noise-free skeleton and the frame border


@dataclass(frozen=True)
class SyntheticVideo:
    """One generated video (T frames, J internal joints, K joints of `layout`).

    joints3d: (T, J, 3) float32, the internal skeleton (skeleton.JOINTS order), camera coordinates
        in metres (x right, y down, z depth).
    keypoints2d: (T, K, 3) float32, `layout`'s joints in pixels of a frame_size frame: x, y and
        confidence c; c = 0 (with x = y = 0) marks a missing joint.
    phases: (T,) int16 phase index into phase_names (see pipeline/synth/actions.py for the rule).
    frame_size: (width, height) in pixels.
    padding: (start, end) numbers of frames holding the first / last key pose.
    yaw_degrees: the subject's orientation: 0 facing the camera, +-180 seen from the back.
    """

    video_id: str
    action: str
    split: str
    layout: str
    joints3d: np.ndarray
    keypoints2d: np.ndarray
    phases: np.ndarray
    frame_size: tuple[int, int]
    phase_names: tuple[str, ...]
    padding: tuple[int, int]
    yaw_degrees: float


def video_id(action: str, index: int) -> str:
    return f"{action}_{index:04d}"


def split_of(index: int, videos_per_action: int) -> str:
    """"test" for the last round(TEST_FRACTION x videos_per_action) indices, else "train"."""
    return "test" if index >= videos_per_action - round(TEST_FRACTION * videos_per_action) else "train"


def generate_dataset(
    actions: list[str] | None = None,
    videos_per_action: int = 8,
    *,
    seed: int = 0,
    layout: str = "penn_action",
    frame_size: tuple[int, int] = DEFAULT_FRAME_SIZE,
) -> Iterator[SyntheticVideo]:
    """Every action's videos 0 .. videos_per_action - 1, action by action (all actions by default)."""
    for action in actions or list(ACTIONS):
        for index in range(videos_per_action):
            yield generate_video(
                action, index, seed=seed, split=split_of(index, videos_per_action), layout=layout, frame_size=frame_size
            )


def generate_video(
    action: str,
    index: int,
    *,
    seed: int = 0,
    split: str = "train",
    layout: str = "penn_action",
    frame_size: tuple[int, int] = DEFAULT_FRAME_SIZE,
) -> SyntheticVideo:
    """Video number `index` of `action`; (seed, action, index) fixes it exactly."""
    spec = get_action(action)
    motion, observation = (
        np.random.default_rng(s) for s in np.random.SeedSequence([seed, zlib.crc32(action.encode()), index]).spawn(2)
    )
    progress, padding = _timeline(spec, motion)
    angles, lift = _interpolate(spec, progress, amplitude=motion.uniform(0.85, 1.1))
    scale = motion.uniform(0.85, 1.15)
    yaw = motion.uniform(-180.0, 180.0)
    joints3d = _to_camera(pose_body(angles, lift, scale, spec.anchor), scale, yaw, motion.uniform(0.0, 15.0), motion.uniform(3.5, 6.0))
    focal, centre = _framing(joints3d, frame_size, motion)
    points = map_joints(joints3d, layout)
    keypoints2d = _observe(focal * points[..., :2] / points[..., 2:] + centre, frame_size, observation)
    return SyntheticVideo(
        video_id=video_id(action, index),
        action=action,
        split=split,
        layout=layout,
        joints3d=joints3d.astype(np.float32),
        keypoints2d=keypoints2d.astype(np.float32),
        phases=np.minimum(np.floor(progress), len(spec.phase_names) - 1).astype(np.int16),
        frame_size=(int(frame_size[0]), int(frame_size[1])),
        phase_names=spec.phase_names,
        padding=padding,
        yaw_degrees=float(yaw),
    )


def _timeline(spec: Action, rng: np.random.Generator) -> tuple[np.ndarray, tuple[int, int]]:
    """(T,) progress in key-pose units (k + u while going from key pose k to k + 1), (start, end) padding."""
    n = len(spec.phase_names)
    tempo = np.exp(rng.uniform(np.log(0.7), np.log(1.4)))
    frames = np.maximum(3, np.round(spec.base_frames * tempo * rng.uniform(0.75, 1.33, n))).astype(int)
    start, end = (int(p) for p in rng.integers(3, 16, size=2))
    parts = [np.zeros(start)]
    parts += [k + _warp(np.arange(count) / count, rng) for k, count in enumerate(frames)]
    parts.append(np.full(end, float(n)))
    return np.concatenate(parts), (start, end)


def _warp(u: np.ndarray, rng: np.random.Generator, pieces: int = 4) -> np.ndarray:
    """A random increasing piecewise-linear map of [0, 1] onto itself, applied to u (values < 1 stay < 1)."""
    knots = np.concatenate([[0.0], np.cumsum(rng.uniform(0.3, 1.7, pieces))])
    return np.interp(u, np.linspace(0.0, 1.0, pieces + 1), knots / knots[-1])


def _interpolate(spec: Action, progress: np.ndarray, amplitude: float) -> tuple[np.ndarray, np.ndarray]:
    """(T,) progress -> joint angles (T, P, 3) and lift (T,), eased between consecutive key poses."""
    keys = spec.key_angles[0] + amplitude * (spec.key_angles - spec.key_angles[0])
    lifts = amplitude * spec.lifts
    k = np.minimum(np.floor(progress).astype(int), len(spec.phase_names) - 1)
    u = progress - k
    ease = u * u * (3.0 - 2.0 * u)
    angles = keys[k] + ease[:, None, None] * (keys[k + 1] - keys[k])
    return angles, lifts[k] + ease * (lifts[k + 1] - lifts[k])


def _to_camera(body: np.ndarray, scale: float, yaw: float, elevation: float, distance: float) -> np.ndarray:
    """(T, J, 3) body frame (y up, ground 0) -> camera coordinates (x right, y down, z depth), metres.

    The subject, turned by `yaw` about the vertical, faces the camera at yaw 0 (their left on the
    image's right); the camera looks down by `elevation` degrees at the body's centre, `distance` away.
    """
    flip = np.diag([1.0, -1.0, -1.0])  # body (left, up, forward) -> camera (right, down, depth) when facing it
    rotation = rotation_matrices(np.array([elevation, 0.0, 0.0])) @ flip @ rotation_matrices(np.array([0.0, yaw, 0.0]))
    centred = body - np.array([0.0, REST_CENTRE_HEIGHT * scale, 0.0])
    return centred @ rotation.T + np.array([0.0, 0.0, distance])


def _framing(joints3d: np.ndarray, frame_size: tuple[int, int], rng: np.random.Generator) -> tuple[float, np.ndarray]:
    """Focal length (px) and principal point (2,) placing the whole video's skeleton in the frame."""
    normalised = (joints3d[..., :2] / joints3d[..., 2:]).reshape(-1, 2)
    low, high = normalised.min(axis=0), normalised.max(axis=0)
    size = np.asarray(frame_size, dtype=np.float64)
    focal = min(rng.uniform(0.5, 0.85) * size[1] / (high[1] - low[1]), 0.9 * size[0] / (high[0] - low[0]))
    return focal, rng.uniform(MARGIN - focal * low, size - 1.0 - MARGIN - focal * high)


def _observe(xy: np.ndarray, frame_size: tuple[int, int], rng: np.random.Generator) -> np.ndarray:
    """(T, K, 2) exact pixels -> (T, K, 3) noisy, clipped keypoints with confidence and missing joints."""
    frames, joints = xy.shape[:2]
    noisy = xy + rng.normal(0.0, rng.uniform(0.3, 1.5), xy.shape)
    noisy = np.clip(noisy, 0.0, np.asarray(frame_size, dtype=np.float64) - 1.0)
    confidence = rng.uniform(0.6, 1.0, (frames, joints))
    missing = rng.random((frames, joints)) < rng.uniform(0.0, 0.03)
    if rng.random() < 0.5:
        start = rng.integers(frames)
        missing[start : start + rng.integers(5, 21), rng.integers(joints)] = True
    keypoints = np.concatenate([noisy, confidence[..., None]], axis=-1)
    keypoints[missing] = 0.0
    return keypoints

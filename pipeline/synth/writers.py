"""Write whole synthetic datasets in the formats the pose sources read.

Formats (what lands in out_dir):
- "penn": labels/NNNN.mat numbered from 0001 in generation order (action by action), with the
  fields and dtypes of a real Penn Action file: action (str), pose ("front" / "side" / "back" from
  the yaw), x, y (T, 13) float64, visibility (T, 13) uint8 (0 where the joint is missing, then
  written as x = y = 0), train (1, 1) int32 (1 train, -1 test), bbox (T, 4) float64 (box of the
  visible joints grown by 10 % per side, clipped to the frame), dimensions (1, 3) uint16 [H, W, T],
  nframes (1, 1) uint8 (uint16 past 255 frames, as MATLAB stores it); phase labels beside each,
  labels/NNNN.phases.npy, (T,) int16. Layout penn_action only.
- "projected": <video_id>.npz with joints3d (T, K, 3) float32 (camera coordinates, metres: x right,
  y down, z depth) in the layout's order (penn_action by default), layout, action, split, phases.
- "openpose": <video_id>/<video_id>_<frame, 12 digits>_keypoints.json (version 1.3,
  pose_keypoints_2d = K x 3 floats, missing joints 0, 0, 0; layout body25 by default, or body25b /
  coco18) and <video_id>.phases.npy. A bystander (the subject's first pose at 45 % size and 0.6 x
  confidence, standing still at a random place in the frame) is present during one run of 30-70 %
  of the frames, listed before the subject in half of the videos.
- "synthetic" (native): <video_id>.npz with keypoints2d (T, K, 3) float32, layout, frame_size (2,)
  int64 (width, height), action, split, phases (T,) int16, phase_names (P,) str.
With rgb=True, each video's skeleton is also rendered as an RGB video (pipeline/synth/render_rgb.py):
"penn": frames/NNNN.mp4 beside labels/ (NNNN = the .mat stem, so `--rgb out/frames` finds it);
"synthetic" and "openpose": rgb/<video_id>.mp4. Not for "projected" (its poses are re-projected to
another frame, so no video matches them). The manifest then names each entry's "rgb" file.
Every format also writes manifest.json: the generator parameters and, per video, video_id, action,
split, n_frames and path (relative to out_dir). Strings in .npz files are 0-d str arrays.
"""

from __future__ import annotations

import json
import zlib
from pathlib import Path

import numpy as np
import scipy.io

from pipeline.synth.actions import ACTIONS
from pipeline.synth.mapping import SUPPORTED_LAYOUTS, map_joints
from pipeline.synth.motion import DEFAULT_FRAME_SIZE, TEST_FRACTION, SyntheticVideo, generate_dataset

FORMATS = ("penn", "projected", "openpose", "synthetic")
_DEFAULT_LAYOUT = {"penn": "penn_action", "projected": "penn_action", "openpose": "body25", "synthetic": "penn_action"}
_LAYOUTS = {
    "penn": ("penn_action",),
    "projected": SUPPORTED_LAYOUTS,
    "openpose": ("body25", "body25b", "coco18"),
    "synthetic": SUPPORTED_LAYOUTS,
}
_EMPTY_PARTS = (
    "face_keypoints_2d", "hand_left_keypoints_2d", "hand_right_keypoints_2d",
    "pose_keypoints_3d", "face_keypoints_3d", "hand_left_keypoints_3d", "hand_right_keypoints_3d",
)


def write_dataset(
    out_dir: str | Path,
    fmt: str,
    actions: list[str] | None = None,
    videos_per_action: int = 8,
    seed: int = 0,
    layout: str | None = None,
    frame_size: tuple[int, int] = DEFAULT_FRAME_SIZE,
    rgb: bool = False,
) -> list[Path]:
    """Generate and write a dataset; returns each video's path (.mat / .npz file, OpenPose directory).

    rgb: also render every video's skeleton as an RGB .mp4 (see the module docstring for where).
    """
    if fmt not in FORMATS:
        raise ValueError(f"unknown synthetic dataset format {fmt!r}; known: {', '.join(FORMATS)}")
    if rgb and fmt == "projected":
        raise ValueError("rgb videos are not written for the projected format (its 2D poses are re-projected)")
    layout = layout or _DEFAULT_LAYOUT[fmt]
    if layout not in _LAYOUTS[fmt]:
        raise ValueError(f"format {fmt} cannot hold layout {layout}; use one of {', '.join(_LAYOUTS[fmt])}")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    paths, entries = [], []
    videos = generate_dataset(actions, videos_per_action, seed=seed, layout=layout, frame_size=frame_size)
    for number, video in enumerate(videos, start=1):
        if fmt == "penn":
            path = write_penn(video, out_dir / "labels" / f"{number:04d}.mat")
        elif fmt == "projected":
            path = write_projected(video, out_dir / f"{video.video_id}.npz")
        elif fmt == "openpose":
            path = write_openpose(video, out_dir, np.random.default_rng([seed, zlib.crc32(video.video_id.encode())]))
        else:
            path = write_native(video, out_dir / f"{video.video_id}.npz")
        paths.append(path)
        entry = {
            "video_id": video.video_id, "action": video.action, "split": video.split,
            "n_frames": int(video.phases.shape[0]), "path": path.relative_to(out_dir).as_posix(),
        }
        if rgb:
            from pipeline.synth.render_rgb import write_rgb_video

            if fmt == "penn":
                rgb_path = write_rgb_video(video, out_dir / "frames", seed=seed, name=path.stem)
            else:
                rgb_path = write_rgb_video(video, out_dir / "rgb", seed=seed)
            entry["rgb"] = rgb_path.relative_to(out_dir).as_posix()
        entries.append(entry)
    manifest = {
        "generator": "pipeline.synth", "format": fmt, "seed": seed, "videos_per_action": videos_per_action,
        "test_fraction": TEST_FRACTION, "layout": layout, "frame_size": list(frame_size), "rgb": rgb,
        "actions": {name: list(ACTIONS[name].phase_names) for name in actions or list(ACTIONS)},
        "videos": entries,
    }
    (out_dir / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    return paths


def write_penn(video: SyntheticVideo, path: Path) -> Path:
    """A Penn Action .mat file at `path` and its phases at <stem>.phases.npy beside it."""
    if video.layout != "penn_action":
        raise ValueError(f"Penn Action files hold the penn_action layout, not {video.layout}")
    keypoints = video.keypoints2d.astype(np.float64)
    frames = keypoints.shape[0]
    width, height = video.frame_size
    path.parent.mkdir(parents=True, exist_ok=True)
    scipy.io.savemat(str(path), {
        "action": video.action,
        "pose": _view(video.yaw_degrees),
        "x": keypoints[..., 0],
        "y": keypoints[..., 1],
        "visibility": (keypoints[..., 2] > 0).astype(np.uint8),
        "train": np.array([[1 if video.split == "train" else -1]], dtype=np.int32),
        "bbox": _bbox(keypoints, video.frame_size),
        "dimensions": np.array([[height, width, frames]], dtype=np.uint16),
        "nframes": np.array([[frames]], dtype=np.uint8 if frames < 256 else np.uint16),
    }, do_compression=True)
    np.save(path.with_name(path.stem + ".phases.npy"), video.phases)
    return path


def write_projected(video: SyntheticVideo, path: Path) -> Path:
    """<video_id>.npz with the 3D joints in the video's layout order."""
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(
        path,
        joints3d=map_joints(video.joints3d, video.layout).astype(np.float32),
        layout=np.array(video.layout), action=np.array(video.action), split=np.array(video.split),
        phases=video.phases,
    )
    return path


def write_native(video: SyntheticVideo, path: Path) -> Path:
    """<video_id>.npz in the generator's own format (read by pipeline/sources/synthetic.py)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(
        path,
        keypoints2d=video.keypoints2d, layout=np.array(video.layout),
        frame_size=np.array(video.frame_size, dtype=np.int64),
        action=np.array(video.action), split=np.array(video.split),
        phases=video.phases, phase_names=np.array(video.phase_names),
    )
    return path


def write_openpose(video: SyntheticVideo, out_dir: Path, rng: np.random.Generator) -> Path:
    """out_dir/<video_id>/ of per-frame OpenPose JSON files (with a bystander), and the phases beside it."""
    directory = out_dir / video.video_id
    directory.mkdir(parents=True, exist_ok=True)
    bystander, present = _bystander(video, rng)
    bystander_first = rng.random() < 0.5
    for t, subject in enumerate(video.keypoints2d):
        people = [subject]
        if present[t]:
            people.insert(0 if bystander_first else 1, bystander[t])
        frame = {"version": 1.3, "people": [_openpose_person(p) for p in people]}
        (directory / f"{video.video_id}_{t:012d}_keypoints.json").write_text(json.dumps(frame), encoding="utf-8")
    np.save(out_dir / f"{video.video_id}.phases.npy", video.phases)
    return directory


def _openpose_person(keypoints: np.ndarray) -> dict:
    """(K, 3) -> one entry of an OpenPose frame's "people" list."""
    flat = [round(float(v), 3) for v in keypoints.ravel()]
    return {"person_id": [-1], "pose_keypoints_2d": flat, **{part: [] for part in _EMPTY_PARTS}}


def _bystander(video: SyntheticVideo, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """A small, still second person: keypoints (T, K, 3) and the (T,) bool frames where they appear."""
    frames = video.keypoints2d.shape[0]
    pose = video.keypoints2d[0].astype(np.float64)
    visible = pose[:, 2] > 0
    low = pose[visible, :2].min(axis=0)
    shape = 0.45 * (pose[:, :2] - low)
    room = np.asarray(video.frame_size, dtype=np.float64) - 1.0 - shape[visible].max(axis=0)
    person = np.concatenate([shape + rng.uniform(0.0, room), 0.6 * pose[:, 2:]], axis=1)
    person[~visible] = 0.0
    length = max(1, round(rng.uniform(0.3, 0.7) * frames))
    start = int(rng.integers(0, frames - length + 1))
    present = np.zeros(frames, dtype=bool)
    present[start : start + length] = True
    return np.broadcast_to(person, (frames, *person.shape)), present


def _view(yaw_degrees: float) -> str:
    """Penn's coarse viewpoint: front within 45 degrees of facing the camera, back within 45 of the opposite."""
    yaw = abs(yaw_degrees)
    return "front" if yaw <= 45 else "back" if yaw >= 135 else "side"


def _bbox(keypoints: np.ndarray, frame_size: tuple[int, int]) -> np.ndarray:
    """(T, K, 3) -> (T, 4) x1, y1, x2, y2 of the visible joints, grown by 10 % per side and clipped.

    A frame with no visible joint gets the box of the whole video.
    """
    visible = keypoints[..., 2] > 0
    xy = keypoints[..., :2]
    low = np.where(visible[..., None], xy, np.inf).min(axis=1)
    high = np.where(visible[..., None], xy, -np.inf).max(axis=1)
    empty = ~visible.any(axis=1)
    low[empty], high[empty] = xy[visible].min(axis=0), xy[visible].max(axis=0)
    grow = 0.1 * (high - low)
    limit = np.asarray(frame_size, dtype=np.float64) - 1.0
    return np.concatenate([np.clip(low - grow, 0.0, limit), np.clip(high + grow, 0.0, limit)], axis=1)

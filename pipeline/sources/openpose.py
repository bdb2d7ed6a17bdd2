"""OpenPose JSON output: a video is a directory of per-frame ``*.json`` files (format 1.0-1.3).

Format: ``{"version": 1.3, "people": [{"pose_keypoints_2d": [x0, y0, c0, x1, ...], ...}, ...]}``.
Version 1.0 names the arrays ``pose_keypoints``, ``hand_left_keypoints``, ``hand_right_keypoints``;
1.1+ add ``_2d``. Both are read; other keys (face, 3D, person_id, ...) are ignored.

Rules:
- discover(root): if root directly holds ``*.json`` files it is one video, else every
  subdirectory that does is one. video_id = directory name with a trailing ``_json`` stripped
  (``cam01_json`` -> ``cam01``).
- Frames are ordered by frame number = the last run of digits in the file name stem
  (``vid_000000000012_keypoints.json`` -> 12, ``cam01.0012.json`` -> 12); two files with one number
  is an error. Gaps in the numbering become confidence-0 frames plus a warning in
  ``PoseSequence.warnings`` ("frames 12-14 missing: filled with confidence 0").
- Layout: ``options.layout`` (default body25; body25b, coco18 also read the pose array). hand21
  reads the RIGHT hand array; hands42 reads the left hand's 21 joints then the right hand's.
- A ``0,0,0`` triplet (any triplet with c = 0) is a missing joint: x = y = c = 0. An empty array
  (that part was not computed) means all joints missing for that person.
- Person selection, on the keypoints being read:
  1. in the first frame with anybody, take the person with the largest score = diagonal of the
     bounding box of their confident joints x mean confidence of those joints;
  2. in every later frame take the person nearest the tracked person's last chosen pose: mean
     distance over the joints confident in both, or the distance between bounding-box centres when
     no joint is confident in both;
  3. if that nearest person is farther than max(1.0 x the last chosen pose's bounding-box diagonal,
     50 px), the subject is absent in that frame (all confidences 0); the track keeps its last pose.
  Frames with nobody also get confidence 0. People with no confident joint count as nobody.
- frame_size is not in the JSON: inferred as (ceil(max x) + 1, ceil(max y) + 1) over the confident
  joints of every person in every frame (a lower bound of the real size).
- action and split are None.
- Errors (SourceError naming the file): malformed or truncated JSON, not an OpenPose frame, a
  keypoint array whose length is not 3 x the layout's joint count (both counts given), NaN or
  infinite values, confidence outside [0, 1], no frame number in a file name, a duplicate frame
  number; naming the directory: a layout OpenPose cannot produce, nobody detected in any frame.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from pydantic import AliasChoices, BaseModel, ConfigDict, Field, ValidationError

from pipeline.errors import SourceError
from pipeline.layouts import Layout, get_layout
from pipeline.pose import PoseSequence
from pipeline.sources.base import SourceKind, SourceOptions, VideoRef
from pipeline.sources.common import check_finite, fill_gaps, infer_frame_size, numbered_files, video_dirs, zero_missing

DEFAULT_LAYOUT = "body25"
POSE_LAYOUTS = ("body25", "body25b", "coco18")
HAND_LAYOUTS = ("hand21", "hands42")
MIN_TRACK_RADIUS = 50.0  # px: the subject may always move this far between the frames it is seen in
TRACK_RADIUS_DIAGONALS = 1.0  # ... or this many of its last bounding-box diagonals, if more


def _keypoint_field(*names: str):
    return Field(default_factory=list, validation_alias=AliasChoices(*names))


class OpenPosePerson(BaseModel):
    """One detected person; keypoint arrays are flat [x0, y0, c0, x1, y1, c1, ...]."""

    model_config = ConfigDict(extra="ignore")

    pose: list[float] = _keypoint_field("pose_keypoints_2d", "pose_keypoints")
    hand_left: list[float] = _keypoint_field("hand_left_keypoints_2d", "hand_left_keypoints")
    hand_right: list[float] = _keypoint_field("hand_right_keypoints_2d", "hand_right_keypoints")


class OpenPoseFrame(BaseModel):
    """One OpenPose JSON file (one frame)."""

    model_config = ConfigDict(extra="ignore")

    version: float | str | None = None
    people: list[OpenPosePerson]


# ---------------------------------------------------------------------------------------------- discover


def discover(root: Path) -> list[VideoRef]:
    """One VideoRef per directory of ``*.json`` frames: root itself, or else each subdirectory."""
    return [
        VideoRef(kind=SourceKind.openpose, video_id=_video_id(directory), path=str(directory))
        for directory in video_dirs(root, "*.json")
    ]


def _video_id(directory: Path) -> str:
    name = directory.name
    return name[: -len("_json")] if name.endswith("_json") and len(name) > len("_json") else name


# ---------------------------------------------------------------------------------------------- load


def load(ref: VideoRef, options: SourceOptions) -> PoseSequence:
    """Read one OpenPose video: keypoints (T, K, 3) of the tracked subject, see the module docstring."""
    directory = Path(ref.path)
    layout = _layout(options, directory)
    files = numbered_files(directory, "*.json")
    if not files:
        raise SourceError(directory, "no *.json frame files")
    people = [_read_people(path, layout) for _, path in files]  # per file: (P, K, 3)
    detected = [p[p[..., 2] > 0, :2] for p in people]
    if not any(len(d) for d in detected):
        raise SourceError(directory, "nobody detected in any frame")
    frame_size = infer_frame_size(np.concatenate(detected))
    keypoints, warnings = fill_gaps([number for number, _ in files], track_subject(people))
    return PoseSequence(
        video_id=ref.video_id,
        layout=layout,
        keypoints=keypoints,
        frame_size=frame_size,
        source_path=directory,
        warnings=warnings,
    )


def _layout(options: SourceOptions, directory: Path) -> Layout:
    name = options.layout or DEFAULT_LAYOUT
    if name not in POSE_LAYOUTS + HAND_LAYOUTS:
        raise SourceError(directory, f"layout {name} is not an OpenPose layout; use one of {', '.join(POSE_LAYOUTS + HAND_LAYOUTS)}")
    return get_layout(name)


def _read_people(path: Path, layout: Layout) -> np.ndarray:
    """The people of one frame file: (P, K, 3) float64, c = 0 -> x = y = 0."""
    frame = _parse(path)
    people = [_person_keypoints(person, layout, path) for person in frame.people]
    if not people:
        return np.zeros((0, layout.num_joints, 3))
    return zero_missing(np.stack(people))


def _parse(path: Path) -> OpenPoseFrame:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise SourceError(path, f"malformed JSON ({err})") from err
    except OSError as err:
        raise SourceError(path, f"unreadable file ({err})") from err
    try:
        return OpenPoseFrame.model_validate(data)
    except ValidationError as err:
        first = err.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or "top level"
        raise SourceError(path, f"not an OpenPose frame: {where}: {first['msg']}") from err


def _person_keypoints(person: OpenPosePerson, layout: Layout, path: Path) -> np.ndarray:
    """(K, 3) keypoints of one person for `layout`; an empty array -> all missing."""
    if layout.name == "hands42":
        parts = [(person.hand_left, 21, "hand_left_keypoints_2d"), (person.hand_right, 21, "hand_right_keypoints_2d")]
    elif layout.name == "hand21":
        parts = [(person.hand_right, 21, "hand_right_keypoints_2d")]
    else:
        parts = [(person.pose, layout.num_joints, "pose_keypoints_2d")]
    return np.concatenate([_triplets(values, joints, name, layout, path) for values, joints, name in parts])


def _triplets(values: list[float], joints: int, name: str, layout: Layout, path: Path) -> np.ndarray:
    """A flat [x, y, c, ...] list as (joints, 3); empty -> zeros."""
    if not values:
        return np.zeros((joints, 3))
    if len(values) != 3 * joints:
        found = f"{len(values) // 3} keypoints" if len(values) % 3 == 0 else f"{len(values)} numbers (not whole x, y, c triplets)"
        raise SourceError(path, f"{name} holds {found}, layout {layout.name} expects {joints} keypoints ({3 * joints} numbers)")
    array = np.asarray(values, dtype=np.float64).reshape(joints, 3)
    check_finite(array, path, f"values in {name}")
    if array[:, 2].min() < 0 or array[:, 2].max() > 1:
        raise SourceError(path, f"confidence outside [0, 1] in {name} (min {array[:, 2].min():.3g}, max {array[:, 2].max():.3g})")
    return array


# ---------------------------------------------------------------------------------------------- tracking


def track_subject(people: list[np.ndarray]) -> np.ndarray:
    """The main subject's keypoints in every frame: list of (P_t, K, 3) -> (T, K, 3) float32.

    Rule in the module docstring: start with the highest-scoring person of the first frame with
    anybody, then follow the nearest person, unless farther than the track radius (subject absent).
    """
    num_joints = people[0].shape[1]
    out = np.zeros((len(people), num_joints, 3), dtype=np.float32)
    last: np.ndarray | None = None
    for t, frame in enumerate(people):
        candidates = [p for p in frame if (p[:, 2] > 0).any()]
        if not candidates:
            continue
        if last is None:
            chosen = max(candidates, key=person_score)
        else:
            distances = [pose_distance(last, p) for p in candidates]
            nearest = int(np.argmin(distances))
            if distances[nearest] > max(TRACK_RADIUS_DIAGONALS * _bbox_diagonal(last), MIN_TRACK_RADIUS):
                continue
            chosen = candidates[nearest]
        out[t] = chosen
        last = chosen
    return out


def person_score(person: np.ndarray) -> float:
    """Bounding-box diagonal of the confident joints x their mean confidence. person: (K, 3)."""
    conf = person[:, 2]
    return _bbox_diagonal(person) * float(conf[conf > 0].mean())


def pose_distance(a: np.ndarray, b: np.ndarray) -> float:
    """Mean joint distance over joints confident in both (K, 3) poses, else bounding-box centre distance."""
    both = (a[:, 2] > 0) & (b[:, 2] > 0)
    if both.any():
        return float(np.linalg.norm(a[both, :2] - b[both, :2], axis=1).mean())
    return float(np.linalg.norm(_bbox_centre(a) - _bbox_centre(b)))


def _confident_xy(person: np.ndarray) -> np.ndarray:
    return person[person[:, 2] > 0, :2]


def _bbox_diagonal(person: np.ndarray) -> float:
    xy = _confident_xy(person)
    return float(np.linalg.norm(xy.max(axis=0) - xy.min(axis=0)))


def _bbox_centre(person: np.ndarray) -> np.ndarray:
    xy = _confident_xy(person)
    return (xy.max(axis=0) + xy.min(axis=0)) / 2.0

"""DERIVED key-event phase labels (pipeline/key_events.py): accuracy on synthetic motions whose true
events are known from the generator's 3D joints, every action's rule on a hand-made trajectory with
known event frames, ordering, and robustness to missing joints."""

from __future__ import annotations

import numpy as np
import pytest

from pipeline.key_events import (
    NUM_PHASES, PHASE_SOURCE, RULES, DerivedLabels, derive_phases,
    events_from_phases, phases_from_events,
)
from pipeline.layouts import PENN_ACTION
from pipeline.synth import generate_video
from pipeline.synth.skeleton import JOINTS

SEED = 11
VIDEOS = 24  # per synthetic action
MAX_MEAN_ERROR = 3.0  # frames, per event, over the videos
_J3 = {name: i for i, name in enumerate(JOINTS)}
_J = {name: i for i, name in enumerate(PENN_ACTION.joints)}


# ------------------------------------------------------------------ true events from the 3D joints


def _heights(video) -> np.ndarray:
    """(T, J) height of every internal joint along the true vertical (metres).

    The generator's joints3d are camera coordinates (tilted by the camera's elevation); squat and
    jumping jacks start in the rest pose, whose pelvis -> thorax axis is exactly vertical.
    """
    joints = video.joints3d.astype(np.float64)
    up = joints[0, _J3["thorax"]] - joints[0, _J3["pelvis"]]
    return joints @ (up / np.linalg.norm(up))


def _mean(heights: np.ndarray, *names: str) -> np.ndarray:
    return heights[:, [_J3[n] for n in names]].mean(axis=1)


def _run_start(condition: np.ndarray, end: int) -> int:
    t = end
    while t > 0 and condition[t - 1]:
        t -= 1
    return t


def _first_after(condition: np.ndarray, start: int) -> int:
    return start + 1 + int(np.flatnonzero(condition[start + 1 :])[0])


def true_events(video) -> list[int] | None:
    """The key events computed from the noise-free 3D motion (None: the event does not happen)."""
    h = _heights(video)
    if video.action == "squat":
        hips, knees = _mean(h, "l_hip", "r_hip"), _mean(h, "l_knee", "r_knee")
        bottom = int(np.argmin(hips))  # hips at floor: their lowest point
        low = hips <= knees
        if not low[bottom]:
            return None  # this squat's hips never reach knee height: no true crossing
        return [_run_start(low, bottom), bottom, _first_after(~low, bottom)]
    if video.action == "jumping_jacks":
        above = _mean(h, "l_wrist", "r_wrist") - _mean(h, "l_shoulder", "r_shoulder")
        apex = int(np.argmax(above))  # hands above head: their highest point
        high = above >= 0
        return [_run_start(high, apex), apex, _first_after(~high, apex)]
    if video.action == "golf_swing":
        # key-pose timing: the first frame of the downswing (top of the backswing) and of the
        # follow-through (impact) are where the generator reaches those key poses
        return [int(np.argmax(video.phases == 1)), int(np.argmax(video.phases == 2))]
    raise ValueError(video.action)


def _errors(action: str, videos: int = VIDEOS, drop=None) -> tuple[np.ndarray, int]:
    errors, skipped = [], 0
    for index in range(videos):
        video = generate_video(action, index, seed=SEED, layout="penn_action")
        truth = true_events(video)
        if truth is None:
            skipped += 1
            continue
        keypoints = video.keypoints2d if drop is None else drop(video.keypoints2d, index)
        derived = derive_phases(action, keypoints)
        errors.append(np.abs(np.array(derived.events) - np.array(truth)))
    return np.array(errors), skipped


def _report(action: str, errors: np.ndarray, skipped: int, label: str = "") -> None:
    names = RULES[action]
    per_event = ", ".join(f"{n}: {e:.2f}" for n, e in zip(names, errors.mean(axis=0)))
    print(f"\n[derived key events{label}] {action}: {len(errors)} synthetic videos ({skipped} without a true "
          f"event skipped); mean |frame error| {errors.mean():.2f} ({per_event}); max {errors.max()}")


@pytest.mark.parametrize("action", ["squat", "jumping_jacks", "golf_swing"])
def test_derived_events_land_near_the_true_events(action):
    errors, skipped = _errors(action)
    _report(action, errors, skipped)
    assert len(errors) >= VIDEOS * 2 // 3
    assert errors.mean(axis=0).max() <= MAX_MEAN_ERROR
    assert np.median(errors) <= 2


def _drop_joints(keypoints: np.ndarray, index: int) -> np.ndarray:
    """20 % of the joints missing at random, the left hip and right wrist for 12 frames, one whole frame."""
    rng = np.random.default_rng(index)
    out = keypoints.copy()
    out[rng.random(out.shape[:2]) < 0.2] = 0.0
    start = int(rng.integers(0, out.shape[0] - 12))
    out[start : start + 12, [_J["l_hip"], _J["r_wrist"]]] = 0.0
    out[out.shape[0] // 2] = 0.0
    return out


@pytest.mark.parametrize("action", ["squat", "jumping_jacks"])
def test_missing_joints_are_interpolated(action):
    errors, skipped = _errors(action, drop=_drop_joints)
    _report(action, errors, skipped, " with 20 % missing joints")
    assert errors.mean(axis=0).max() <= MAX_MEAN_ERROR + 1


def test_a_joint_never_seen_takes_its_partners_track():
    video = generate_video("squat", 2, seed=SEED)
    keypoints = video.keypoints2d.copy()
    keypoints[:, [_J["l_knee"], _J["l_hip"]]] = 0.0
    labels = derive_phases("squat", keypoints)
    reference = derive_phases("squat", video.keypoints2d)
    assert np.abs(np.array(labels.events) - np.array(reference.events)).max() <= 3


# ------------------------------------------------------------------ labels: order, count, invariance


@pytest.mark.parametrize("action", ["squat", "jumping_jacks", "golf_swing"])
def test_events_sorted_and_phases_complete_on_synthetic_videos(action):
    for index in range(8):
        video = generate_video(action, index, seed=SEED)
        labels = derive_phases(action, video.keypoints2d)
        assert isinstance(labels, DerivedLabels) and labels.action == action
        assert labels.rule_names == list(RULES[action]) and len(labels.found) == len(labels.events)
        _check_labels(labels, NUM_PHASES[action], len(video.keypoints2d))


def _check_labels(labels: DerivedLabels, num_phases: int, frames: int) -> None:
    events = labels.events
    assert len(events) == num_phases - 1 == labels.num_phases - 1
    assert all(1 <= e <= frames - 1 for e in events) and all(a < b for a, b in zip(events, events[1:]))
    assert labels.phases.shape == (frames,) and labels.phases.dtype == np.int16
    assert np.all(np.diff(labels.phases) >= 0) and np.all(np.diff(labels.phases) <= 1)
    assert np.array_equal(np.unique(labels.phases), np.arange(num_phases))
    assert events_from_phases(labels.phases) == events


def test_grid_coordinates_give_the_same_events():
    """Only ratios matter: a uniform scale and offset (pixels -> heatmap grid) changes nothing."""
    for action in ("squat", "jumping_jacks"):
        video = generate_video(action, 0, seed=SEED)
        grid = video.keypoints2d.copy()
        grid[..., :2] = grid[..., :2] * 0.07 + 1.5
        grid[grid[..., 2] == 0, :2] = 0.0
        assert derive_phases(action, grid).events == derive_phases(action, video.keypoints2d).events


def test_phases_from_events():
    assert phases_from_events([2, 4], 6).tolist() == [0, 0, 1, 1, 2, 2]
    assert events_from_phases(np.array([0, 0, 1, 1, 2, 2])) == [2, 4]
    assert events_from_phases(np.array([-1, 0, -1, 1, 1])) == [3]


def test_bad_input():
    assert derive_phases("jump_rope", np.zeros((30, 13, 3))) is None
    assert derive_phases("strum_guitar", np.zeros((30, 13, 3))) is None
    with pytest.raises(ValueError, match="no visible joint"):
        derive_phases("squat", np.zeros((30, 13, 3)))
    with pytest.raises(ValueError, match="expected"):
        derive_phases("squat", np.zeros((30, 17, 3)))
    with pytest.raises(ValueError, match="too short"):
        derive_phases("squat", _figure(3))
    assert PHASE_SOURCE == "derived:key-events-v1"


# ------------------------------------------------------------------ every rule on a hand-made trajectory

_STAND = {  # image pixels, y down; the subject faces the camera (their left on the image's right)
    "head": (100, 40), "l_shoulder": (115, 70), "r_shoulder": (85, 70), "l_elbow": (120, 100),
    "r_elbow": (80, 100), "l_wrist": (122, 128), "r_wrist": (78, 128), "l_hip": (110, 130),
    "r_hip": (90, 130), "l_knee": (110, 175), "r_knee": (90, 175), "l_ankle": (110, 220), "r_ankle": (90, 220),
}
T = 60


def _figure(frames: int = T, pose: dict | None = None) -> np.ndarray:
    """(frames, 13, 3) keypoints holding one pose (the standing one by default), c = 1."""
    pose = pose or _STAND
    one = np.array([[*pose[name], 1.0] for name in PENN_ACTION.joints])
    return np.repeat(one[None], frames, axis=0)


def _bump(centre: float, width: float, frames: int = T) -> np.ndarray:
    """A smooth 0 -> 1 -> 0 bump peaking at `centre`."""
    return np.exp(-0.5 * ((np.arange(frames) - centre) / width) ** 2)


def _ease(t0: float, t1: float, frames: int = T) -> np.ndarray:
    """0 before t0, smoothstep to 1 at t1, 1 after (fastest at the midpoint)."""
    u = np.clip((np.arange(frames) - t0) / (t1 - t0), 0, 1)
    return u * u * (3 - 2 * u)


def _move(kp: np.ndarray, joints, dx=0.0, dy=0.0) -> None:
    for joint in ([joints] if isinstance(joints, str) else joints):
        kp[:, _J[joint], 0] += dx
        kp[:, _J[joint], 1] += dy


def _set(kp: np.ndarray, joint: str, x: np.ndarray, y: np.ndarray) -> None:
    kp[:, _J[joint], 0], kp[:, _J[joint], 1] = x, y


def _bench_press():
    kp = _figure()
    _move(kp, ["l_wrist", "r_wrist"], dy=-80 + 60 * _bump(30, 6))  # bar above the chest, lowest at 30
    return kp, [30]


def _pullup():
    kp = _figure()
    _move(kp, ["l_wrist", "r_wrist"], dy=-140)  # hands on a bar above the head
    rise = -50 * _bump(28, 6)
    _move(kp, [j for j in _STAND if "wrist" not in j], dy=rise)
    return kp, [28]


def _pushup():
    kp = _figure()
    _move(kp, ["head", "l_shoulder", "r_shoulder", "l_elbow", "r_elbow"], dy=35 * _bump(33, 6))
    return kp, [33]


def _situp():
    pose = {**_STAND, "l_hip": (100, 200), "r_hip": (100, 200), "l_knee": (140, 170), "r_knee": (140, 170),
            "l_ankle": (180, 200), "r_ankle": (180, 200)}
    kp = _figure(pose=pose)
    angle = np.deg2rad(170 - 120 * _bump(26, 6))  # shoulder-hip-knee angle, smallest at 26
    thigh = np.arctan2(170 - 200, 140 - 100)
    torso = thigh + angle
    for name, length in (("l_shoulder", 60), ("r_shoulder", 60), ("head", 85), ("l_elbow", 50), ("r_elbow", 50),
                         ("l_wrist", 45), ("r_wrist", 45)):
        _set(kp, name, 100 + length * np.cos(torso), 200 + length * np.sin(torso))
    return kp, [26]


def _swing_hands(kp, wrists, back_at=25, fast_at=32):
    """Hands drift back (-x) until `back_at`, then swing forward, fastest at `fast_at`."""
    x = -30 * _ease(5, back_at) + 150 * _ease(back_at, 2 * fast_at - back_at)
    _move(kp, wrists, dx=x)
    return kp


def _baseball_swing():
    return _swing_hands(_figure(), ["l_wrist", "r_wrist"]), [25, 32]


def _tennis_forehand():
    return _swing_hands(_figure(), ["r_wrist"]), [25, 32]


def _baseball_pitch():
    kp = _figure()
    _move(kp, "l_knee", dy=-55 * _bump(14, 4))  # knee up at 14
    # throwing hand: out and back (farthest from the shoulders at 28), then a fast throw (peak speed 37)
    _move(kp, "r_wrist", dx=-70 * _ease(16, 28) + 200 * _ease(28, 46), dy=-40 * _ease(16, 28))
    return kp, [14, 28, 37]


def _tennis_serve():
    kp = _figure()
    _move(kp, "l_wrist", dy=-130 * _bump(15, 4))  # toss hand highest at 15
    # hitting hand: up to the trophy, dropped behind the back (lowest at 27), then up fast to contact at 34
    y = -90 * _ease(8, 20) + 60 * _ease(20, 27) - 150 * _ease(27, 34) + 160 * _ease(34, 44)
    _move(kp, "r_wrist", dy=y)
    return kp, [15, 27, 34]


def _bowl():
    kp = _figure()
    # bowling arm as a pendulum from the shoulder: back up to 100 degrees at 25, through the bottom
    # (0 degrees, release) to the follow-through at -130 degrees by 45
    phi = np.deg2rad(100 * _ease(5, 25) - 230 * _ease(25, 45))
    shoulder = np.array(_STAND["r_shoulder"])
    _set(kp, "r_wrist", shoulder[0] - 58 * np.sin(phi), shoulder[1] + 58 * np.cos(phi))
    _set(kp, "r_elbow", shoulder[0] - 30 * np.sin(phi), shoulder[1] + 30 * np.cos(phi))
    bottom = 25 + int(np.argmin(np.abs(phi[25:])))
    return kp, [25, bottom]


def _clean_and_jerk():
    kp = _figure()
    hands, body = ["l_wrist", "r_wrist"], [j for j in _STAND if "ankle" not in j and "wrist" not in j]
    # start bent over, hands at the knees (y 175); pull to the shoulders (y 72) over 10-20:
    # hands cross hip height (y 130) at about 16
    hand_y = 47 - 103 * _ease(10, 20)
    # catch squat (hips down 50 px, lowest at 27), stand up 27-37 (90 % of the way at about 35)
    squat = 50 * _ease(20, 27) - 50 * _ease(27, 37)
    # jerk: dip 44-48 (15 px), drive to overhead (hands at y -20) 48-54, then hold
    dip = 15 * _ease(44, 48) - 15 * _ease(48, 52)
    hand_y = hand_y + squat + dip - 92 * _ease(48, 54)
    _move(kp, hands, dy=hand_y)
    _move(kp, body, dy=squat + dip)
    return kp, [16, 27, 35, 48, 54]


HAND_MADE = {
    "baseball_pitch": _baseball_pitch, "baseball_swing": _baseball_swing, "bench_press": _bench_press,
    "bowl": _bowl, "clean_and_jerk": _clean_and_jerk, "pullup": _pullup, "pushup": _pushup, "situp": _situp,
    "tennis_forehand": _tennis_forehand, "tennis_serve": _tennis_serve,
}


def test_every_action_of_the_table_has_a_rule():
    assert set(RULES) == {
        "baseball_pitch", "baseball_swing", "bench_press", "bowl", "clean_and_jerk", "golf_swing",
        "jumping_jacks", "pullup", "pushup", "situp", "squat", "tennis_forehand", "tennis_serve",
    }
    expected = {"baseball_pitch": 4, "baseball_swing": 3, "bench_press": 2, "bowl": 3, "clean_and_jerk": 6,
                "golf_swing": 3, "jumping_jacks": 4, "pullup": 2, "pushup": 2, "situp": 2, "squat": 4,
                "tennis_forehand": 3, "tennis_serve": 4}
    assert NUM_PHASES == expected
    assert set(HAND_MADE) | {"squat", "jumping_jacks", "golf_swing"} == set(RULES)


@pytest.mark.parametrize("action", sorted(HAND_MADE))
def test_rule_on_a_hand_made_trajectory(action):
    keypoints, expected = HAND_MADE[action]()
    labels = derive_phases(action, keypoints)
    print(f"\n[derived key events] {action} (hand-made): events {labels.events}, designed {expected}")
    _check_labels(labels, NUM_PHASES[action], T)
    assert labels.all_found, labels
    assert np.abs(np.array(labels.events) - np.array(expected)).max() <= 2

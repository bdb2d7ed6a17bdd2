"""The synthetic actions: each a sequence of 3D key poses (joint angles) and the phases between them.

Phase rule: an action with key poses K0 .. Kn has n phases; phase k is the motion from key pose k to
key pose k + 1. A video holds K0 before the motion (start padding, labelled phase 0) and Kn after
it (end padding, labelled phase n - 1), so labels never decrease and every phase is present.

Angles follow pipeline/synth/skeleton.py (degrees; rx < 0 swings a hanging limb forward, knee
rx > 0 bends the knee, spine rx > 0 leans forward, rz > 0 moves a left limb outward). `lift` is
the height of the lowest foot point above the ground (metres at scale 1) for jumps; `anchor` the
joints whose horizontal position stays put (both ankles, or the back foot of the lunge).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from pipeline.synth.skeleton import JOINTS, POSABLE, mirror

Pose = dict[str, tuple[float, float, float]]


@dataclass(frozen=True)
class Action:
    """key_angles: (n + 1, len(POSABLE), 3) degrees; lifts: (n + 1,) metres; base_frames: (n,) frames
    per phase at tempo 1; anchor: JOINTS indices of the planted joints."""

    name: str
    phase_names: tuple[str, ...]
    key_angles: np.ndarray
    lifts: np.ndarray
    base_frames: np.ndarray
    anchor: tuple[int, ...]


def _both(joint: str, rx: float = 0.0, ry: float = 0.0, rz: float = 0.0) -> Pose:
    """The left joint's angles and the mirrored right joint's."""
    return {f"l_{joint}": (rx, ry, rz), f"r_{joint}": mirror((rx, ry, rz))}


def _action(
    name: str,
    phases: list[tuple[str, int]],
    keys: list[Pose],
    lifts: list[float] | None = None,
    anchor: tuple[str, ...] = ("l_ankle", "r_ankle"),
) -> Action:
    if len(keys) != len(phases) + 1 or len(phases) < 3:
        raise ValueError(f"action {name}: {len(keys)} key poses for {len(phases)} phases")
    unknown = {joint for key in keys for joint in key} - set(POSABLE)
    if unknown:
        raise ValueError(f"action {name}: unknown joints {sorted(unknown)}")
    angles = np.array([[key.get(joint, (0.0, 0.0, 0.0)) for joint in POSABLE] for key in keys], dtype=np.float64)
    return Action(
        name=name,
        phase_names=tuple(phase for phase, _ in phases),
        key_angles=angles,
        lifts=np.array(lifts or [0.0] * len(keys), dtype=np.float64),
        base_frames=np.array([frames for _, frames in phases]),
        anchor=tuple(JOINTS.index(joint) for joint in anchor),
    )


_REST: Pose = _both("shoulder", rz=5)

_SQUAT_BOTTOM: Pose = {
    "spine": (35, 0, 0), "upper_neck": (-25, 0, 0),
    **_both("hip", -105, 0, 10), **_both("knee", 115), **_both("ankle", -10, 0, -10),
    **_both("shoulder", -80, 0, 5),
}
_SQUAT_HOLD: Pose = {**_SQUAT_BOTTOM, **_both("hip", -110, 0, 10), **_both("knee", 120)}

_JACK_AIR: Pose = {
    **_both("shoulder", 0, 0, 90), **_both("hip", -5, 0, 10), **_both("knee", 10), **_both("ankle", -5, 0, -10),
}
_JACK_OPEN: Pose = {**_both("shoulder", 0, 0, 165), **_both("elbow", -10), **_both("hip", 0, 0, 20), **_both("ankle", 0, 0, -20)}

_ARMS_FRONT: Pose = _both("shoulder", -90)
_ARMS_UP: Pose = {"spine": (-5, 0, 0), **_both("shoulder", -175)}

# Left leg forward; right knee towards the ground, right toes on it.
_LUNGE_STEP: Pose = {
    **_REST, "l_hip": (-45, 0, 0), "l_knee": (30, 0, 0), "l_ankle": (15, 0, 0),
    "r_hip": (15, 0, 0), "r_knee": (10, 0, 0), "r_ankle": (-25, 0, 0),
}
_LUNGE_BOTTOM: Pose = {
    **_REST, "l_hip": (-85, 0, 0), "l_knee": (90, 0, 0), "l_ankle": (-5, 0, 0),
    "r_hip": (20, 0, 0), "r_knee": (70, 0, 0),
}

# Right-handed golfer: the target is on the subject's left (+x); hands together on the club.
_GOLF_ADDRESS: Pose = {
    "spine": (35, 0, 0), "upper_neck": (-15, 0, 0),
    **_both("hip", -20), **_both("knee", 25), **_both("ankle", -5),
    "l_shoulder": (-45, 0, -20), "r_shoulder": (-45, 0, 20),
}
_GOLF_TOP: Pose = {
    **_GOLF_ADDRESS, "spine": (30, -80, 0), "upper_neck": (-15, 60, 0),
    "l_shoulder": (-110, 0, -60), "r_shoulder": (-100, 0, -20), "r_elbow": (-90, 0, 0),
    "l_knee": (35, 0, 0),
}
_GOLF_IMPACT: Pose = {**_GOLF_ADDRESS, "spine": (33, 15, 0), "upper_neck": (-15, -10, 0), "r_knee": (35, 0, 0)}
_GOLF_FINISH: Pose = {
    **_GOLF_ADDRESS, "spine": (10, 90, 0), "upper_neck": (-5, -40, 0),
    "l_shoulder": (-130, 0, 40), "l_elbow": (-90, 0, 0), "r_shoulder": (-130, 0, 10),
    "l_hip": (-5, 0, 0), "l_knee": (5, 0, 0), "l_ankle": (0, 0, 0), "r_knee": (40, 0, 0), "r_ankle": (30, 0, 0),
}

ACTIONS: dict[str, Action] = {
    action.name: action
    for action in (
        _action("squat", [("descent", 22), ("bottom", 8), ("ascent", 22)], [_REST, _SQUAT_BOTTOM, _SQUAT_HOLD, _REST]),
        _action(
            "jumping_jacks",
            [("jump_out", 8), ("land_open", 8), ("jump_in", 8), ("land_closed", 8)],
            [_REST, _JACK_AIR, _JACK_OPEN, _JACK_AIR, _REST],
            lifts=[0.0, 0.12, 0.0, 0.12, 0.0],
        ),
        _action(
            "arm_raise",
            [("raise_front", 15), ("raise_overhead", 15), ("lower_front", 15), ("lower_down", 15)],
            [_REST, _ARMS_FRONT, _ARMS_UP, _ARMS_FRONT, _REST],
        ),
        _action(
            "lunge",
            [("step_forward", 15), ("lower", 18), ("rise", 18), ("step_back", 15)],
            [_REST, _LUNGE_STEP, _LUNGE_BOTTOM, _LUNGE_STEP, _REST],
            anchor=("r_ankle",),
        ),
        _action(
            "golf_swing",
            [("backswing", 30), ("downswing", 10), ("follow_through", 25)],
            [_GOLF_ADDRESS, _GOLF_TOP, _GOLF_IMPACT, _GOLF_FINISH],
        ),
    )
}


def get_action(name: str) -> Action:
    try:
        return ACTIONS[name]
    except KeyError:
        raise ValueError(f"unknown synthetic action {name!r}; known: {', '.join(ACTIONS)}") from None

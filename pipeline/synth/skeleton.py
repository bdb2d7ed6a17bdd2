"""The generator's internal 3D skeleton: a kinematic tree with fixed bone lengths, posed by joint angles.

Body frame, metres: x = the subject's left, y = up, z = the subject's forward (right-handed:
left x up = forward). Rest pose: standing straight, arms hanging, about 1.75 m tall at scale 1.

Joint angles (degrees) are (rx, ry, rz) per posable joint, the joint's local rotation
R = Ry(ry) @ Rx(rx) @ Rz(rz) in its parent's frame; it turns the offsets of the joint's children.
Signs (for the right side use mirror(): rx kept, ry and rz negated):
- rx, about the lateral axis: < 0 swings a downward bone forward (hip / shoulder / elbow flexion),
  > 0 swings it backward (knee flexion); > 0 tips an upward bone (spine) forward.
- ry, about the vertical axis: > 0 turns toward the subject's left.
- rz, about the forward axis: > 0 moves a downward bone to the subject's left (left-limb abduction).
Forward kinematics places every child at a fixed offset from its parent, so bone lengths never change.
"""

from __future__ import annotations

import numpy as np

# (joint, parent, offset from the parent at rest in metres: x left, y up, z forward), parents first.
_LEFT_TREE = [
    ("l_shoulder", "thorax", (0.18, -0.02, 0.0)),
    ("l_elbow", "l_shoulder", (0.0, -0.29, 0.0)),
    ("l_wrist", "l_elbow", (0.0, -0.25, 0.0)),
    ("l_hip", "pelvis", (0.10, -0.05, 0.0)),
    ("l_knee", "l_hip", (0.0, -0.43, 0.0)),
    ("l_ankle", "l_knee", (0.0, -0.42, 0.0)),
    ("l_heel", "l_ankle", (0.0, -0.06, -0.05)),
    ("l_big_toe", "l_ankle", (-0.02, -0.07, 0.14)),
    ("l_small_toe", "l_ankle", (0.04, -0.07, 0.11)),
    ("l_eye", "head", (0.032, 0.025, 0.085)),
    ("l_ear", "head", (0.075, 0.0, 0.0)),
]
_TREE = [
    ("pelvis", None, (0.0, 0.0, 0.0)),
    ("spine", "pelvis", (0.0, 0.22, 0.0)),
    ("thorax", "spine", (0.0, 0.25, 0.0)),
    ("upper_neck", "thorax", (0.0, 0.08, 0.0)),
    ("head", "upper_neck", (0.0, 0.10, 0.02)),
    ("head_top", "head", (0.0, 0.11, 0.0)),
    ("nose", "head", (0.0, -0.01, 0.10)),
    *_LEFT_TREE,
    *[("r_" + j[2:], "r_" + p[2:] if p.startswith("l_") else p, (-o[0], o[1], o[2])) for j, p, o in _LEFT_TREE],
]

JOINTS: tuple[str, ...] = tuple(name for name, _, _ in _TREE)
PARENTS: tuple[int, ...] = tuple(-1 if parent is None else JOINTS.index(parent) for _, parent, _ in _TREE)
BONES: tuple[tuple[int, int], ...] = tuple((p, j) for j, p in enumerate(PARENTS) if p >= 0)
OFFSETS = np.array([offset for _, _, offset in _TREE])  # (J, 3) at scale 1
POSABLE: tuple[str, ...] = (
    "pelvis", "spine", "thorax", "upper_neck",
    "l_shoulder", "l_elbow", "l_hip", "l_knee", "l_ankle",
    "r_shoulder", "r_elbow", "r_hip", "r_knee", "r_ankle",
)
FOOT_POINTS: tuple[int, ...] = tuple(JOINTS.index(f"{s}_{p}") for s in "lr" for p in ("ankle", "heel", "big_toe", "small_toe"))
REST_CENTRE_HEIGHT = 0.9  # metres at scale 1: roughly the middle of the standing body


def mirror(angles: tuple[float, float, float]) -> tuple[float, float, float]:
    """A left joint's (rx, ry, rz) for the mirrored right joint."""
    rx, ry, rz = angles
    return (rx, -ry, -rz)


def rotation_matrices(angles: np.ndarray) -> np.ndarray:
    """(..., 3) degrees (rx, ry, rz) -> (..., 3, 3) rotations Ry @ Rx @ Rz."""
    rx, ry, rz = np.moveaxis(np.deg2rad(np.asarray(angles, dtype=np.float64)), -1, 0)
    zero, one = np.zeros_like(rx), np.ones_like(rx)

    def matrix(rows):
        return np.stack([np.stack(row, axis=-1) for row in rows], axis=-2)

    x = matrix([[one, zero, zero], [zero, np.cos(rx), -np.sin(rx)], [zero, np.sin(rx), np.cos(rx)]])
    y = matrix([[np.cos(ry), zero, np.sin(ry)], [zero, one, zero], [-np.sin(ry), zero, np.cos(ry)]])
    z = matrix([[np.cos(rz), -np.sin(rz), zero], [np.sin(rz), np.cos(rz), zero], [zero, zero, one]])
    return y @ x @ z


def forward_kinematics(angles: np.ndarray, scale: float) -> np.ndarray:
    """(T, len(POSABLE), 3) joint angles in degrees -> (T, J, 3) body-frame positions, pelvis at the origin."""
    frames = angles.shape[0]
    local = np.broadcast_to(np.eye(3), (frames, len(JOINTS), 3, 3)).copy()
    local[:, [JOINTS.index(name) for name in POSABLE]] = rotation_matrices(angles)
    glob = np.empty_like(local)
    points = np.zeros((frames, len(JOINTS), 3))
    for j, parent in enumerate(PARENTS):
        if parent < 0:
            glob[:, j] = local[:, j]
            continue
        points[:, j] = points[:, parent] + glob[:, parent] @ (scale * OFFSETS[j])
        glob[:, j] = glob[:, parent] @ local[:, j]
    return points


def pose_body(angles: np.ndarray, lift: np.ndarray, scale: float, anchor: tuple[int, ...]) -> np.ndarray:
    """Posed skeleton standing on the ground: (T, P, 3) degrees, (T,) metres of lift -> (T, J, 3).

    Each frame is moved vertically so that its lowest foot point (ankles, heels, toes) is `lift` x
    scale above the ground y = 0 (lift > 0: airborne), and horizontally so that the mean x, z of the
    `anchor` joints (indices into JOINTS, e.g. both ankles: planted feet) stays where it is at rest.
    """
    points = forward_kinematics(angles, scale)
    rest = forward_kinematics(np.zeros((1, *angles.shape[1:])), scale)
    lowest = points[:, FOOT_POINTS, 1].min(axis=1)
    points[:, :, 1] += scale * lift[:, None] - lowest[:, None]
    drift = points[:, anchor].mean(axis=1) - rest[:, anchor].mean(axis=1)
    points[:, :, [0, 2]] -= drift[:, None, [0, 2]]
    return points

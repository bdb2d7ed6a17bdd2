"""Skeleton layouts as data: joint names, limbs (joint index pairs), left/right flip pairs, chains.

A `Layout` is what every other part of the project needs to know about a skeleton:
- `joints`: names in channel order (K of them);
- `limbs`: (a, b) joint index pairs, in limb-channel order (L of them);
- `flip_pairs`: (left, right) index pairs swapped by a horizontal flip;
- `chains`: named limb chains from the proximal joint outwards (an arm, a leg, a finger),
  used to rotate or drop one chain in augmentation and robustness tests.
"""

from __future__ import annotations

from functools import cached_property

from pydantic import BaseModel, ConfigDict, model_validator


class Layout(BaseModel):
    """A skeleton layout. Immutable; validated on construction."""

    model_config = ConfigDict(frozen=True)

    name: str
    joints: tuple[str, ...]
    limbs: tuple[tuple[int, int], ...]
    flip_pairs: tuple[tuple[int, int], ...] = ()
    chains: dict[str, tuple[int, ...]] = {}

    @model_validator(mode="after")
    def _check(self) -> "Layout":
        k = len(self.joints)
        if len(set(self.joints)) != k:
            raise ValueError(f"layout {self.name}: duplicate joint names")
        for a, b in self.limbs:
            if not (0 <= a < k and 0 <= b < k) or a == b:
                raise ValueError(f"layout {self.name}: limb ({a}, {b}) does not join two joints of {k}")
        seen: set[int] = set()
        for a, b in self.flip_pairs:
            if not (0 <= a < k and 0 <= b < k) or a == b or a in seen or b in seen:
                raise ValueError(f"layout {self.name}: bad flip pair ({a}, {b})")
            seen.update((a, b))
        for chain_name, chain in self.chains.items():
            if len(chain) < 2 or any(not 0 <= j < k for j in chain):
                raise ValueError(f"layout {self.name}: bad chain {chain_name} {chain}")
        return self

    @property
    def num_joints(self) -> int:
        return len(self.joints)

    @property
    def num_limbs(self) -> int:
        return len(self.limbs)

    @property
    def num_channels(self) -> int:
        return self.num_joints + self.num_limbs

    @cached_property
    def limb_names(self) -> tuple[str, ...]:
        return tuple(f"{self.joints[a]}-{self.joints[b]}" for a, b in self.limbs)

    @cached_property
    def channel_names(self) -> tuple[str, ...]:
        """Joint names, then limb names ("a-b"): the heatmap channel order."""
        return self.joints + self.limb_names

    @cached_property
    def flip_permutation(self) -> tuple[int, ...]:
        """perm[k] = index of the joint that k becomes under a horizontal flip."""
        perm = list(range(self.num_joints))
        for a, b in self.flip_pairs:
            perm[a], perm[b] = b, a
        return tuple(perm)

    @cached_property
    def limb_flip_permutation(self) -> tuple[int, ...]:
        """perm[l] = index of the limb that limb l becomes under a horizontal flip.

        Raises ValueError if the limb set is not mirror-symmetric under the flip pairs.
        """
        joint_perm = self.flip_permutation
        lookup = {frozenset(pair): i for i, pair in enumerate(self.limbs)}
        try:
            return tuple(lookup[frozenset((joint_perm[a], joint_perm[b]))] for a, b in self.limbs)
        except KeyError as missing:
            raise ValueError(f"layout {self.name}: limbs are not symmetric under its flip pairs ({missing})") from None

    def index(self, joint: str) -> int:
        return self.joints.index(joint)


def _pairs(joints: tuple[str, ...], named: list[tuple[str, str]]) -> tuple[tuple[int, int], ...]:
    return tuple((joints.index(a), joints.index(b)) for a, b in named)


def _left_right_pairs(joints: tuple[str, ...]) -> tuple[tuple[int, int], ...]:
    """Flip pairs from the naming convention l_* / r_*."""
    return tuple(
        (i, joints.index("r_" + name[2:]))
        for i, name in enumerate(joints)
        if name.startswith("l_") and "r_" + name[2:] in joints
    )


def _chains(joints: tuple[str, ...], named: dict[str, list[str]]) -> dict[str, tuple[int, ...]]:
    return {key: tuple(joints.index(j) for j in chain) for key, chain in named.items()}


def _layout(name: str, joints: list[str], limbs: list[tuple[str, str]], chains: dict[str, list[str]]) -> Layout:
    j = tuple(joints)
    return Layout(name=name, joints=j, limbs=_pairs(j, limbs), flip_pairs=_left_right_pairs(j), chains=_chains(j, chains))


_BODY_CHAINS = {
    "left_arm": ["l_shoulder", "l_elbow", "l_wrist"],
    "right_arm": ["r_shoulder", "r_elbow", "r_wrist"],
    "left_leg": ["l_hip", "l_knee", "l_ankle"],
    "right_leg": ["r_hip", "r_knee", "r_ankle"],
}

PENN_ACTION = _layout(
    "penn_action",
    ["head", "l_shoulder", "r_shoulder", "l_elbow", "r_elbow", "l_wrist", "r_wrist",
     "l_hip", "r_hip", "l_knee", "r_knee", "l_ankle", "r_ankle"],
    [("head", "l_shoulder"), ("head", "r_shoulder"), ("l_shoulder", "r_shoulder"),
     ("l_shoulder", "l_elbow"), ("l_elbow", "l_wrist"), ("r_shoulder", "r_elbow"), ("r_elbow", "r_wrist"),
     ("l_shoulder", "l_hip"), ("r_shoulder", "r_hip"), ("l_hip", "r_hip"),
     ("l_hip", "l_knee"), ("l_knee", "l_ankle"), ("r_hip", "r_knee"), ("r_knee", "r_ankle")],
    _BODY_CHAINS,
)

_COCO17_JOINTS = ["nose", "l_eye", "r_eye", "l_ear", "r_ear", "l_shoulder", "r_shoulder", "l_elbow",
                  "r_elbow", "l_wrist", "r_wrist", "l_hip", "r_hip", "l_knee", "r_knee", "l_ankle", "r_ankle"]
_COCO17_LIMBS = [("l_ankle", "l_knee"), ("l_knee", "l_hip"), ("r_ankle", "r_knee"), ("r_knee", "r_hip"),
                 ("l_hip", "r_hip"), ("l_shoulder", "l_hip"), ("r_shoulder", "r_hip"), ("l_shoulder", "r_shoulder"),
                 ("l_shoulder", "l_elbow"), ("r_shoulder", "r_elbow"), ("l_elbow", "l_wrist"), ("r_elbow", "r_wrist"),
                 ("l_eye", "r_eye"), ("nose", "l_eye"), ("nose", "r_eye"), ("l_eye", "l_ear"), ("r_eye", "r_ear"),
                 ("l_ear", "l_shoulder"), ("r_ear", "r_shoulder")]

COCO17 = _layout("coco17", _COCO17_JOINTS, _COCO17_LIMBS, _BODY_CHAINS)

COCO18 = _layout(
    "coco18",
    ["nose", "neck", "r_shoulder", "r_elbow", "r_wrist", "l_shoulder", "l_elbow", "l_wrist", "r_hip",
     "r_knee", "r_ankle", "l_hip", "l_knee", "l_ankle", "r_eye", "l_eye", "r_ear", "l_ear"],
    [("neck", "r_shoulder"), ("neck", "l_shoulder"), ("r_shoulder", "r_elbow"), ("r_elbow", "r_wrist"),
     ("l_shoulder", "l_elbow"), ("l_elbow", "l_wrist"), ("neck", "r_hip"), ("r_hip", "r_knee"),
     ("r_knee", "r_ankle"), ("neck", "l_hip"), ("l_hip", "l_knee"), ("l_knee", "l_ankle"), ("neck", "nose"),
     ("nose", "r_eye"), ("r_eye", "r_ear"), ("nose", "l_eye"), ("l_eye", "l_ear")],
    _BODY_CHAINS,
)

_FEET = ["l_big_toe", "l_small_toe", "l_heel", "r_big_toe", "r_small_toe", "r_heel"]

BODY_25 = _layout(
    "body25",
    ["nose", "neck", "r_shoulder", "r_elbow", "r_wrist", "l_shoulder", "l_elbow", "l_wrist", "mid_hip",
     "r_hip", "r_knee", "r_ankle", "l_hip", "l_knee", "l_ankle", "r_eye", "l_eye", "r_ear", "l_ear", *_FEET],
    [("neck", "mid_hip"), ("neck", "r_shoulder"), ("neck", "l_shoulder"), ("r_shoulder", "r_elbow"),
     ("r_elbow", "r_wrist"), ("l_shoulder", "l_elbow"), ("l_elbow", "l_wrist"), ("mid_hip", "r_hip"),
     ("r_hip", "r_knee"), ("r_knee", "r_ankle"), ("mid_hip", "l_hip"), ("l_hip", "l_knee"),
     ("l_knee", "l_ankle"), ("neck", "nose"), ("nose", "r_eye"), ("r_eye", "r_ear"), ("nose", "l_eye"),
     ("l_eye", "l_ear"), ("l_ankle", "l_big_toe"), ("l_big_toe", "l_small_toe"), ("l_ankle", "l_heel"),
     ("r_ankle", "r_big_toe"), ("r_big_toe", "r_small_toe"), ("r_ankle", "r_heel")],
    _BODY_CHAINS,
)

# BODY_25B: the COCO-17 order first, then neck (upper neck), head (top) and the feet.
BODY_25B = _layout(
    "body25b",
    [*_COCO17_JOINTS, "neck", "head", *_FEET],
    [("nose", "l_eye"), ("nose", "r_eye"), ("l_eye", "l_ear"), ("r_eye", "r_ear"),
     ("l_shoulder", "l_elbow"), ("r_shoulder", "r_elbow"), ("l_elbow", "l_wrist"), ("r_elbow", "r_wrist"),
     ("l_shoulder", "l_hip"), ("r_shoulder", "r_hip"), ("l_hip", "l_knee"), ("r_hip", "r_knee"),
     ("l_knee", "l_ankle"), ("r_knee", "r_ankle"), ("l_ankle", "l_big_toe"), ("l_big_toe", "l_small_toe"),
     ("l_ankle", "l_heel"), ("r_ankle", "r_big_toe"), ("r_big_toe", "r_small_toe"), ("r_ankle", "r_heel"),
     ("l_shoulder", "neck"), ("r_shoulder", "neck"), ("neck", "head"), ("neck", "nose"), ("l_hip", "r_hip")],
    _BODY_CHAINS,
)

_FINGERS = ["thumb", "index", "middle", "ring", "pinky"]


def _hand_joints(prefix: str) -> list[str]:
    return [f"{prefix}wrist"] + [f"{prefix}{finger}{i}" for finger in _FINGERS for i in range(1, 5)]


def _hand_limbs(prefix: str) -> list[tuple[str, str]]:
    limbs = []
    for finger in _FINGERS:
        chain = [f"{prefix}wrist"] + [f"{prefix}{finger}{i}" for i in range(1, 5)]
        limbs += list(zip(chain[:-1], chain[1:]))
    return limbs


def _hand_chains(prefix: str, side: str) -> dict[str, list[str]]:
    return {f"{side}{finger}": [f"{prefix}{finger}{i}" for i in range(1, 5)] for finger in _FINGERS}


# One hand, OpenPose/MediaPipe order: wrist, then thumb, index, middle, ring, pinky (4 joints each).
HAND21 = _layout("hand21", _hand_joints(""), _hand_limbs(""), _hand_chains("", ""))

# Two hands (H2O style): the left hand's 21 joints, then the right hand's.
HANDS42 = _layout(
    "hands42",
    _hand_joints("l_") + _hand_joints("r_"),
    _hand_limbs("l_") + _hand_limbs("r_"),
    _hand_chains("l_", "left_") | _hand_chains("r_", "right_"),
)

LAYOUTS: dict[str, Layout] = {
    layout.name: layout for layout in (PENN_ACTION, BODY_25, BODY_25B, COCO18, COCO17, HAND21, HANDS42)
}


def get_layout(name: str) -> Layout:
    try:
        return LAYOUTS[name]
    except KeyError:
        raise ValueError(f"unknown skeleton layout {name!r}; known: {', '.join(LAYOUTS)}") from None

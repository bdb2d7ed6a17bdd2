"""From the internal skeleton (pipeline/synth/skeleton.py) to the project's layouts.

A layout joint is the internal joint of the same name, except:
- penn_action "head" = the head centre (internal "head");
- body25 / coco18 "neck" = midpoint of the shoulders; body25 "mid_hip" = midpoint of the hips;
- body25b "neck" = the upper neck, "head" = the top of the head (as OpenPose BODY_25B draws them).
"""

from __future__ import annotations

import numpy as np

from pipeline.layouts import get_layout
from pipeline.synth.skeleton import JOINTS

_SHOULDERS = ("l_shoulder", "r_shoulder")
_HIPS = ("l_hip", "r_hip")
_SPECIAL: dict[str, dict[str, tuple[str, ...]]] = {
    "penn_action": {},
    "coco17": {},
    "coco18": {"neck": _SHOULDERS},
    "body25": {"neck": _SHOULDERS, "mid_hip": _HIPS},
    "body25b": {"neck": ("upper_neck",), "head": ("head_top",)},
}
SUPPORTED_LAYOUTS: tuple[str, ...] = tuple(_SPECIAL)


def mapping_matrix(layout_name: str) -> np.ndarray:
    """(K, J) weights: layout joint k = sum_j W[k, j] * internal joint j (each row sums to 1)."""
    if layout_name not in _SPECIAL:
        raise ValueError(f"the synthetic generator has no mapping to layout {layout_name!r}; supported: {', '.join(SUPPORTED_LAYOUTS)}")
    layout = get_layout(layout_name)
    weights = np.zeros((layout.num_joints, len(JOINTS)))
    for k, name in enumerate(layout.joints):
        sources = _SPECIAL[layout_name].get(name, (name,))
        weights[k, [JOINTS.index(source) for source in sources]] = 1.0 / len(sources)
    return weights


def map_joints(points: np.ndarray, layout_name: str) -> np.ndarray:
    """(..., J, D) internal joints -> (..., K, D) joints of the layout (same units)."""
    return np.einsum("kj,...jd->...kd", mapping_matrix(layout_name), points)

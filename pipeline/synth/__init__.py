"""Synthetic skeleton videos with phase labels: the project's demo and test data (no download needed).

- skeleton.py: the internal 3D kinematic tree and forward kinematics;
- actions.py: the actions as key poses, and the phase rule;
- mapping.py: internal joints -> penn_action, coco17, coco18, body25, body25b;
- motion.py: one random video (timing, body size, camera, 2D noise, missing joints);
- writers.py: whole datasets in the Penn, projected, OpenPose and native formats.
"""

from pipeline.synth.actions import ACTIONS, get_action
from pipeline.synth.mapping import SUPPORTED_LAYOUTS, map_joints
from pipeline.synth.motion import SyntheticVideo, generate_dataset, generate_video
from pipeline.synth.writers import FORMATS, write_dataset

__all__ = [
    "ACTIONS", "FORMATS", "SUPPORTED_LAYOUTS", "SyntheticVideo",
    "generate_dataset", "generate_video", "get_action", "map_joints", "write_dataset",
]

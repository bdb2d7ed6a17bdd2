"""One video's poses -> what the cache holds: crop box, grid keypoints, heatmaps."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from pipeline.heatmap_kernel import render_heatmaps_fast
from pipeline.heatmaps import CropBox, GridMapping, HeatmapSettings, crop_box
from pipeline.pose import PoseSequence


@dataclass
class PreparedVideo:
    """heatmaps: (T, K+L, S, S) float32 in [0, 1]; grid_keypoints: (T, K, 3) float32."""

    heatmaps: np.ndarray
    grid_keypoints: np.ndarray
    box: CropBox
    mapping: GridMapping


def prepare_video(seq: PoseSequence, settings: HeatmapSettings) -> PreparedVideo:
    """Crop to the video's box, map into the grid, render joint + limb maps (compiled CPU kernel)."""
    box = crop_box(seq.keypoints)
    mapping = GridMapping.fit(box, settings)
    grid = mapping.to_grid(seq.keypoints)
    heatmaps = render_heatmaps_fast(grid, np.asarray(seq.layout.limbs), settings.size, settings.sigma)
    return PreparedVideo(heatmaps, grid, box, mapping)

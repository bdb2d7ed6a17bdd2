import math

import numpy as np
import pytest
import torch

from pipeline.heatmap_kernel import render_heatmaps_fast
from pipeline.heatmaps import (
    CropBox, GridMapping, HeatmapSettings, crop_box, flip_grid_keypoints, render_heatmaps_reference,
    render_heatmaps_torch,
)
from pipeline.layouts import PENN_ACTION

LIMBS = np.array(PENN_ACTION.limbs)


def random_grid_keypoints(rng, frames=7, joints=13, size=30, missing=0.15):
    """(T, K, 3): positions inside and slightly outside the grid, random confidences, some missing."""
    kp = np.empty((frames, joints, 3), np.float32)
    kp[..., :2] = rng.uniform(-2, size + 1, (frames, joints, 2))
    kp[..., 2] = rng.uniform(0.2, 1.0, (frames, joints))
    kp[rng.random((frames, joints)) < missing] = 0
    kp[0, 3, :2] = kp[0, 5, :2]  # a zero-length limb (l_elbow on l_wrist)
    return kp


@pytest.mark.parametrize("sigma", [0.6, 1.0, 2.0])
def test_renderers_match_plain_evaluation(sigma):
    kp = random_grid_keypoints(np.random.default_rng(int(sigma * 10)))
    ref = render_heatmaps_reference(kp, LIMBS, 30, sigma)
    fast = render_heatmaps_fast(kp, LIMBS, 30, sigma)
    tor = render_heatmaps_torch(torch.from_numpy(kp), LIMBS, 30, sigma).numpy()
    assert ref.shape == fast.shape == tor.shape == (7, 27, 30, 30)
    assert np.abs(fast - ref).max() < 1e-5
    assert np.abs(tor - ref).max() < 1e-5
    assert ref.max() > 0.5  # not all zeros


def test_joint_and_limb_values_follow_equations():
    kp = np.zeros((1, 13, 3), np.float32)
    kp[0, 1] = (3, 5, 0.7)    # l_shoulder at col 3, row 5
    kp[0, 3] = (13, 5, 0.9)   # l_elbow at col 13, row 5: limb l_shoulder-l_elbow is horizontal
    maps = render_heatmaps_fast(kp, LIMBS, 30, 1.0)
    assert maps[0, 1, 5, 3] == pytest.approx(0.7)
    assert maps[0, 1, 5, 4] == pytest.approx(0.7 * math.exp(-0.5))
    assert maps[0, 1, 7, 3] == pytest.approx(0.7 * math.exp(-2.0))
    limb = 13 + PENN_ACTION.limbs.index((1, 3))
    assert np.allclose(maps[0, limb, 5, 3:14], 0.7)              # on the segment: min(c_a, c_b)
    assert maps[0, limb, 6, 8] == pytest.approx(0.7 * math.exp(-0.5))
    assert maps[0, limb, 5, 15] == pytest.approx(0.7 * math.exp(-2.0))  # beyond the end: distance to it
    assert maps[0, 0].max() == 0                                   # missing head: zero map
    assert maps[0, 13].max() == 0                                  # limb touching a missing joint


def test_torch_renderer_takes_batches_of_sequences():
    rng = np.random.default_rng(1)
    batch = np.stack([random_grid_keypoints(rng, frames=5) for _ in range(3)])  # (B, T, K, 3)
    out = render_heatmaps_torch(torch.from_numpy(batch), LIMBS, chunk=4)
    assert out.shape == (3, 5, 27, 30, 30)
    for b in range(3):
        assert torch.allclose(out[b], render_heatmaps_torch(torch.from_numpy(batch[b]), LIMBS), atol=1e-6)


def test_torch_renderer_is_differentiable():
    kp = torch.from_numpy(random_grid_keypoints(np.random.default_rng(2), frames=2)).requires_grad_()
    render_heatmaps_torch(kp, LIMBS).sum().backward()
    assert torch.isfinite(kp.grad).all() and kp.grad[..., :2].abs().sum() > 0


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device on this machine")
def test_torch_renderer_on_gpu_matches_cpu():
    kp = torch.from_numpy(random_grid_keypoints(np.random.default_rng(3), frames=50))
    cpu = render_heatmaps_torch(kp, LIMBS)
    gpu = render_heatmaps_torch(kp.cuda(), LIMBS).cpu()
    assert (gpu - cpu).abs().max() < 1e-5


def test_horizontal_flip_symmetry():
    kp = random_grid_keypoints(np.random.default_rng(4), missing=0.1)
    flipped = flip_grid_keypoints(kp, PENN_ACTION.flip_permutation)
    maps, flipped_maps = render_heatmaps_fast(kp, LIMBS), render_heatmaps_fast(flipped, LIMBS)
    channel_perm = list(PENN_ACTION.flip_permutation) + [13 + l for l in PENN_ACTION.limb_flip_permutation]
    expected = maps[:, channel_perm, :, ::-1]  # mirror columns, swap left/right channels
    assert np.abs(flipped_maps - expected).max() < 1e-5
    twice = flip_grid_keypoints(flipped, PENN_ACTION.flip_permutation)
    assert np.allclose(twice, np.where(kp[..., 2:] > 0, kp, 0), atol=1e-5)  # flip twice = identity


def test_crop_box_ignores_missing_joints_and_mapping_fills_grid():
    kp = np.array([[[10, 20, 1], [110, 70, 0.5], [999, 999, 0]]], np.float32)
    box = crop_box(kp)
    assert box == CropBox(10, 20, 110, 70)
    settings = HeatmapSettings(size=30, margin=1.0)
    mapping = GridMapping.fit(box, settings)
    grid = mapping.to_grid(kp)
    assert grid[0, 0, 0] == pytest.approx(1.0) and grid[0, 1, 0] == pytest.approx(28.0)  # long side spans margin..28
    assert grid[0, 0, 1] == pytest.approx(14.5 - 25 * mapping.scale)                       # short side centred
    assert np.allclose(mapping.to_source(grid)[0, :2, :2], kp[0, :2, :2], atol=1e-4)
    assert grid[0, 2, :2].tolist() == [0, 0]


def test_degenerate_crop_box_lands_in_the_centre():
    kp = np.array([[[50, 60, 1]], [[50, 60, 1]]], np.float32)
    mapping = GridMapping.fit(crop_box(kp), HeatmapSettings())
    assert mapping.scale == 1.0
    assert mapping.to_grid(kp)[0, 0, :2].tolist() == [14.5, 14.5]
    with pytest.raises(ValueError, match="no joint"):
        crop_box(np.zeros((3, 2, 3), np.float32))

import math

import numpy as np
import pytest
from pydantic import ValidationError

from pipeline.augment import (
    AugmentConfig, Augmented, HorizontalFlip, PositionNoise, RotateChain, TemporalSubsample, add_position_noise,
    augment, drop_chains, horizontal_flip, rotate_chain, temporal_subsample,
)
from pipeline.layouts import HANDS42, PENN_ACTION

K = PENN_ACTION.num_joints
L_SHOULDER, L_ELBOW, L_WRIST = PENN_ACTION.chains["left_arm"]
ONLY_TEMPORAL = AugmentConfig(temporal_p=1.0, position_p=0.0, rotation_p=0.0, flip_p=0.0)
ALWAYS = AugmentConfig(temporal_p=1.0, position_p=1.0, rotation_p=1.0, flip_p=1.0)


def skeleton(rng, frames=20, joints=K, missing=0.1):
    """(M, K, 3) grid keypoints with distinct frames, confidences in (0.2, 1], some joints missing."""
    kp = np.empty((frames, joints, 3), np.float32)
    kp[..., :2] = rng.uniform(2, 27, (frames, joints, 2))
    kp[..., 2] = rng.uniform(0.2, 1.0, (frames, joints))
    kp[rng.random((frames, joints)) < missing] = 0.0
    return kp


def bone_lengths(kp, chain):
    return np.linalg.norm(np.diff(kp[:, list(chain), :2], axis=1), axis=-1)


# --- temporal --------------------------------------------------------------------------------


@pytest.mark.parametrize("seed", range(10))
def test_temporal_labels_are_sorted_unique_in_range_and_exact(seed):
    rng = np.random.default_rng(seed)
    s = skeleton(rng, frames=int(rng.integers(2, 40)))
    out = augment(s, PENN_ACTION, rng, ONLY_TEMPORAL)
    m, n = len(s), out.num_frames
    assert out.applied == {"temporal": True, "position": False, "rotation": False, "flip": False}
    assert out.keypoints.dtype == np.float32 and out.gt_index.dtype == np.int64
    assert out.keypoints.shape == (n, K, 3) and out.gt_index.shape == (n,)
    assert np.all(np.diff(out.gt_index) > 0)  # sorted and unique
    assert 0 <= out.gt_index.min() and out.gt_index.max() < m
    assert max(2, math.ceil(0.5 * m)) <= n <= m
    assert np.array_equal(out.keypoints, s[out.gt_index])  # S'[j] == S[gt[j]] exactly


def test_temporal_length_covers_the_whole_range():
    s = skeleton(np.random.default_rng(0), frames=10)
    rng = np.random.default_rng(1)
    lengths = {len(temporal_subsample(s, rng, min_keep_fraction=0.3)[1]) for _ in range(300)}
    assert lengths == set(range(3, 11))


def test_temporal_keeps_short_sequences_whole():
    s = skeleton(np.random.default_rng(0), frames=2)
    kp, index = temporal_subsample(s, np.random.default_rng(0))
    assert np.array_equal(index, [0, 1]) and np.array_equal(kp, s)


# --- identity config ------------------------------------------------------------------------


def test_zero_probabilities_give_the_identity():
    s = skeleton(np.random.default_rng(3))
    out = augment(s, PENN_ACTION, np.random.default_rng(4), AugmentConfig.identity())
    assert np.array_equal(out.keypoints, s)
    assert np.array_equal(out.gt_index, np.arange(len(s)))
    assert not any(out.applied.values()) and out.params == {}
    assert out.keypoints is not s  # a copy, never the caller's array


def test_config_defaults_and_validation():
    c = AugmentConfig()
    assert (c.temporal_p, c.position_p, c.rotation_p, c.flip_p) == (0.5, 0.3, 0.3, 0.3)
    assert (c.min_keep_fraction, c.position_sigma, c.rotation_sigma) == (0.5, 1.0, 0.1)
    assert AugmentConfig(flip_p=0.9).flip_p == 0.9
    with pytest.raises(ValidationError):
        AugmentConfig(flip_p=1.5)
    with pytest.raises(ValidationError):
        AugmentConfig(flip_probability=0.5)
    with pytest.raises(ValueError, match="no chains"):
        augment(skeleton(np.random.default_rng(0)), PENN_ACTION, np.random.default_rng(0),
                AugmentConfig(rotation_chains=("tail",)))


# --- position noise ---------------------------------------------------------------------------


def test_position_noise_has_sigma_one_on_present_joints_and_spares_missing_ones():
    s = skeleton(np.random.default_rng(0), frames=2000, missing=0.2)
    out = add_position_noise(s, np.random.default_rng(1), sigma=1.0)
    present = s[..., 2] > 0
    delta = (out[..., :2] - s[..., :2])[present]
    assert delta.shape[0] > 15000
    assert abs(delta.mean()) < 0.02
    assert np.allclose(delta.std(axis=0), 1.0, atol=0.02)
    assert np.array_equal(out[~present], s[~present])  # missing: c = 0, x = y = 0, untouched
    assert np.all(out[~present] == 0)
    assert np.array_equal(out[..., 2], s[..., 2])


# --- rotation --------------------------------------------------------------------------------


@pytest.mark.parametrize("chain_name", list(PENN_ACTION.chains))
def test_rotation_preserves_bone_lengths_and_moves_only_distal_chain_joints(chain_name):
    chain = PENN_ACTION.chains[chain_name]
    s = skeleton(np.random.default_rng(5), frames=50, missing=0.0)
    out = rotate_chain(s, chain, 0.7)
    assert np.allclose(bone_lengths(out, chain), bone_lengths(s, chain), atol=1e-4)
    others = [k for k in range(K) if k not in chain[1:]]
    assert np.array_equal(out[:, others], s[:, others])  # proximal joint and the rest untouched
    assert np.all(np.abs(out[:, list(chain[1:]), :2] - s[:, list(chain[1:]), :2]).max(axis=(1, 2)) > 1e-3)
    assert np.array_equal(out[..., 2], s[..., 2])


def test_zero_angle_is_the_identity():
    s = skeleton(np.random.default_rng(6))
    assert np.array_equal(rotate_chain(s, PENN_ACTION.chains["right_leg"], 0.0), s)


def test_ninety_degree_rotation_of_a_straight_arm():
    kp = np.zeros((1, K, 3), np.float32)
    kp[0, L_SHOULDER] = (10, 10, 1)
    kp[0, L_ELBOW] = (13, 10, 1)
    kp[0, L_WRIST] = (16, 10, 0.5)
    out = rotate_chain(kp, (L_SHOULDER, L_ELBOW, L_WRIST), math.pi / 2)
    # +x turns to +y (down the rows): the arm now hangs straight down from the shoulder.
    assert np.allclose(out[0, L_SHOULDER], (10, 10, 1))
    assert np.allclose(out[0, L_ELBOW], (10, 13, 1), atol=1e-5)
    assert np.allclose(out[0, L_WRIST], (10, 16, 0.5), atol=1e-5)
    back = rotate_chain(out, (L_SHOULDER, L_ELBOW, L_WRIST), -math.pi / 2)
    assert np.allclose(back, kp, atol=1e-5)


def test_rotation_leaves_frames_without_proximal_joint_and_missing_joints_alone():
    s = skeleton(np.random.default_rng(7), frames=3, missing=0.0)
    s[1, L_SHOULDER] = 0.0  # proximal joint missing in frame 1
    s[2, L_ELBOW] = 0.0  # a distal joint missing in frame 2
    out = rotate_chain(s, PENN_ACTION.chains["left_arm"], 0.5)
    assert np.array_equal(out[1], s[1])
    assert np.array_equal(out[2, L_ELBOW], [0, 0, 0])
    assert not np.allclose(out[2, L_WRIST], s[2, L_WRIST])
    d_before = np.linalg.norm(s[2, L_WRIST, :2] - s[2, L_SHOULDER, :2])
    d_after = np.linalg.norm(out[2, L_WRIST, :2] - out[2, L_SHOULDER, :2])
    assert d_after == pytest.approx(d_before, abs=1e-4)


# --- flip ------------------------------------------------------------------------------------


def test_flip_twice_is_the_identity():
    s = skeleton(np.random.default_rng(8))
    assert np.allclose(horizontal_flip(horizontal_flip(s, PENN_ACTION), PENN_ACTION), s, atol=1e-5)
    assert np.allclose(horizontal_flip(horizontal_flip(s, PENN_ACTION, 64), PENN_ACTION, 64), s, atol=1e-5)


def test_flip_swaps_left_and_right_and_mirrors_x():
    s = skeleton(np.random.default_rng(9), missing=0.2)
    out = horizontal_flip(s, PENN_ACTION)
    perm = PENN_ACTION.flip_permutation
    for k in range(K):
        src = s[:, perm[k]]
        present = src[:, 2] > 0
        assert np.allclose(out[present, k, 0], 29 - src[present, 0])
        assert np.array_equal(out[:, k, 1:], src[:, 1:])  # y and c follow the joint unchanged
        assert np.all(out[~present, k] == 0)
    l_sh, r_sh = PENN_ACTION.index("l_shoulder"), PENN_ACTION.index("r_shoulder")
    head = PENN_ACTION.index("head")
    assert perm[l_sh] == r_sh and perm[r_sh] == l_sh and perm[head] == head


# --- composition -----------------------------------------------------------------------------


def test_augment_is_reproducible_with_a_seeded_rng():
    s = skeleton(np.random.default_rng(10), frames=30)
    a = augment(s, PENN_ACTION, np.random.default_rng(123), ALWAYS)
    b = augment(s, PENN_ACTION, np.random.default_rng(123), ALWAYS)
    c = augment(s, PENN_ACTION, np.random.default_rng(124), ALWAYS)
    assert np.array_equal(a.keypoints, b.keypoints) and np.array_equal(a.gt_index, b.gt_index)
    assert a.applied == b.applied and a.params == b.params
    assert not (a.keypoints.shape == c.keypoints.shape and np.array_equal(a.keypoints, c.keypoints))


def test_temporal_then_flip_keeps_exact_correspondences():
    s = skeleton(np.random.default_rng(11), frames=25)
    config = AugmentConfig(temporal_p=1.0, position_p=0.0, rotation_p=0.0, flip_p=1.0)
    out = augment(s, PENN_ACTION, np.random.default_rng(12), config)
    assert out.applied["flip"] and out.applied["temporal"]
    assert np.array_equal(out.keypoints, horizontal_flip(s[out.gt_index], PENN_ACTION))


def test_all_augmentations_keep_labels_valid_and_missing_joints_missing():
    s = skeleton(np.random.default_rng(13), frames=31, missing=0.2)
    for seed in range(50):
        out = augment(s, PENN_ACTION, np.random.default_rng(seed), ALWAYS)
        assert all(out.applied.values())
        assert out.params["chain"] in PENN_ACTION.chains and out.params["num_frames"] == out.num_frames
        assert np.all(np.diff(out.gt_index) > 0) and out.gt_index.max() < len(s)
        # c follows the joints through the flip; missing stays missing
        expected_c = s[out.gt_index][:, list(PENN_ACTION.flip_permutation), 2]
        assert np.array_equal(out.keypoints[..., 2], expected_c)
        assert np.all(out.keypoints[out.keypoints[..., 2] == 0][:, :2] == 0)


def test_default_probabilities_and_angle_spread():
    s = skeleton(np.random.default_rng(14), frames=8, joints=K)
    rng = np.random.default_rng(15)
    runs = [augment(s, PENN_ACTION, rng) for _ in range(2000)]
    rates = {name: np.mean([r.applied[name] for r in runs]) for name in ("temporal", "position", "rotation", "flip")}
    assert rates["temporal"] == pytest.approx(0.5, abs=0.04)
    for name in ("position", "rotation", "flip"):
        assert rates[name] == pytest.approx(0.3, abs=0.04)
    angles = np.array([r.params["angle"] for r in runs if r.applied["rotation"]])
    assert np.std(angles) == pytest.approx(0.1, abs=0.015)
    chains = {r.params["chain"] for r in runs if r.applied["rotation"]}
    assert chains == set(PENN_ACTION.chains)


def test_transforms_are_callables_on_samples():
    s = skeleton(np.random.default_rng(16), frames=12)
    rng = np.random.default_rng(0)
    sample = Augmented.original(s)
    sample = TemporalSubsample(p=1.0)(sample, rng)
    sample = TemporalSubsample(p=1.0)(sample, rng)  # twice: gt composes through both
    assert np.array_equal(sample.keypoints, s[sample.gt_index])
    sample = PositionNoise(p=0.0)(sample, rng)
    sample = RotateChain({"left_arm": PENN_ACTION.chains["left_arm"]}, p=1.0, sigma=0.0)(sample, rng)
    sample = HorizontalFlip(PENN_ACTION.flip_permutation, p=0.0)(sample, rng)
    assert sample.applied == {"temporal": True, "position": False, "rotation": True, "flip": False}
    assert sample.params["chain"] == "left_arm" and sample.params["angle"] == 0.0
    assert np.array_equal(sample.keypoints, s[sample.gt_index])


def test_restricted_rotation_chains_and_two_hand_layout():
    s = skeleton(np.random.default_rng(17), frames=10, joints=HANDS42.num_joints)
    config = AugmentConfig(temporal_p=0.0, position_p=0.0, rotation_p=1.0, flip_p=0.0,
                           rotation_chains=("left_index",))
    out = augment(s, HANDS42, np.random.default_rng(0), config)
    assert out.params["chain"] == "left_index"
    moved = np.flatnonzero(np.any(out.keypoints != s, axis=(0, 2)))
    assert set(moved) <= set(HANDS42.chains["left_index"][1:])


# --- drop_chains ---------------------------------------------------------------------------


def test_drop_chains_with_p_one_removes_exactly_one_chain_per_frame():
    s = skeleton(np.random.default_rng(18), frames=40, missing=0.0)
    out, dropped = drop_chains(s, PENN_ACTION, np.random.default_rng(0), p=1.0)
    assert len(dropped) == len(s)
    for t, name in enumerate(dropped):
        chain = list(PENN_ACTION.chains[name])
        gone = np.flatnonzero(out[t, :, 2] == 0)
        assert sorted(gone) == sorted(chain)
        assert np.all(out[t, chain] == 0)
        keep = [k for k in range(K) if k not in chain]
        assert np.array_equal(out[t, keep], s[t, keep])
    assert set(dropped) == set(PENN_ACTION.chains)


def test_drop_chains_with_p_zero_removes_nothing_and_respects_the_chain_list():
    s = skeleton(np.random.default_rng(19), frames=20)
    out, dropped = drop_chains(s, PENN_ACTION, np.random.default_rng(0), p=0.0)
    assert np.array_equal(out, s) and dropped == [None] * 20
    out, dropped = drop_chains(s, PENN_ACTION, np.random.default_rng(0), p=1.0, chains=["right_arm"])
    assert dropped == ["right_arm"] * 20
    assert np.all(out[:, list(PENN_ACTION.chains["right_arm"])] == 0)
    with pytest.raises(ValueError, match="no chains"):
        drop_chains(s, PENN_ACTION, np.random.default_rng(0), p=1.0, chains=["tail"])


def test_drop_chains_rate_follows_p():
    s = skeleton(np.random.default_rng(20), frames=4000, missing=0.0)
    _, dropped = drop_chains(s, PENN_ACTION, np.random.default_rng(1), p=0.25)
    assert np.mean([d is not None for d in dropped]) == pytest.approx(0.25, abs=0.03)

"""Synthetic motion generator, its dataset writers and the native synthetic source."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest
import scipy.io

from pipeline.errors import SourceError
from pipeline.layouts import get_layout
from pipeline.sources import SourceKind, SourceOptions, VideoRef, discover_videos, load_video
from pipeline.sources import synthetic
from pipeline.synth import ACTIONS, SUPPORTED_LAYOUTS, generate_dataset, generate_video, map_joints, write_dataset
from pipeline.synth.skeleton import BONES, JOINTS

PENN_FIELDS = {  # name: (dtype, shape with T for the frame count), as in the real files
    "action": ("<U", (1,)), "pose": ("<U", (1,)), "x": ("float64", ("T", 13)), "y": ("float64", ("T", 13)),
    "visibility": ("uint8", ("T", 13)), "train": ("int32", (1, 1)), "bbox": ("float64", ("T", 4)),
    "dimensions": ("uint16", (1, 3)), "nframes": ("uint8", (1, 1)),
}


@pytest.fixture(scope="module")
def videos():
    """Two videos of every action, layout body25."""
    return list(generate_dataset(videos_per_action=2, seed=3, layout="body25"))


# ------------------------------------------------------------------------------------- the motion


def test_actions_have_three_or_more_named_phases():
    assert len(ACTIONS) >= 4
    for action in ACTIONS.values():
        assert len(action.phase_names) >= 3
        assert action.key_angles.shape[0] == len(action.phase_names) + 1


def test_bone_lengths_are_constant_within_a_video(videos):
    for video in videos:
        lengths = np.stack([np.linalg.norm(video.joints3d[:, a] - video.joints3d[:, b], axis=-1) for a, b in BONES], axis=1)
        np.testing.assert_allclose(lengths, np.broadcast_to(lengths[0], lengths.shape), atol=1e-5)
        assert video.joints3d.shape == (len(video.phases), len(JOINTS), 3) and video.joints3d.dtype == np.float32


def test_body_size_differs_between_videos():
    spines = set()
    for index in range(4):
        joints = generate_video("squat", index).joints3d
        spines.add(round(float(np.linalg.norm(joints[0, JOINTS.index("spine")] - joints[0, JOINTS.index("pelvis")])), 5))
    assert len(spines) == 4


def test_same_seed_action_index_reproduces_the_video():
    a, b = generate_video("lunge", 5, seed=11), generate_video("lunge", 5, seed=11)
    for field in ("joints3d", "keypoints2d", "phases"):
        np.testing.assert_array_equal(getattr(a, field), getattr(b, field))
    assert (a.padding, a.yaw_degrees) == (b.padding, b.yaw_degrees)


def test_other_index_or_seed_gives_another_video():
    base = generate_video("lunge", 5, seed=11)
    for other in (generate_video("lunge", 6, seed=11), generate_video("lunge", 5, seed=12)):
        assert other.phases.shape != base.phases.shape or not np.array_equal(other.keypoints2d, base.keypoints2d)


def test_3d_motion_does_not_depend_on_the_layout():
    penn, body25 = generate_video("squat", 0, layout="penn_action"), generate_video("squat", 0, layout="body25")
    np.testing.assert_array_equal(penn.joints3d, body25.joints3d)
    np.testing.assert_array_equal(penn.phases, body25.phases)


def test_phases_are_monotonic_complete_and_padded(videos):
    for video in videos:
        phases, (start, end) = video.phases, video.padding
        assert phases.dtype == np.int16
        assert (np.diff(phases) >= 0).all()
        assert set(phases.tolist()) == set(range(len(video.phase_names)))
        assert start >= 3 and end >= 3
        assert (phases[: start + 1] == 0).all() and (phases[-end:] == len(video.phase_names) - 1).all()
        # padding holds the first / last key pose: identical 3D frames, motion in between
        assert np.array_equal(video.joints3d[: start + 1], np.broadcast_to(video.joints3d[0], (start + 1, *video.joints3d.shape[1:])))
        assert np.array_equal(video.joints3d[-end:], np.broadcast_to(video.joints3d[-1], (end, *video.joints3d.shape[1:])))
        assert not np.array_equal(video.joints3d[start + 1], video.joints3d[start])


def test_tempo_differs_between_videos():
    phase_lengths = {tuple(np.bincount(generate_video("arm_raise", i).phases)) for i in range(5)}
    assert len(phase_lengths) == 5
    lengths = {len(generate_video("arm_raise", i).phases) for i in range(5)}
    assert len(lengths) >= 3


def test_every_layout_mapping_has_the_layouts_joint_count():
    points = np.random.default_rng(0).normal(size=(4, len(JOINTS), 3))
    for name in SUPPORTED_LAYOUTS:
        assert map_joints(points, name).shape == (4, get_layout(name).num_joints, 3)
        video = generate_video("squat", 0, layout=name)
        assert video.keypoints2d.shape == (len(video.phases), get_layout(name).num_joints, 3)
    body25 = get_layout("body25")
    neck = map_joints(points, "body25")[:, body25.index("neck")]
    np.testing.assert_allclose(neck, (points[:, JOINTS.index("l_shoulder")] + points[:, JOINTS.index("r_shoulder")]) / 2)
    with pytest.raises(ValueError, match="no mapping"):
        map_joints(points, "hand21")


def test_keypoints_lie_inside_the_frame_and_missing_joints_have_zero_confidence(videos):
    missing_seen = 0
    for video in videos:
        width, height = video.frame_size
        kp = video.keypoints2d
        assert kp.dtype == np.float32 and (width, height) == (480, 360)
        assert (kp[..., 0] >= 0).all() and (kp[..., 0] <= width - 1).all()
        assert (kp[..., 1] >= 0).all() and (kp[..., 1] <= height - 1).all()
        assert (kp[..., 2] >= 0).all() and (kp[..., 2] <= 1).all()
        missing = kp[..., 2] == 0
        assert (kp[missing, :2] == 0).all()
        assert missing.mean() < 0.2
        missing_seen += int(missing.sum())
    assert missing_seen > 0


def test_split_marks_the_last_thirty_percent_as_test():
    splits = [v.split for v in generate_dataset(["jumping_jacks"], videos_per_action=10)]
    assert splits == ["train"] * 7 + ["test"] * 3


def test_unknown_action_is_an_error():
    with pytest.raises(ValueError, match="unknown synthetic action"):
        generate_video("moonwalk", 0)


# ------------------------------------------------------------------------------------- the writers


def _manifest(out_dir: Path) -> dict:
    return json.loads((out_dir / "manifest.json").read_text())


def test_penn_writer_matches_the_real_field_names_shapes_and_dtypes(tmp_path: Path):
    paths = write_dataset(tmp_path, "penn", actions=["squat", "golf_swing"], videos_per_action=2, seed=1)
    assert [p.name for p in paths] == ["0001.mat", "0002.mat", "0003.mat", "0004.mat"]
    video = generate_video("squat", 1, seed=1, split="test")
    mat = scipy.io.loadmat(str(paths[1]))
    frames = len(video.phases)
    for name, (dtype, shape) in PENN_FIELDS.items():
        assert str(mat[name].dtype).startswith(dtype), name
        assert mat[name].shape == tuple(frames if s == "T" else s for s in shape), name
    assert mat["action"][0] == "squat" and mat["pose"][0] in {"front", "side", "back"}
    assert mat["train"][0][0] == -1 and mat["nframes"][0][0] == frames
    assert mat["dimensions"].tolist() == [[360, 480, frames]]
    np.testing.assert_allclose(mat["x"], video.keypoints2d[..., 0])
    np.testing.assert_array_equal(mat["visibility"] == 0, video.keypoints2d[..., 2] == 0)
    np.testing.assert_array_equal(np.load(tmp_path / "labels" / "0002.phases.npy"), video.phases)
    manifest = _manifest(tmp_path)
    assert manifest["seed"] == 1 and [v["path"] for v in manifest["videos"]][0] == "labels/0001.mat"
    assert manifest["actions"]["squat"] == list(ACTIONS["squat"].phase_names)


@pytest.mark.real_data
def test_penn_writer_fields_are_those_of_a_real_file(tmp_path: Path, penn_labels: Path):
    real = scipy.io.loadmat(str(penn_labels / "0001.mat"))
    written = scipy.io.loadmat(str(write_dataset(tmp_path, "penn", actions=["squat"], videos_per_action=1)[0]))
    fields = {name for name in real if not name.startswith("__")}
    assert fields == {name for name in written if not name.startswith("__")}
    for name in fields:
        assert (real[name].dtype.kind, real[name].ndim) == (written[name].dtype.kind, written[name].ndim), name


def test_penn_writer_output_loads_through_the_penn_source(tmp_path: Path):
    write_dataset(tmp_path, "penn", actions=["lunge"], videos_per_action=3)
    refs = discover_videos("penn", tmp_path)
    assert [r.video_id for r in refs] == ["0001", "0002", "0003"]
    for ref, video in zip(refs, generate_dataset(["lunge"], videos_per_action=3)):
        seq = load_video(ref)
        assert (seq.action, seq.split, seq.frame_size) == ("lunge", video.split, (480, 360))
        np.testing.assert_array_equal(seq.phases, video.phases)
        np.testing.assert_allclose(seq.keypoints[..., :2], video.keypoints2d[..., :2], atol=1e-4)
        np.testing.assert_array_equal(seq.keypoints[..., 2] == 0, video.keypoints2d[..., 2] == 0)


def test_native_writer_round_trips_through_the_synthetic_source(tmp_path: Path):
    paths = write_dataset(tmp_path, "synthetic", actions=["squat", "arm_raise"], videos_per_action=2, layout="coco17")
    refs = discover_videos(SourceKind.synthetic, tmp_path)
    assert [r.video_id for r in refs] == sorted(p.stem for p in paths)
    for video in generate_dataset(["squat", "arm_raise"], videos_per_action=2, layout="coco17"):
        seq = load_video(VideoRef(kind=SourceKind.synthetic, video_id=video.video_id, path=str(tmp_path / f"{video.video_id}.npz")))
        assert seq.layout.name == "coco17" and seq.frame_size == (480, 360)
        assert (seq.action, seq.split) == (video.action, video.split)
        np.testing.assert_array_equal(seq.keypoints, video.keypoints2d)
        np.testing.assert_array_equal(seq.phases, video.phases)
    names = np.load(paths[0])["phase_names"]
    assert tuple(names) == ACTIONS["squat"].phase_names


def test_synthetic_source_errors_name_the_file(tmp_path: Path):
    good = write_dataset(tmp_path, "synthetic", actions=["squat"], videos_per_action=1)[0]
    arrays = dict(np.load(good))
    cases = {}
    del arrays["phases"]
    np.savez(tmp_path / "no_phases.npz", **arrays)
    cases["no_phases"] = "missing key(s) phases"
    (tmp_path / "garbage.npz").write_bytes(b"not a zip file at all")
    cases["garbage"] = "unreadable"
    np.save(tmp_path / "single.npy", np.zeros(3))
    (tmp_path / "single.npy").rename(tmp_path / "single.npz")
    cases["single"] = "not a .npz archive"
    np.savez(tmp_path / "bad_layout.npz", **{**arrays, "phases": np.zeros(3, np.int16), "layout": np.array("stick")})
    cases["bad_layout"] = "unknown skeleton layout"
    for stem, message in cases.items():
        path = tmp_path / f"{stem}.npz"
        with pytest.raises(SourceError, match=re.escape(message)) as info:
            synthetic.load(VideoRef(kind=SourceKind.synthetic, video_id=stem, path=str(path)), SourceOptions())
        assert info.value.path == str(path)
    with pytest.raises(SourceError, match="options ask for body25"):
        synthetic.load(VideoRef(kind=SourceKind.synthetic, video_id="x", path=str(good)), SourceOptions(layout="body25"))


def test_projected_writer_holds_penn_ordered_3d_joints(tmp_path: Path):
    path = write_dataset(tmp_path, "projected", actions=["golf_swing"], videos_per_action=1)[0]
    video = generate_video("golf_swing", 0)
    data = np.load(path)
    assert set(data.files) == {"joints3d", "layout", "action", "split", "phases"}
    assert data["joints3d"].shape == (len(video.phases), 13, 3) and str(data["layout"]) == "penn_action"
    np.testing.assert_allclose(data["joints3d"][:, 0], video.joints3d[:, JOINTS.index("head")], atol=1e-6)
    np.testing.assert_array_equal(data["phases"], video.phases)
    (ref,) = discover_videos("projected", tmp_path)
    seq = load_video(ref)
    assert (ref.video_id, seq.action, seq.split) == ("golf_swing_0000", "golf_swing", "train")
    np.testing.assert_array_equal(seq.phases, video.phases)


def test_openpose_writer_frames_hold_75_numbers_per_person_and_a_bystander(tmp_path: Path):
    paths = write_dataset(tmp_path, "openpose", actions=["jumping_jacks", "squat"], videos_per_action=2)
    people_counts = set()
    for path, video in zip(paths, generate_dataset(["jumping_jacks", "squat"], videos_per_action=2, layout="body25")):
        files = sorted(path.glob("*_keypoints.json"))
        assert len(files) == len(video.phases)
        assert files[0].name == f"{video.video_id}_000000000000_keypoints.json"
        for t, file in enumerate(files):
            frame = json.loads(file.read_text())
            assert frame["version"] == 1.3
            people_counts.add(len(frame["people"]))
            assert all(len(person["pose_keypoints_2d"]) == 75 for person in frame["people"])
            assert any(
                np.allclose(np.reshape(person["pose_keypoints_2d"], (25, 3)), video.keypoints2d[t], atol=1e-3)
                for person in frame["people"]
            )
        np.testing.assert_array_equal(np.load(tmp_path / f"{video.video_id}.phases.npy"), video.phases)
    assert people_counts == {1, 2}


def test_unknown_format_or_layout_is_an_error(tmp_path: Path):
    with pytest.raises(ValueError, match="unknown synthetic dataset format"):
        write_dataset(tmp_path, "bvh")
    with pytest.raises(ValueError, match="cannot hold layout body25"):
        write_dataset(tmp_path, "penn", layout="body25")


def test_openpose_writer_output_loads_the_subject_not_the_bystander(tmp_path: Path):
    paths = write_dataset(tmp_path, "openpose", actions=["lunge"], videos_per_action=3)
    for path, video in zip(paths, generate_dataset(["lunge"], videos_per_action=3, layout="body25")):
        seq = load_video(VideoRef(kind=SourceKind.openpose, video_id=path.name, path=str(path)))
        np.testing.assert_allclose(seq.keypoints, video.keypoints2d, atol=1e-3)


def test_openpose_writer_root_discovers_one_video_per_directory(tmp_path: Path):
    paths = write_dataset(tmp_path, "openpose", actions=["squat"], videos_per_action=2)
    assert [r.video_id for r in discover_videos("openpose", tmp_path)] == [p.name for p in paths]

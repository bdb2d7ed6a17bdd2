"""3D skeleton files projected to 2D: axis conventions, yaw, fit to frame, npz metadata, errors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from pipeline.errors import SourceError
from pipeline.sources import SourceKind, SourceOptions, VideoRef, discover_videos, load_video
from pipeline.sources import projected


def skeleton(frames: int = 2, joints: int = 13) -> np.ndarray:
    """(T, K, 3) points with x in {0, 1}, y in {0, 2}, z in {0, 4}, so every projection's box is known."""
    rng = np.random.default_rng(0)
    points = np.stack([rng.integers(0, 2, (frames, joints)) * 1.0,
                       rng.integers(0, 2, (frames, joints)) * 2.0,
                       rng.integers(0, 2, (frames, joints)) * 4.0], axis=-1)
    points[0, 0], points[0, 1] = (0, 0, 0), (1, 2, 4)  # make sure both extremes occur
    return points


def ref(path: Path) -> VideoRef:
    return VideoRef(kind=SourceKind.projected, video_id=path.stem, path=str(path))


def load_error(path: Path, options: SourceOptions | None = None) -> SourceError:
    with pytest.raises(SourceError) as info:
        load_video(ref(path), options)
    return info.value


def test_front_view_of_an_npy(tmp_path: Path):
    joints = skeleton()
    np.save(tmp_path / "walk.npy", joints)
    seq = load_video(ref(tmp_path / "walk.npy"))
    assert (seq.video_id, seq.layout.name, seq.frame_size) == ("walk", "penn_action", (480, 480))
    assert np.all(seq.keypoints[..., 2] == 1.0)
    # Box 1 x 2 (x by y), room 432 x 432 px: scale 216, centre (0.5, 1) -> (240, 240).
    np.testing.assert_allclose(seq.keypoints[..., 0], (joints[..., 0] - 0.5) * 216 + 240, rtol=1e-6)
    np.testing.assert_allclose(seq.keypoints[..., 1], (joints[..., 1] - 1.0) * 216 + 240, rtol=1e-6)


def test_yaw_90_shows_depth_as_the_column(tmp_path: Path):
    joints = skeleton()
    np.save(tmp_path / "walk.npy", joints)
    seq = load_video(ref(tmp_path / "walk.npy"), SourceOptions(yaw_degrees=90, frame_size=(480, 480)))
    # x' = z: box 4 x 2 (z by y), scale min(432 / 4, 432 / 2) = 108, centre (2, 1) -> (240, 240).
    np.testing.assert_allclose(seq.keypoints[..., 0], (joints[..., 2] - 2.0) * 108 + 240, rtol=1e-6, atol=1e-4)
    np.testing.assert_allclose(seq.keypoints[..., 1], (joints[..., 1] - 1.0) * 108 + 240, rtol=1e-6, atol=1e-4)
    side = load_video(ref(tmp_path / "walk.npy"), SourceOptions(drop_axis=0))  # side view: u = z as well
    np.testing.assert_allclose(side.keypoints, seq.keypoints, atol=1e-4)


def test_project_axes_by_hand():
    point = np.array([[[1.0, 2.0, 3.0]]])
    assert projected.project(point).tolist() == [[[1.0, 2.0]]]
    assert projected.project(point, drop_axis=0).tolist() == [[[3.0, 2.0]]]
    assert projected.project(point, drop_axis=1).tolist() == [[[1.0, 3.0]]]
    np.testing.assert_allclose(projected.project(point, yaw_degrees=90), [[[3.0, 2.0]]], atol=1e-12)
    np.testing.assert_allclose(projected.project(point, yaw_degrees=180), [[[-1.0, 2.0]]], atol=1e-12)


def test_npz_metadata_and_top_view(tmp_path: Path):
    joints = skeleton(frames=3, joints=25)
    path = tmp_path / "clip7.npz"
    np.savez(path, joints3d=joints, layout="body25", action="squat", split="test", phases=np.array([0, 1, 1]))
    seq = load_video(ref(path), SourceOptions(drop_axis=1, frame_size=(200, 100), layout="coco18"))
    assert (seq.layout.name, seq.action, seq.split, seq.frame_size) == ("body25", "squat", "test", (200, 100))
    assert seq.phases.tolist() == [0, 1, 1]
    # Top view: u = x (extent 1), v = z (extent 4); room 180 x 90: scale min(180, 22.5) = 22.5.
    np.testing.assert_allclose(seq.keypoints[..., 0], (joints[..., 0] - 0.5) * 22.5 + 100, rtol=1e-6)
    np.testing.assert_allclose(seq.keypoints[..., 1], (joints[..., 2] - 2.0) * 22.5 + 50, rtol=1e-6)


def test_layout_from_options_when_the_file_has_none(tmp_path: Path):
    np.save(tmp_path / "h.npy", skeleton(joints=42))
    assert load_video(ref(tmp_path / "h.npy"), SourceOptions(layout="hands42")).layout.name == "hands42"


def test_discover(tmp_path: Path):
    np.save(tmp_path / "b.npy", skeleton())
    np.savez(tmp_path / "a.npz", joints3d=skeleton())
    (tmp_path / "readme.txt").write_text("x")
    assert [(r.video_id, Path(r.path).name) for r in discover_videos("projected", tmp_path)] == [("a", "a.npz"), ("b", "b.npy")]
    assert [r.video_id for r in projected.discover(tmp_path / "b.npy")] == ["b"]


# ------------------------------------------------------------------------------------------ errors


def test_joint_count_differs_from_layout(tmp_path: Path):
    np.save(tmp_path / "v.npy", skeleton(joints=17))
    err = load_error(tmp_path / "v.npy")
    assert err.path == str(tmp_path / "v.npy") and "17 joints" in err.problem and "13" in err.problem


@pytest.mark.parametrize("shape", [(4, 13), (4, 13, 2), (2, 4, 13, 3)])
def test_wrong_shape(tmp_path: Path, shape: tuple[int, ...]):
    np.save(tmp_path / "v.npy", np.ones(shape))
    err = load_error(tmp_path / "v.npy")
    assert str(shape) in err.problem and "(T, K, 3)" in err.problem


@pytest.mark.parametrize("bad", [np.nan, -np.inf])
def test_non_finite(tmp_path: Path, bad: float):
    joints = skeleton()
    joints[1, 5, 2] = bad
    np.save(tmp_path / "v.npy", joints)
    err = load_error(tmp_path / "v.npy")
    assert err.path == str(tmp_path / "v.npy") and "non-finite" in err.problem


def test_empty(tmp_path: Path):
    np.save(tmp_path / "v.npy", np.zeros((0, 13, 3)))
    assert "empty" in load_error(tmp_path / "v.npy").problem


def test_unreadable_files(tmp_path: Path):
    (tmp_path / "garbage.npy").write_bytes(b"not numpy at all")
    assert "unreadable" in load_error(tmp_path / "garbage.npy").problem
    np.savez(tmp_path / "whole.npz", joints3d=skeleton(frames=50))
    data = (tmp_path / "whole.npz").read_bytes()
    (tmp_path / "cut.npz").write_bytes(data[: len(data) // 2])
    err = load_error(tmp_path / "cut.npz")
    assert err.path == str(tmp_path / "cut.npz") and "unreadable" in err.problem


def test_npz_without_joints3d(tmp_path: Path):
    np.savez(tmp_path / "v.npz", joints=skeleton())
    err = load_error(tmp_path / "v.npz")
    assert "no joints3d" in err.problem and "joints" in err.problem


def test_unknown_layout_in_file(tmp_path: Path):
    np.savez(tmp_path / "v.npz", joints3d=skeleton(), layout="smpl24")
    assert "unknown skeleton layout 'smpl24'" in load_error(tmp_path / "v.npz").problem


def test_float_phases_rejected(tmp_path: Path):
    np.savez(tmp_path / "v.npz", joints3d=skeleton(), phases=np.array([0.5, 1.0]))
    assert "phases" in load_error(tmp_path / "v.npz").problem

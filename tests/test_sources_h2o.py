"""H2O-style hand pose text files: orthographic fit, intrinsics projection, gaps and errors."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from pipeline.errors import SourceError
from pipeline.sources import SourceKind, SourceOptions, VideoRef, discover_videos, load_video
from pipeline.sources import h2o


def hand(offset: tuple[float, float, float] = (0.0, 0.0, 0.5)) -> np.ndarray:
    """(21, 3) joints in metres: x from -0.1 to 0.1, y from 0 to 0.05, z constant, shifted by offset."""
    x = np.linspace(-0.1, 0.1, 21)
    y = np.linspace(0.0, 0.05, 21)
    return np.stack([x, y, np.zeros(21)], axis=1) + np.asarray(offset)


def write_frame(directory: Path, number: int, left: np.ndarray | None, right: np.ndarray | None, *, name: str | None = None) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    values = []
    for joints in (left, right):
        values += [1.0 if joints is not None else 0.0] + (joints if joints is not None else np.zeros((21, 3))).ravel().tolist()
    path = directory / (name or f"{number:06d}.txt")
    path.write_text(" ".join(repr(v) for v in values))
    return path


def ref(directory: Path) -> VideoRef:
    return VideoRef(kind=SourceKind.h2o, video_id=directory.name, path=str(directory))


def load_error(directory: Path, options: SourceOptions | None = None) -> SourceError:
    with pytest.raises(SourceError) as info:
        load_video(ref(directory), options)
    return info.value


def test_orthographic_fit_fills_the_frame_with_a_margin(tmp_path: Path):
    video = tmp_path / "v"
    write_frame(video, 0, hand(), None)
    write_frame(video, 1, hand((0.0, 0.05, 0.5)), hand((0.1, 0.0, 0.6)))
    seq = load_video(ref(video), SourceOptions(frame_size=(400, 300)))
    assert seq.layout.name == "hands42" and seq.keypoints.shape == (2, 42, 3) and seq.frame_size == (400, 300)
    conf = seq.keypoints[..., 2]
    assert np.all(conf[0, :21] == 1) and np.all(conf[0, 21:] == 0) and np.all(conf[1] == 1)
    assert np.all(seq.keypoints[0, 21:, :2] == 0)  # the invalid hand
    # Valid joints span x -0.1..0.2 (0.3 m) and y 0..0.1 (0.1 m). Room: 360 x 270 px, so the scale
    # is min(360 / 0.3, 270 / 0.1) = 1200 px/m; the box is centred: x 20..380, y 90..210.
    valid = seq.keypoints[conf > 0]
    assert valid[:, 0].min() == pytest.approx(20) and valid[:, 0].max() == pytest.approx(380)
    assert valid[:, 1].min() == pytest.approx(90) and valid[:, 1].max() == pytest.approx(210)
    # One mapping for the whole video: the left wrist moved 0.05 m down = 60 px.
    assert seq.keypoints[1, 0, 1] - seq.keypoints[0, 0, 1] == pytest.approx(60)
    assert seq.keypoints[1, 0, 0] == pytest.approx(seq.keypoints[0, 0, 0])


def test_intrinsics_projection(tmp_path: Path):
    video = tmp_path / "v"
    left = hand((0.0, 0.0, 0.5))
    write_frame(video, 0, left, None)
    intrinsics = tmp_path / "cam_intrinsics.txt"
    intrinsics.write_text("636.6 636.2 635.3 366.9 1280 720\n")
    seq = load_video(ref(video), SourceOptions(intrinsics=str(intrinsics)))
    assert seq.frame_size == (1280, 720)
    # Left wrist (-0.1, 0, 0.5): u = 636.6 * -0.1 / 0.5 + 635.3 = 507.98, v = 0 + 366.9.
    assert seq.keypoints[0, 0, 0] == pytest.approx(507.98) and seq.keypoints[0, 0, 1] == pytest.approx(366.9)
    expected_u = 636.6 * left[:, 0] / left[:, 2] + 635.3
    expected_v = 636.2 * left[:, 1] / left[:, 2] + 366.9
    np.testing.assert_allclose(seq.keypoints[0, :21, 0], expected_u, rtol=1e-6)
    np.testing.assert_allclose(seq.keypoints[0, :21, 1], expected_v, rtol=1e-6)
    assert np.all(seq.keypoints[0, 21:] == 0)


def test_intrinsics_without_size_gives_twice_the_principal_point(tmp_path: Path):
    write_frame(tmp_path / "v", 0, None, hand())
    intrinsics = tmp_path / "k.txt"
    intrinsics.write_text("500 500 320.4 240")
    seq = load_video(ref(tmp_path / "v"), SourceOptions(intrinsics=str(intrinsics)))
    assert seq.frame_size == (math.ceil(640.8), 480)


def test_gap_filled_with_zero_confidence_and_a_warning(tmp_path: Path):
    video = tmp_path / "v"
    for number in (3, 4, 7):
        write_frame(video, number, hand(), hand((0.1, 0, 0.5)))
    seq = load_video(ref(video))
    assert seq.num_frames == 5 and np.all(seq.keypoints[2:4] == 0) and np.all(seq.keypoints[4, :, 2] == 1)
    assert seq.warnings == ["frames 5-6 missing: filled with confidence 0"]


def test_discover_root_or_subdirectories(tmp_path: Path):
    write_frame(tmp_path / "seq_b", 0, hand(), None)
    write_frame(tmp_path / "seq_a", 0, hand(), None)
    assert [r.video_id for r in discover_videos("h2o", tmp_path)] == ["seq_a", "seq_b"]
    assert [r.video_id for r in h2o.discover(tmp_path / "seq_a")] == ["seq_a"]


# ------------------------------------------------------------------------------------------ errors


def test_wrong_number_count(tmp_path: Path):
    bad = write_frame(tmp_path / "v", 0, hand(), hand())
    bad.write_text(bad.read_text() + " 1.0 2.0")
    err = load_error(tmp_path / "v")
    assert err.path == str(bad) and "130 numbers" in err.problem and "128" in err.problem


def test_non_numeric_text(tmp_path: Path):
    bad = write_frame(tmp_path / "v", 0, hand(), hand())
    bad.write_text(bad.read_text().replace("1.0", "one", 1))
    err = load_error(tmp_path / "v")
    assert err.path == str(bad) and "non-numeric" in err.problem and "one" in err.problem


def test_nan(tmp_path: Path):
    write_frame(tmp_path / "v", 0, hand(), hand())
    joints = hand()
    joints[3, 1] = np.nan
    bad = write_frame(tmp_path / "v", 1, joints, None)
    err = load_error(tmp_path / "v")
    assert err.path == str(bad) and "non-finite" in err.problem


def test_bad_valid_flag(tmp_path: Path):
    bad = write_frame(tmp_path / "v", 0, hand(), None)
    bad.write_text("2.0" + bad.read_text()[3:])
    assert "valid flags" in load_error(tmp_path / "v").problem


def test_point_behind_the_camera_with_intrinsics(tmp_path: Path):
    write_frame(tmp_path / "v", 0, hand(), None)
    bad = write_frame(tmp_path / "v", 1, None, hand((0, 0, 0.0)))
    intrinsics = tmp_path / "k.txt"
    intrinsics.write_text("500 500 320 240")
    err = load_error(tmp_path / "v", SourceOptions(intrinsics=str(intrinsics)))
    assert err.path == str(bad) and "r_wrist" in err.problem and "<= 0" in err.problem
    # Without intrinsics z is dropped, so z = 0 is fine there.
    assert load_video(ref(tmp_path / "v")).num_frames == 2


def test_bad_intrinsics_file(tmp_path: Path):
    write_frame(tmp_path / "v", 0, hand(), None)
    intrinsics = tmp_path / "k.txt"
    intrinsics.write_text("500 500 320")
    err = load_error(tmp_path / "v", SourceOptions(intrinsics=str(intrinsics)))
    assert err.path == str(intrinsics) and "3 numbers" in err.problem


def test_no_valid_hand_anywhere(tmp_path: Path):
    write_frame(tmp_path / "v", 0, None, None)
    err = load_error(tmp_path / "v")
    assert err.path == str(tmp_path / "v") and "no valid hand" in err.problem

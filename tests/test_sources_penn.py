"""Penn Action .mat source: real annotation files and synthetic ones written with scipy.io.savemat."""

from __future__ import annotations

import collections
import time
from pathlib import Path

import numpy as np
import pytest
import scipy.io

from pipeline.errors import SourceError
from pipeline.sources import SourceKind, SourceOptions, VideoRef, discover_videos, load_video
from pipeline.sources import penn

REAL_ACTIONS = {
    "baseball_pitch", "baseball_swing", "bench_press", "bowl", "clean_and_jerk", "jump_rope",
    "jumping_jacks", "pullup", "pushup", "squat", "strum_guitar", "tennis_forehand",
}


def penn_fields(frames: int = 4, *, train: int = 1, action: str = "squat", height: int = 360, width: int = 480) -> dict:
    """The fields of a Penn Action file, as the real files store them (x, y (T, 13) etc.)."""
    rng = np.random.default_rng(frames)
    x = rng.uniform(10, width - 10, size=(frames, 13))
    y = rng.uniform(10, height - 10, size=(frames, 13))
    visibility = np.ones((frames, 13), dtype=np.uint8)
    return {
        "action": action,
        "pose": "front",
        "x": x,
        "y": y,
        "visibility": visibility,
        "train": np.array([[train]], dtype=np.int32),
        "bbox": np.tile([1.0, 2.0, 100.0, 200.0], (frames, 1)),
        "dimensions": np.array([[height, width, frames]], dtype=np.uint16),
        "nframes": np.array([[frames]], dtype=np.uint8),
    }


def write_mat(path: Path, fields: dict) -> VideoRef:
    scipy.io.savemat(str(path), fields)
    return VideoRef(kind=SourceKind.penn, video_id=path.stem, path=str(path))


def load_error(ref: VideoRef, options: SourceOptions | None = None) -> SourceError:
    with pytest.raises(SourceError) as info:
        load_video(ref, options)
    return info.value


# ------------------------------------------------------------------------------------------ real data


@pytest.mark.real_data
def test_real_files_load_with_their_annotations(penn_labels: Path):
    refs = discover_videos("penn", penn_labels.parent)  # the Penn Action root
    assert len(refs) == 1874 and refs[0].video_id == "0001"
    assert [r.video_id for r in penn.discover(penn_labels)][:3] == ["0001", "0002", "0003"]  # labels dir
    for video_id in ("0001", "0449", "1154", "1874"):
        path = penn_labels / f"{video_id}.mat"
        raw = scipy.io.loadmat(str(path))
        seq = load_video(VideoRef(kind="penn", video_id=video_id, path=str(path)), SourceOptions(occluded_confidence=0.3))
        height, width, frames = (int(v) for v in raw["dimensions"].ravel())
        assert seq.num_frames == int(raw["nframes"].ravel()[0]) == frames
        assert seq.keypoints.shape == (frames, 13, 3) and seq.keypoints.dtype == np.float32
        assert seq.frame_size == (width, height)
        assert seq.action == str(raw["action"][0]) and seq.action in REAL_ACTIONS
        assert seq.split == {1: "train", -1: "test"}[int(raw["train"][0][0])]
        conf = seq.keypoints[..., 2]
        at_origin = (raw["x"] <= 1) & (raw["y"] <= 1)  # corner placeholders of unannotated joints
        assert np.all(conf[(raw["visibility"] == 1) & ~at_origin] == 1.0)
        assert np.allclose(conf[(raw["visibility"] == 0) & ~at_origin], 0.3)
        assert np.all(conf[at_origin] == 0.0)
        assert np.allclose(seq.keypoints[..., 0], raw["x"]) and np.allclose(seq.keypoints[..., 1], raw["y"])
    first = load_video(refs[0])
    assert (first.action, first.split, first.num_frames, first.frame_size) == ("baseball_pitch", "test", 151, (480, 360))


@pytest.mark.real_data
def test_real_video_with_an_empty_frame(penn_labels: Path):
    """0449 has one frame (76) whose 13 joints all sit at (0, 0): all missing, the video still loads."""
    path = penn_labels / "0449.mat"
    raw = scipy.io.loadmat(str(path))
    seq = load_video(VideoRef(kind="penn", video_id="0449", path=str(path)))
    assert np.all(seq.keypoints[76, :, 2] == 0)
    placeholders = (raw["x"] <= 1) & (raw["y"] <= 1)
    assert np.array_equal(seq.keypoints[..., 2] == 0, placeholders) and placeholders[76].all()


@pytest.mark.real_data
def test_all_real_files_load_fast(penn_labels: Path):
    start = time.perf_counter()
    seqs = [load_video(ref) for ref in discover_videos("penn", penn_labels)]
    assert time.perf_counter() - start < 10
    assert {s.action for s in seqs} == REAL_ACTIONS
    assert collections.Counter(s.split for s in seqs) == {"train": 1004, "test": 870}
    assert min(s.num_frames for s in seqs) == 18 and max(s.num_frames for s in seqs) == 663
    occluded = sum(int((s.keypoints[..., 2] == 0.5).sum()) for s in seqs)
    missing = sum(int((s.keypoints[..., 2] == 0).sum()) for s in seqs)
    total = sum(s.keypoints[..., 2].size for s in seqs)
    # "about a fifth of the joints are marked invisible": 8.7 % are corner placeholders (missing),
    # the other invisible ones are occluded joints with annotated positions
    assert missing == 152_630 and 0.1 < occluded / total < 0.2


# ------------------------------------------------------------------------------------------ synthetic


def test_confidence_split_frame_size_and_action(tmp_path: Path):
    fields = penn_fields(3, train=-1, action="bench_press", height=270, width=640)
    fields["visibility"][0, 2] = 0
    fields["x"][1, 4] = fields["y"][1, 4] = 0.0
    fields["visibility"][1, 4] = 0
    seq = load_video(write_mat(tmp_path / "0042.mat", fields), SourceOptions(occluded_confidence=0.25))
    assert (seq.video_id, seq.action, seq.split, seq.frame_size) == ("0042", "bench_press", "test", (640, 270))
    conf = seq.keypoints[..., 2]
    assert conf[0, 2] == 0.25 and conf[1, 4] == 0.0
    assert (conf == 1.0).sum() == 3 * 13 - 2
    np.testing.assert_allclose(seq.keypoints[2, :, :2], np.stack([fields["x"][2], fields["y"][2]], axis=-1), rtol=1e-6)
    assert seq.phases is None and seq.warnings == []


def test_integer_coordinates_are_read_as_pixels(tmp_path: Path):
    """Some real files store x and y as uint8 / uint16."""
    fields = penn_fields(2)
    fields["x"] = np.full((2, 13), 200, dtype=np.uint8)
    fields["y"] = np.full((2, 13), 300, dtype=np.uint16)
    seq = load_video(write_mat(tmp_path / "0001.mat", fields))
    assert np.all(seq.keypoints[..., 0] == 200) and np.all(seq.keypoints[..., 1] == 300)


def test_phases_file_beside_the_mat(tmp_path: Path):
    ref = write_mat(tmp_path / "0007.mat", penn_fields(4))
    np.save(tmp_path / "0007.phases.npy", np.array([0, 0, 1, 2], dtype=np.int64))
    seq = load_video(ref)
    assert seq.phases.dtype == np.int16 and seq.phases.tolist() == [0, 0, 1, 2]


def test_phases_of_the_wrong_length(tmp_path: Path):
    ref = write_mat(tmp_path / "0007.mat", penn_fields(4))
    np.save(tmp_path / "0007.phases.npy", np.zeros(5, dtype=np.int64))
    err = load_error(ref)
    assert err.path.endswith("0007.phases.npy") and "(4,)" in err.problem


def test_discover_from_root_or_labels_dir(tmp_path: Path):
    labels = tmp_path / "labels"
    labels.mkdir()
    for stem in ("0002", "0001"):
        write_mat(labels / f"{stem}.mat", penn_fields(2))
    (labels / "notes.txt").write_text("not a video")
    for root in (tmp_path, labels):
        refs = discover_videos("penn", root)
        assert [(r.video_id, Path(r.path).name) for r in refs] == [("0001", "0001.mat"), ("0002", "0002.mat")]


# ------------------------------------------------------------------------------------------ errors


def test_truncated_mat(tmp_path: Path):
    whole = tmp_path / "whole.mat"
    scipy.io.savemat(str(whole), penn_fields(30))
    data = whole.read_bytes()
    half = tmp_path / "0003.mat"
    half.write_bytes(data[: len(data) // 2])
    err = load_error(VideoRef(kind="penn", video_id="0003", path=str(half)))
    assert err.path == str(half)
    assert "truncated" in err.problem or "missing field" in err.problem


def test_not_a_mat_file(tmp_path: Path):
    path = tmp_path / "0003.mat"
    path.write_text("hello, this is not MATLAB")
    err = load_error(VideoRef(kind="penn", video_id="0003", path=str(path)))
    assert err.path == str(path) and "unreadable" in err.problem


def test_missing_fields_are_named(tmp_path: Path):
    fields = penn_fields(3)
    del fields["visibility"], fields["train"]
    err = load_error(write_mat(tmp_path / "0004.mat", fields))
    assert err.path.endswith("0004.mat")
    assert "visibility" in err.problem and "train" in err.problem


def test_x_y_shape_mismatch(tmp_path: Path):
    fields = penn_fields(3)
    fields["y"] = fields["y"][:2]
    err = load_error(write_mat(tmp_path / "0005.mat", fields))
    assert err.path.endswith("0005.mat") and "(3, 13)" in err.problem and "(2, 13)" in err.problem


def test_not_13_joints(tmp_path: Path):
    fields = penn_fields(3)
    fields["x"], fields["y"], fields["visibility"] = fields["x"][:, :12], fields["y"][:, :12], fields["visibility"][:, :12]
    err = load_error(write_mat(tmp_path / "0006.mat", fields))
    assert "(3, 12)" in err.problem and "13" in err.problem


def test_length_disagrees_with_nframes(tmp_path: Path):
    fields = penn_fields(5)
    fields["nframes"] = np.array([[7]], dtype=np.uint8)
    err = load_error(write_mat(tmp_path / "0008.mat", fields))
    assert err.path.endswith("0008.mat") and "5 frames" in err.problem and "nframes says 7" in err.problem


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_non_finite_coordinates(tmp_path: Path, bad: float):
    fields = penn_fields(3)
    fields["y"][1, 6] = bad
    err = load_error(write_mat(tmp_path / "0009.mat", fields))
    assert err.path.endswith("0009.mat") and "non-finite" in err.problem and "y coordinates" in err.problem


def test_zero_frames(tmp_path: Path):
    fields = penn_fields(0)
    err = load_error(write_mat(tmp_path / "0010.mat", fields))
    assert err.path.endswith("0010.mat") and "zero frames" in err.problem


def test_bad_train_value(tmp_path: Path):
    fields = penn_fields(2, train=0)
    err = load_error(write_mat(tmp_path / "0011.mat", fields))
    assert "train is 0" in err.problem

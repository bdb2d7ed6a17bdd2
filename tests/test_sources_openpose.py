"""OpenPose JSON source: real BODY_25B output (subject + bystander) and small synthetic directories."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from pipeline.errors import SourceError
from pipeline.sources import SourceKind, SourceOptions, VideoRef, discover_videos, load_video
from pipeline.sources import openpose
from pipeline.sources.common import frame_number

BODY25B = SourceOptions(layout="body25b")


def person(centre: tuple[float, float], size: float = 100.0, joints: int = 25, conf: float = 0.8) -> np.ndarray:
    """A (joints, 3) pose spread over a size x size box around centre, all joints confident."""
    offsets = np.linspace(-size / 2, size / 2, joints)
    xy = np.stack([centre[0] + offsets, centre[1] + offsets[::-1]], axis=1)
    return np.concatenate([xy, np.full((joints, 1), conf)], axis=1)


def write_frame(directory: Path, name: str, people: list[np.ndarray], *, key: str = "pose_keypoints_2d", **extra) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    body = {"version": 1.3, **extra, "people": [{"person_id": [-1], key: np.asarray(p).ravel().tolist(), "face_keypoints_2d": []} for p in people]}
    path = directory / name
    path.write_text(json.dumps(body))
    return path


def ref(directory: Path) -> VideoRef:
    return VideoRef(kind=SourceKind.openpose, video_id=directory.name, path=str(directory))


def load_error(directory: Path, options: SourceOptions | None = None) -> SourceError:
    with pytest.raises(SourceError) as info:
        load_video(ref(directory), options)
    return info.value


# ------------------------------------------------------------------------------------------ real data

# Where the bystander stands in the real data (seen by reading the files): in cam01 at the left
# edge (median x of its joints about 60-90 px), in cam02 at the right (about 800 px); cam03 and cam04
# see only the subject. The subject's joints have a median x within 320..680 px in every frame of all
# four views (its arms reach out to x = 95 px in cam01, so single joints prove nothing).
SUBJECT_MEDIAN_X = (300, 700)


def bystander_medians(camera_dir: Path) -> list[float]:
    """Median x of the confident joints of every detected person outside the subject's x range."""
    medians = []
    for path in sorted(camera_dir.glob("*.json")):
        for p in json.loads(path.read_text())["people"]:
            kp = np.asarray(p["pose_keypoints_2d"]).reshape(-1, 3)
            median = float(np.median(kp[kp[:, 2] > 0, 0]))
            if not SUBJECT_MEDIAN_X[0] < median < SUBJECT_MEDIAN_X[1]:
                medians.append(median)
    return medians


@pytest.mark.real_data
def test_real_body25b_tracks_the_subject(openpose_body25b: Path):
    refs = discover_videos("openpose", openpose_body25b)
    assert [r.video_id for r in refs] == ["cam01", "cam02", "cam03", "cam04"]
    assert min(bystander_medians(openpose_body25b / "cam01_json")) < 120  # there is a bystander to avoid
    assert min(bystander_medians(openpose_body25b / "cam02_json")) > 750
    for r in refs:
        seq = load_video(r, BODY25B)
        assert seq.layout.name == "body25b" and seq.keypoints.shape == (100, 25, 3)
        assert seq.warnings == [] and seq.action is None and seq.split is None
        kp = seq.keypoints
        assert np.all(kp[kp[..., 2] == 0][:, :2] == 0)  # missing joints have x = y = 0
        assert (kp[..., 2] > 0).sum(axis=1).min() >= 12  # the subject is found in every frame
        medians = np.array([np.median(f[f[:, 2] > 0, 0]) for f in kp])
        assert np.all((medians > SUBJECT_MEDIAN_X[0]) & (medians < SUBJECT_MEDIAN_X[1])), "the bystander was taken"
        hips = kp[:, [seq.layout.index("l_hip"), seq.layout.index("r_hip")]]
        both = (hips[..., 2] > 0).all(axis=1)
        centre = hips[..., :2].mean(axis=1)
        assert both.sum() >= 99  # cam01 frame 37: OpenPose split the subject in two, we keep the upper half
        steps = np.linalg.norm(np.diff(centre, axis=0), axis=1)[both[1:] & both[:-1]]
        assert steps.max() < 30, f"{r.video_id}: the tracked hip centre jumps {steps.max():.0f} px in one frame"
        width, height = seq.frame_size
        assert 700 < width < 1100 and 1200 < height < 1400


@pytest.mark.real_data
def test_real_camera_dir_as_root(openpose_body25b: Path):
    refs = openpose.discover(openpose_body25b / "cam02_json")
    assert [(r.video_id, Path(r.path).name) for r in refs] == [("cam02", "cam02_json")]


# ------------------------------------------------------------------------------------------ selection


def test_first_frame_takes_the_largest_most_confident_person(tmp_path: Path):
    small, big = person((100, 100), size=60), person((400, 300), size=200, conf=0.6)
    write_frame(tmp_path / "v", "f_0.json", [small, big])
    seq = load_video(ref(tmp_path / "v"))
    np.testing.assert_allclose(seq.keypoints[0], big, rtol=1e-6)


def test_score_is_diagonal_times_mean_confidence():
    tall_unsure = person((0, 0), size=200, conf=0.2)   # diagonal 283 x 0.2 = 57
    short_sure = person((0, 0), size=100, conf=0.9)    # diagonal 141 x 0.9 = 127
    assert openpose.person_score(short_sure) > openpose.person_score(tall_unsure)
    assert openpose.person_score(short_sure) == pytest.approx(100 * np.sqrt(2) * 0.9)


def test_tracking_follows_the_nearest_person_whatever_the_list_order(tmp_path: Path):
    video = tmp_path / "v"
    subject = [person((300 + 10 * t, 300)) for t in range(4)]
    bigger_bystander = person((700, 300), size=300)
    write_frame(video, "f_0.json", [subject[0]])                   # only the subject: tracked from here
    write_frame(video, "f_1.json", [bigger_bystander, subject[1]])
    write_frame(video, "f_2.json", [subject[2], bigger_bystander])
    write_frame(video, "f_3.json", [bigger_bystander, subject[3]])
    seq = load_video(ref(video))
    for t in range(4):
        np.testing.assert_allclose(seq.keypoints[t], subject[t], rtol=1e-6)


def test_subject_absent_when_the_nearest_person_is_too_far(tmp_path: Path):
    video = tmp_path / "v"
    subject = person((200, 200), size=100)                          # diagonal 141 px: radius 141
    write_frame(video, "f_0.json", [subject])
    write_frame(video, "f_1.json", [person((400, 200), size=100)])  # 200 px away: not the subject
    write_frame(video, "f_2.json", [])                              # nobody
    write_frame(video, "f_3.json", [person((300, 200), size=100)])  # 100 px from the last pose: subject
    seq = load_video(ref(video))
    assert np.all(seq.keypoints[1:3] == 0)
    assert seq.keypoints[3, 0, 0] == pytest.approx(250.0)
    assert seq.warnings == []


def test_distance_falls_back_to_box_centres_without_shared_joints():
    a, b = np.zeros((25, 3)), np.zeros((25, 3))
    a[0], a[1] = [10, 10, 0.9], [30, 30, 0.9]    # box centre (20, 20)
    b[2], b[3] = [50, 60, 0.9], [70, 80, 0.9]    # box centre (60, 70); no joint confident in both
    assert openpose.pose_distance(a, b) == pytest.approx(np.hypot(40, 50))
    assert openpose.pose_distance(person((100, 100)), person((130, 140))) == pytest.approx(50.0)


def test_leading_frames_with_nobody_stay_empty(tmp_path: Path):
    video = tmp_path / "v"
    write_frame(video, "f_0.json", [])
    write_frame(video, "f_1.json", [person((200, 200))])
    seq = load_video(ref(video))
    assert np.all(seq.keypoints[0] == 0) and np.all(seq.keypoints[1, :, 2] > 0)


# ------------------------------------------------------------------------------------------ format


def test_missing_triplets_frame_size_and_layout(tmp_path: Path):
    pose = person((200, 100), size=100, joints=18)
    pose[3] = 0.0                     # 0,0,0: missing
    pose[4] = [55.0, 66.0, 0.0]       # c = 0 with coordinates: missing too, coordinates cleared
    write_frame(tmp_path / "v", "f_0.json", [pose])
    seq = load_video(ref(tmp_path / "v"), SourceOptions(layout="coco18"))
    assert seq.layout.name == "coco18"
    assert np.all(seq.keypoints[0, 3:5] == 0)
    assert seq.frame_size == (251, 151)  # ceil(max x = 250) + 1, ceil(max y = 150) + 1


def test_version_1_0_keys(tmp_path: Path):
    pose = person((200, 200))
    write_frame(tmp_path / "v", "f_0.json", [pose], key="pose_keypoints", version=1.0)
    seq = load_video(ref(tmp_path / "v"))
    assert seq.layout.name == "body25"
    np.testing.assert_allclose(seq.keypoints[0], pose, rtol=1e-6)


def test_extra_keys_are_ignored(tmp_path: Path):
    path = tmp_path / "v" / "f_0.json"
    path.parent.mkdir()
    body = {"version": 1.3, "camera": {"id": 3}, "people": [
        {"person_id": [4], "pose_keypoints_2d": person((200, 200)).ravel().tolist(), "pose_keypoints_3d": [1, 2],
         "future_field": {"a": 1}}]}
    path.write_text(json.dumps(body))
    assert load_video(ref(path.parent)).keypoints[0, 0, 2] == pytest.approx(0.8)


def test_hand_layouts(tmp_path: Path):
    left, right = person((100, 100), joints=21, conf=0.5), person((300, 100), joints=21, conf=0.9)
    path = tmp_path / "v" / "f_0.json"
    path.parent.mkdir()
    body = {"version": 1.1, "people": [{"pose_keypoints_2d": person((200, 200)).ravel().tolist(),
                                         "hand_left_keypoints_2d": left.ravel().tolist(),
                                         "hand_right_keypoints_2d": right.ravel().tolist()}]}
    path.write_text(json.dumps(body))
    both = load_video(ref(path.parent), SourceOptions(layout="hands42"))
    np.testing.assert_allclose(both.keypoints[0], np.concatenate([left, right]), rtol=1e-6)
    one = load_video(ref(path.parent), SourceOptions(layout="hand21"))
    np.testing.assert_allclose(one.keypoints[0], right, rtol=1e-6)


def test_frames_are_ordered_by_the_last_digit_run(tmp_path: Path):
    video = tmp_path / "v"
    for number in (10, 9, 11):
        write_frame(video, f"cam01_{number:012d}_keypoints.json", [person((100 + number, 200))])
    seq = load_video(ref(video))
    assert seq.keypoints[:, 0, 0].tolist() == pytest.approx([59.0, 60.0, 61.0])
    assert frame_number(Path("vid_000000000012_keypoints.json")) == 12
    assert frame_number(Path("cam01.0012.json")) == 12


def test_gap_filled_with_zero_confidence_and_a_warning(tmp_path: Path):
    video = tmp_path / "v"
    for number in (12, 13, 17, 19):
        write_frame(video, f"cam01.{number:04d}.json", [person((200, 200))])
    seq = load_video(ref(video))
    assert seq.num_frames == 8  # 12..19
    empty = [t for t in range(8) if np.all(seq.keypoints[t] == 0)]
    assert empty == [2, 3, 4, 6]  # frames 14, 15, 16, 18
    assert seq.warnings == ["frames 14-16 missing: filled with confidence 0", "frame 18 missing: filled with confidence 0"]


def test_discover_root_or_subdirectories(tmp_path: Path):
    write_frame(tmp_path / "a_json", "f_0.json", [person((1, 1))])
    write_frame(tmp_path / "b", "f_0.json", [person((1, 1))])
    (tmp_path / "empty").mkdir()
    assert [(r.video_id, Path(r.path).name) for r in discover_videos("openpose", tmp_path)] == [("a", "a_json"), ("b", "b")]
    assert [r.video_id for r in openpose.discover(tmp_path / "a_json")] == ["a"]


# ------------------------------------------------------------------------------------------ errors


def test_same_frame_number_twice(tmp_path: Path):
    write_frame(tmp_path / "v", "a_0001.json", [person((1, 1))])
    write_frame(tmp_path / "v", "b_1.json", [person((1, 1))])
    err = load_error(tmp_path / "v")
    assert "frame number 1" in str(err) and "a_0001.json" in str(err) and "b_1.json" in str(err)


def test_malformed_json(tmp_path: Path):
    good = write_frame(tmp_path / "v", "f_0.json", [person((200, 200))])
    bad = write_frame(tmp_path / "v", "f_1.json", [person((200, 200))])
    bad.write_text(good.read_text()[:100])  # truncated
    err = load_error(tmp_path / "v")
    assert err.path == str(bad) and "malformed JSON" in err.problem


def test_not_an_openpose_frame(tmp_path: Path):
    path = tmp_path / "v" / "f_0.json"
    path.parent.mkdir()
    path.write_text(json.dumps({"version": 1.3, "persons": []}))
    err = load_error(path.parent)
    assert err.path == str(path) and "people" in err.problem


def test_wrong_keypoint_count(tmp_path: Path):
    write_frame(tmp_path / "v", "f_0.json", [person((200, 200))])
    bad = write_frame(tmp_path / "v", "f_1.json", [person((200, 200), joints=18)])
    err = load_error(tmp_path / "v")  # body25 by default
    assert err.path == str(bad) and "18 keypoints" in err.problem and "25 keypoints" in err.problem


def test_nan_in_a_file(tmp_path: Path):
    pose = person((200, 200))
    pose[5, 1] = np.nan
    bad = write_frame(tmp_path / "v", "f_0.json", [pose])  # json.dumps writes NaN
    err = load_error(tmp_path / "v")
    assert err.path == str(bad) and "non-finite" in err.problem


def test_nobody_in_any_frame(tmp_path: Path):
    write_frame(tmp_path / "v", "f_0.json", [])
    write_frame(tmp_path / "v", "f_1.json", [np.zeros((25, 3))])
    err = load_error(tmp_path / "v")
    assert err.path == str(tmp_path / "v") and "nobody" in err.problem


def test_unknown_layout(tmp_path: Path):
    write_frame(tmp_path / "v", "f_0.json", [person((200, 200))])
    assert "not an OpenPose layout" in load_error(tmp_path / "v", SourceOptions(layout="penn_action")).problem

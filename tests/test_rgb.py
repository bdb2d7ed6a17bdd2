"""RGB frames: decoding (real videos, frame folders, corrupt files), crop geometry, frame-count policy,
synthetic RGB videos and the RGB path of the cache build end to end."""

from __future__ import annotations

import shutil
from pathlib import Path

import cv2
import numpy as np
import pytest

from pipeline.errors import SourceError
from pipeline.rgb import (
    align_frames, count_frames, crop_and_resize, crop_square, find_rgb_source, frame_tolerance, load_rgb, read_frames,
)
from pipeline.synth import generate_video
from pipeline.synth.render_rgb import _rng, background, render_frames, write_rgb_video
from pipeline.synth.writers import write_dataset
from storage import cache as zcache
from storage.build import PreprocessConfig, build_cache
from tests.conftest import shared_data_path


# --- decoding ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("name", ["cam01.mp4", "cam02.mp4"])
def test_decodes_real_videos(name):
    path = shared_data_path("videos_sample", name)
    capture = cv2.VideoCapture(str(path))
    width, height = int(capture.get(cv2.CAP_PROP_FRAME_WIDTH)), int(capture.get(cv2.CAP_PROP_FRAME_HEIGHT))
    capture.release()
    frames = read_frames(path, max_frames=4)
    assert frames.shape == (4, height, width, 3) and frames.dtype == np.uint8
    assert 0 <= frames.min() < frames.max() <= 255 and frames.std() > 5  # a real image, not a flat one
    count = count_frames(path)
    assert count > 0
    rgb, attrs = load_rgb(path, [width * 0.3, height * 0.3, width * 0.6, height * 0.6], count)
    assert rgb.shape == (count, 3, 64, 64) and rgb.dtype == np.uint8 and rgb.std() > 5
    assert attrs["rgb_frames"] == count and attrs["rgb_frame_policy"] == "exact"


def test_reads_frame_folders_in_numeric_order(tmp_path):
    folder = tmp_path / "frames" / "0007"
    folder.mkdir(parents=True)
    for i in (1, 2, 10, 11):  # lexicographic order would put 10 before 2
        image = np.zeros((20, 30, 3), dtype=np.uint8)
        image[..., 0] = 20 * i  # BGR: blue channel
        cv2.imwrite(str(folder / f"frame_{i}.png"), image)
    frames = read_frames(folder)
    assert frames.shape == (4, 20, 30, 3) and frames.dtype == np.uint8
    assert list(frames[:, 0, 0, 2]) == [20, 40, 200, 220]  # RGB: blue is last
    assert frames[..., 0].max() == 0
    assert find_rgb_source(tmp_path / "frames", "0007") == folder


def test_penn_style_jpg_folder(tmp_path):
    folder = tmp_path / "0001"
    folder.mkdir()
    for i in range(1, 4):
        cv2.imwrite(str(folder / f"{i:06d}.jpg"), np.full((16, 16, 3), 60 * i, dtype=np.uint8))
    frames = read_frames(folder)
    assert frames.shape == (3, 16, 16, 3)
    assert np.all(np.abs(frames[:, 8, 8, 0].astype(int) - [60, 120, 180]) <= 3)


def test_corrupt_and_missing_sources_name_the_file(tmp_path):
    bad = tmp_path / "bad.mp4"
    bad.write_bytes(np.random.default_rng(0).integers(0, 256, 5000, dtype=np.uint8).tobytes())
    with pytest.raises(SourceError, match="bad.mp4.*(unreadable|corrupt)"):
        read_frames(bad)
    folder = tmp_path / "clip"
    folder.mkdir()
    cv2.imwrite(str(folder / "000001.jpg"), np.zeros((8, 8, 3), dtype=np.uint8))
    (folder / "000002.jpg").write_bytes(b"not a jpeg")
    with pytest.raises(SourceError, match="000002.jpg"):
        read_frames(folder)
    with pytest.raises(SourceError, match="no RGB source for video 'nope'"):
        find_rgb_source(tmp_path, "nope")


# --- crop geometry ----------------------------------------------------------------------------------

def test_crop_square_geometry_and_black_padding():
    frame = np.zeros((100, 120, 3), dtype=np.uint8)
    frame[...] = (0, 0, 255)  # blue frame
    frame[20:60, 10:50] = (255, 0, 0)  # red rectangle: columns 10..49, rows 20..59
    box = [10, 20, 49, 59]  # joints on the rectangle's edge pixels

    assert crop_square(box, margin=0.0) == [10, 20, 50, 60]
    exact = crop_and_resize(frame[None], crop_square(box, margin=0.0), size=40)
    assert exact.shape == (1, 3, 40, 40) and exact.dtype == np.uint8
    assert np.all(exact[0, 0] == 255) and np.all(exact[0, 2] == 0)  # all red

    square = crop_square(box, margin=0.25)  # 40 px * 1.5 = 60 px, same centre
    assert square == [0, 10, 60, 70] and square[2] - square[0] == square[3] - square[1]
    half = crop_and_resize(frame[None], square, size=30)[0]  # 2x downscale: rectangle at 5..24
    assert np.all(half[0, 5:25, 5:25] == 255) and np.all(half[2, 5:25, 5:25] == 0)
    assert np.all(half[2, :4] == 255) and np.all(half[0, :4] == 0)  # blue above it

    corner = crop_square([0, 0, 19, 19], margin=0.5)  # a 40 px square centred on (9.5, 9.5): half outside
    assert corner == [-10, -10, 30, 30]
    padded = crop_and_resize(frame[None], corner, size=40)[0]
    assert np.all(padded[:, :10, :] == 0) and np.all(padded[:, :, :10] == 0)  # black outside the frame
    assert np.all(padded[2, 10:, 10:20] == 255) and np.all(padded[0, 30:, 20:] == 255)  # frame content inside


# --- frame-count policy -----------------------------------------------------------------------------

def test_frame_count_policy():
    rgb = np.arange(98, dtype=np.uint8)[:, None, None, None] * np.ones((1, 3, 4, 4), dtype=np.uint8)
    assert frame_tolerance(100) == 2 and frame_tolerance(500) == 10
    same, policy = align_frames(rgb, 98, "v.mp4")
    assert same is rgb and policy == "exact"
    padded, policy = align_frames(rgb, 100, "v.mp4")
    assert padded.shape[0] == 100 and np.all(padded[97:, 0, 0, 0] == 97)
    assert policy.startswith("padded") and "98" in policy and "100" in policy
    cut, policy = align_frames(rgb, 96, "v.mp4")
    assert cut.shape[0] == 96 and np.array_equal(cut, rgb[:96]) and policy.startswith("truncated")
    with pytest.raises(SourceError, match=r"v\.mp4: frame count mismatch: video has 98 frames, poses have 110"):
        align_frames(rgb, 110, "v.mp4")


def test_load_rgb_records_padding_and_rejects_large_mismatch(tmp_path):
    folder = tmp_path / "clip"
    folder.mkdir()
    for i in range(1, 11):
        cv2.imwrite(str(folder / f"{i:06d}.png"), np.full((32, 32, 3), 10 * i, dtype=np.uint8))
    rgb, attrs = load_rgb(folder, [8, 8, 23, 23], n_poses=12, size=16)
    assert rgb.shape == (12, 3, 16, 16) and attrs["rgb_frames"] == 10
    assert attrs["rgb_frame_policy"].startswith("padded") and np.array_equal(rgb[11], rgb[9])
    with pytest.raises(SourceError, match="clip: frame count mismatch: video has 10 frames, poses have 30"):
        load_rgb(folder, [8, 8, 23, 23], n_poses=30)
    with pytest.raises(SourceError, match="video has 10 frames, poses have 5"):
        load_rgb(folder, [8, 8, 23, 23], n_poses=5)


# --- synthetic RGB ----------------------------------------------------------------------------------

def test_synthetic_rgb_video_round_trip(tmp_path):
    video = generate_video("squat", 1, seed=3)
    frames = render_frames(video, seed=3)
    width, height = video.frame_size
    assert frames.shape == (len(video.keypoints2d), height, width, 3) and frames.dtype == np.uint8
    assert np.array_equal(frames[:, :2, :2], render_frames(video, seed=3)[:, :2, :2])  # reproducible
    path = write_rgb_video(video, tmp_path, seed=3)
    assert path == tmp_path / f"{video.video_id}.mp4"
    decoded = read_frames(path)
    assert decoded.shape == frames.shape
    assert np.mean(np.abs(decoded.astype(int) - frames)) < 12  # lossy mp4v, same picture


# --- end to end: synthetic Penn data with RGB -> cache ------------------------------------------------

@pytest.fixture(scope="module")
def penn_rgb(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("penn_rgb")
    write_dataset(root, "penn", actions=["squat"], videos_per_action=3, seed=5, rgb=True)
    return root


def test_rgb_cache_end_to_end(penn_rgb, tmp_path):
    source = tmp_path / "penn"
    shutil.copytree(penn_rgb, source)
    cache = tmp_path / "cache.zarr"
    config = PreprocessConfig(kind="penn", source=source, cache=cache, rgb_root=source / "frames", workers=1)
    summary = build_cache(config)
    assert summary.ok and summary.done == 3, summary.text()
    assert zcache.read_dataset_attrs(cache, "penn_action")["rgb_size"] == 64
    for number in ("0001", "0002", "0003"):
        video = zcache.read_video(cache, "penn_action", number)
        frames = video.attrs["n_frames"]
        assert video.rgb is not None and video.rgb.shape == (frames, 3, 64, 64) and video.rgb.dtype == np.uint8
        assert video.attrs["rgb_frames"] == frames and video.attrs["rgb_frame_policy"] == "exact"
        assert video.attrs["rgb_source"] == str((source / "frames" / f"{number}.mp4").resolve())
        x0, y0, x1, y1 = video.attrs["rgb_crop"]
        assert x1 - x0 == y1 - y0 > 0
    group = zcache.open_video_group(cache, "penn_action", "0001")
    assert group["rgb"].metadata.dimension_names == ("time", "channel", "row", "col")
    assert group["rgb"].chunks[0] == min(64, group["rgb"].shape[0])

    # the skeleton stands out from the (reproducible) background of the same crop
    synth = generate_video("squat", 0, seed=5)
    base = background(*synth.frame_size, _rng(synth, 5))
    video = zcache.read_video(cache, "penn_action", "0001")
    empty = crop_and_resize(base[None], video.attrs["rgb_crop"])[0].astype(int)
    diff = np.abs(video.rgb.astype(int) - empty).max(axis=1)  # (T, 64, 64)
    assert np.median(diff) < 25  # background: only camera noise and compression
    assert ((diff > 80).sum(axis=(1, 2)) > 40).all()  # every frame: many skeleton pixels

    # a second run rewrites nothing
    before = {str(p): p.stat().st_mtime_ns for p in cache.rglob("*") if p.is_file()}
    again = build_cache(config)
    assert again.ok and again.skipped == 3 and again.done == 0
    assert {str(p): p.stat().st_mtime_ns for p in cache.rglob("*") if p.is_file()} == before

    # a changed RGB file redoes its video only
    write_rgb_video(generate_video("squat", 2, seed=5), source / "frames", seed=99, name="0003")
    third = build_cache(config)
    assert third.ok and third.done == 1 and third.skipped == 2


def test_missing_or_corrupt_rgb_fails_only_its_video(penn_rgb, tmp_path):
    source = tmp_path / "penn"
    shutil.copytree(penn_rgb, source)
    (source / "frames" / "0002.mp4").unlink()
    (source / "frames" / "0003.mp4").write_bytes(b"\0" * 1000)
    cache = tmp_path / "cache.zarr"
    summary = build_cache(PreprocessConfig(kind="penn", source=source, cache=cache, rgb_root=source / "frames",
                                           workers=1, rgb_size=32))
    assert summary.done == 1 and [o.video_id for o in summary.failed] == ["0002", "0003"]
    assert "no RGB source for video '0002'" in summary.failed[0].error
    assert "0003.mp4" in summary.failed[1].error and "corrupt" in summary.failed[1].error
    assert zcache.list_videos(cache, "penn_action") == ["0001"]
    assert zcache.read_video(cache, "penn_action", "0001").rgb.shape[1:] == (3, 32, 32)
    with pytest.raises(SourceError, match="RGB root folder does not exist"):
        build_cache(PreprocessConfig(kind="penn", source=source, cache=cache, rgb_root=tmp_path / "nope", workers=1))


def test_cli_options():
    from la2ds.cli import build_parser

    args = build_parser().parse_args(["preprocess", "penn", "--source", "s", "--cache", "c", "--rgb", "f", "--rgb-size", "48"])
    assert args.rgb == Path("f") and args.rgb_size == 48
    assert build_parser().parse_args(["synth", "--out", "o", "--rgb"]).rgb is True

"""Filling the Zarr cache with real Dask clusters: contract, idempotency, bad input, interrupted runs."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pytest
import scipy.io
import torch
import zarr

from la2ds.cli import main as cli_main
from pipeline.heatmaps import HeatmapSettings, render_heatmaps_torch
from pipeline.layouts import PENN_ACTION
from pipeline.synth.writers import write_dataset
from storage import cache as zcache
from storage.build import PreprocessConfig, build_cache

ACTIONS = ["squat", "jumping_jacks"]


@pytest.fixture(scope="module")
def penn_source(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("penn")
    write_dataset(root, "penn", actions=ACTIONS, videos_per_action=3, seed=7)
    return root


def copy_source(penn_source: Path, tmp_path: Path) -> Path:
    dest = tmp_path / "penn"
    shutil.copytree(penn_source, dest)
    return dest


def config(source: Path, cache: Path, **kwargs) -> PreprocessConfig:
    return PreprocessConfig(kind="penn", source=source, cache=cache, workers=1, videos_per_task=2, **kwargs)


def metadata_mtimes(cache: Path) -> dict[str, float]:
    return {str(p): p.stat().st_mtime_ns for p in cache.rglob("*") if p.is_file()}


def test_cache_follows_the_contract(penn_source, tmp_path):
    cache = tmp_path / "cache.zarr"
    summary = build_cache(config(penn_source, cache))
    assert summary.ok and summary.done == 6 and summary.skipped == 0
    assert summary.frames_written > 0 and summary.bytes_written > 0

    root = zarr.open_group(cache, mode="r")
    assert root.attrs["schema"] == "la2ds-cache/1"
    ds = zcache.read_dataset_attrs(cache, "penn_action")
    assert ds["layout"] == "penn_action" and ds["joints"] == list(PENN_ACTION.joints)
    assert ds["limbs"] == [list(p) for p in PENN_ACTION.limbs]
    assert ds["channels"] == list(PENN_ACTION.channel_names) and len(ds["channels"]) == 27
    assert (ds["size"], ds["sigma"], ds["renderer_version"]) == (30, 1.0, "1")

    assert zcache.list_videos(cache, "penn_action") == [f"{i:04d}" for i in range(1, 7)]
    manifest = json.loads((penn_source / "manifest.json").read_text())
    for entry, video_id in zip(manifest["videos"], zcache.list_videos(cache, "penn_action")):
        video = zcache.read_video(cache, "penn_action", video_id)
        group = zcache.open_video_group(cache, "penn_action", video_id)
        T = entry["n_frames"]
        assert video.heatmaps.shape == (T, 27, 30, 30) and video.keypoints.shape == (T, 13, 3)
        assert group["heatmaps"].metadata.dimension_names == ("time", "channel", "row", "col")
        assert group["keypoints"].metadata.dimension_names == ("time", "joint", "coord")
        assert video.attrs["action"] == entry["action"] and video.attrs["split"] == entry["split"]
        assert video.attrs["n_frames"] == T and video.attrs["complete"] is True
        assert len(video.attrs["source_sha256"]) == 64 and video.attrs["params_hash"]
        x0, y0, x1, y1 = video.attrs["crop_box"]
        assert x0 < x1 and y0 < y1
        np.testing.assert_array_equal(video.phases, np.load(penn_source / entry["path"].replace(".mat", ".phases.npy")))
        # stored heatmaps stay within 1/255 of the float32 torch render of the stored keypoints
        reference = render_heatmaps_torch(torch.from_numpy(video.keypoints), PENN_ACTION.limbs).numpy()
        assert np.abs(video.heatmaps - reference).max() <= 1 / 255
        # keypoints lie inside the grid (crop box + 1 px margin) and the heatmaps are not empty
        seen = video.keypoints[..., 2] > 0
        assert video.keypoints[seen][:, :2].min() >= 1 - 1e-4 and video.keypoints[seen][:, :2].max() <= 28 + 1e-4
        assert video.heatmaps.max() == 1.0


def test_second_run_rewrites_nothing_and_changes_redo_only_what_changed(penn_source, tmp_path):
    source, cache = copy_source(penn_source, tmp_path), tmp_path / "cache.zarr"
    assert build_cache(config(source, cache)).done == 6
    before = metadata_mtimes(cache)

    again = build_cache(config(source, cache))
    assert (again.done, again.skipped) == (0, 6)
    assert metadata_mtimes(cache) == before, "an unchanged second run wrote to the cache"

    mat = source / "labels" / "0002.mat"
    fields = scipy.io.loadmat(mat)
    fields["x"] = fields["x"] + 3.0
    scipy.io.savemat(mat, {k: v for k, v in fields.items() if not k.startswith("__")})
    changed = build_cache(config(source, cache))
    assert (changed.done, changed.skipped) == (1, 5)
    after = metadata_mtimes(cache)
    rewritten = {Path(p).relative_to(cache).parts[1] for p in after if after[p] != before.get(p)}
    assert rewritten == {"0002"}

    assert build_cache(config(source, cache, heatmaps=HeatmapSettings(sigma=1.5))).done == 6
    assert build_cache(config(source, cache, heatmaps=HeatmapSettings(sigma=1.5), force=True)).done == 6


def write_bad_inputs(labels: Path) -> dict[str, str]:
    """Bad files beside good ones; returns video id -> expected words in its error."""
    good = scipy.io.loadmat(labels / "0001.mat")
    fields = {k: v for k, v in good.items() if not k.startswith("__")}
    (labels / "0101.mat").write_bytes((labels / "0001.mat").read_bytes()[:200])  # truncated
    (labels / "0102.mat").write_bytes(b"this is not a MATLAB file at all")  # corrupt
    scipy.io.savemat(labels / "0103.mat", {k: v for k, v in fields.items() if k != "visibility"})
    nan = dict(fields, x=np.where(np.arange(fields["x"].size).reshape(fields["x"].shape) == 5, np.nan, fields["x"]))
    scipy.io.savemat(labels / "0104.mat", nan)
    empty = dict(fields, visibility=np.zeros_like(fields["visibility"]), x=np.zeros_like(fields["x"]), y=np.zeros_like(fields["y"]))
    scipy.io.savemat(labels / "0105.mat", empty)
    return {"0101": "0101.mat", "0102": "0102.mat", "0103": "visibility", "0104": "non-finite", "0105": "empty video"}


def test_bad_videos_fail_alone_with_clear_errors(penn_source, tmp_path):
    source, cache = copy_source(penn_source, tmp_path), tmp_path / "cache.zarr"
    expected = write_bad_inputs(source / "labels")
    summary = build_cache(config(source, cache))
    assert summary.done == 6 and not summary.ok
    errors = {o.video_id: o.error for o in summary.failed}
    assert set(errors) == set(expected)
    for video_id, words in expected.items():
        assert f"{video_id}.mat" in errors[video_id] and words in errors[video_id], errors[video_id]
    statuses = zcache.video_statuses(cache, "penn_action")
    assert not set(expected) & set(statuses), "a failed video left a group behind"
    assert "FAILED 0104" in summary.text()


def test_cli_reports_bad_source_path_and_failed_videos(penn_source, tmp_path, capsys):
    assert cli_main(["preprocess", "penn", "--source", str(tmp_path / "nope"), "--cache", str(tmp_path / "c.zarr")]) == 2
    assert "nope: source path does not exist" in capsys.readouterr().err
    source = copy_source(penn_source, tmp_path)
    write_bad_inputs(source / "labels")
    code = cli_main(["preprocess", "penn", "--source", str(source), "--cache", str(tmp_path / "c.zarr"),
                     "--workers", "1", "--quiet"])
    out = capsys.readouterr()
    assert code == 1
    assert "done (written)               6" in out.out and "failed                       5" in out.out
    assert "FAILED 0102" in out.out and "0102.mat" in out.err
    assert cli_main(["preprocess", "penn", "--source", str(source), "--cache", str(tmp_path / "c.zarr"), "--sigma", "-1"]) == 2


def test_interrupted_run_leaves_no_false_complete_video_and_next_run_finishes(tmp_path):
    source, cache = tmp_path / "penn", tmp_path / "cache.zarr"
    write_dataset(source, "penn", videos_per_action=8, seed=3)
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    command = [sys.executable, "-m", "la2ds.cli", "preprocess", "penn", "--source", str(source), "--cache", str(cache),
               "--workers", "1", "--videos-per-task", "1", "--quiet"]
    process = subprocess.Popen(command, env=env, start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and len(zcache.list_videos(cache, "penn_action") if cache.exists() and (cache / "penn_action").exists() else []) < 3:
        time.sleep(0.05)
    os.killpg(process.pid, signal.SIGKILL)  # the CLI and its Dask workers, mid-run
    process.wait()
    statuses = zcache.video_statuses(cache, "penn_action")
    complete = [vid for vid, s in statuses.items() if s.complete]
    assert 3 <= len(complete) < 40, "the run was not interrupted mid-way"
    for video_id in complete:  # everything readers can see is whole
        video = zcache.read_video(cache, "penn_action", video_id)
        assert video.heatmaps.shape[0] == video.attrs["n_frames"] == video.keypoints.shape[0]
    leftover = cache / "penn_action" / "zarr.json.0123abcd.partial"  # what a write killed mid-file leaves
    leftover.write_text("{")
    with warnings.catch_warnings():  # readers list groups while temporary files lie around, silently
        warnings.simplefilter("error")
        assert set(zcache.video_statuses(cache, "penn_action")) == set(statuses)
    summary = build_cache(config(source, cache))
    assert summary.ok and summary.skipped == len(complete) and summary.done == 40 - len(complete)
    assert not list(cache.rglob("*.partial"))
    clean = tmp_path / "clean.zarr"
    build_cache(config(source, clean))
    for video_id in zcache.list_videos(clean, "penn_action"):
        a, b = zcache.read_video(cache, "penn_action", video_id), zcache.read_video(clean, "penn_action", video_id)
        np.testing.assert_array_equal(a.heatmaps, b.heatmaps)


def test_inspect_describes_and_draws(penn_source, tmp_path, capsys):
    cache = tmp_path / "cache.zarr"
    build_cache(config(penn_source, cache))
    assert cli_main(["inspect", str(cache)]) == 0
    text = capsys.readouterr().out
    assert "penn_action/  layout penn_action, 27 channels (13 joints + 14 limbs)" in text
    assert "6 complete videos, 0 incomplete" in text and "B per frame" in text
    png = tmp_path / "montage.png"
    assert cli_main(["inspect", str(cache), "penn_action/0003", "--png", str(png)]) == 0
    text = capsys.readouterr().out
    assert "heatmaps   (" in text and "uint8" in text and "@crop_box" in text
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 10_000
    assert cli_main(["inspect", str(cache), "penn_action/9999"]) == 2


@pytest.mark.real_data
def test_real_openpose_body25b_through_the_cache(openpose_body25b, tmp_path):
    cache = tmp_path / "cache.zarr"
    summary = build_cache(PreprocessConfig(kind="openpose", source=openpose_body25b, cache=cache, workers=1,
                                           source_options={"layout": "body25b"}))
    assert summary.ok and summary.done == 4
    attrs = zcache.read_dataset_attrs(cache, "openpose_body25b")
    assert attrs["layout"] == "body25b" and len(attrs["channels"]) == 25 + 25
    video = zcache.read_video(cache, "openpose_body25b", "cam01")
    assert video.heatmaps.shape == (100, 50, 30, 30)
    assert (video.keypoints[..., 2] > 0).mean() > 0.8

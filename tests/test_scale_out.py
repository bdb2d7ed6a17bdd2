"""Preprocessing on an existing Dask cluster, and two runs on one cache at the same time."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from pipeline.synth.writers import write_dataset
from storage import cache as zcache
from storage.build import PreprocessConfig, build_cache
from tests.conftest import free_port

BIN = Path(sys.executable).parent


@pytest.fixture
def dask_cluster(tmp_path):
    """A real `dask scheduler` and `dask worker` on 127.0.0.1, as separate processes."""
    from distributed import Client

    port = free_port()
    address = f"tcp://127.0.0.1:{port}"
    scheduler = subprocess.Popen([BIN / "dask", "scheduler", "--host", "127.0.0.1", "--port", str(port), "--no-dashboard"],
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    worker = subprocess.Popen([BIN / "dask", "worker", address, "--nthreads", "1", "--nworkers", "2", "--no-dashboard",
                               "--local-directory", str(tmp_path / "dask")],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        with Client(address, timeout="60s") as client:
            client.wait_for_workers(2, timeout=90)
        yield address
    finally:
        for process in (worker, scheduler):
            os.killpg(process.pid, signal.SIGTERM)
            process.wait(timeout=30)


def test_preprocessing_through_an_existing_scheduler(dask_cluster, tmp_path):
    source, cache = tmp_path / "penn", tmp_path / "cache.zarr"
    write_dataset(source, "penn", actions=["squat", "lunge"], videos_per_action=3, seed=2)
    summary = build_cache(PreprocessConfig(kind="penn", source=source, cache=cache, scheduler_address=dask_cluster,
                                           videos_per_task=1))
    assert summary.ok and summary.done == 6
    assert zcache.list_videos(cache, "penn_action") == [f"{i:04d}" for i in range(1, 7)]
    video = zcache.read_video(cache, "penn_action", "0004")
    assert video.heatmaps.shape[1:] == (27, 30, 30) and video.heatmaps.max() == 1.0


def test_two_runs_on_one_cache_at_the_same_time(tmp_path):
    source, cache = tmp_path / "penn", tmp_path / "cache.zarr"
    write_dataset(source, "penn", actions=["squat", "lunge"], videos_per_action=4, seed=4)
    command = [sys.executable, "-m", "la2ds.cli", "preprocess", "penn", "--source", str(source), "--cache", str(cache),
               "--workers", "1", "--videos-per-task", "1", "--quiet"]
    runs = [subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(2)]
    outputs = [run.communicate(timeout=300) for run in runs]
    assert [run.returncode for run in runs] == [0, 0], outputs
    written = sorted(int(out.split("done (written)")[1].split()[0]) for out, _ in outputs)
    assert written == [0, 8], "both runs wrote videos: they were not serialised"
    assert any("another run is writing this cache" in err for _, err in outputs)
    clean = tmp_path / "clean.zarr"
    build_cache(PreprocessConfig(kind="penn", source=source, cache=clean, workers=1))
    assert zcache.list_videos(cache, "penn_action") == zcache.list_videos(clean, "penn_action")
    for video_id in zcache.list_videos(clean, "penn_action"):
        np.testing.assert_array_equal(zcache.read_video(cache, "penn_action", video_id).heatmaps,
                                      zcache.read_video(clean, "penn_action", video_id).heatmaps)

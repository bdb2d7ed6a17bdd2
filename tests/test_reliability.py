"""Killing the serving process in the middle of a preprocessing run, then running again (real server)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from pipeline.synth.writers import write_dataset
from storage import cache as zcache
from storage.build import PreprocessConfig, build_cache
from tests.conftest import free_port

BIN = Path(sys.executable).parent


@pytest.fixture
def prefect_env(tmp_path):
    """A real Prefect server (SQLite in tmp_path) on a free port; the environment to talk to it."""
    port = free_port()
    env = dict(os.environ, PREFECT_HOME=str(tmp_path / "prefect"), PREFECT_API_URL=f"http://127.0.0.1:{port}/api",
               PREFECT_SERVER_ANALYTICS_ENABLED="false", PREFECT_RUNNER_POLL_FREQUENCY="2",
               LA2DS_DATA=str(tmp_path / "data"), LA2DS_CACHE=str(tmp_path / "cache.zarr"), LA2DS_RUNS=str(tmp_path / "runs"))
    subprocess.run([BIN / "prefect", "server", "start", "--host", "127.0.0.1", "--port", str(port), "--background"],
                   env=env, check=True, capture_output=True, timeout=120)
    try:
        subprocess.run([BIN / "prefect", "server", "status", "--wait", "--timeout", "120"], env=env, check=True,
                       capture_output=True, timeout=150)
        yield env
    finally:
        subprocess.run([BIN / "prefect", "server", "stop"], env=env, capture_output=True, timeout=60)


def start_serving(env: dict) -> subprocess.Popen:
    process = subprocess.Popen([BIN / "la2ds", "serve"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                               start_new_session=True)
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        ready = subprocess.run([BIN / "prefect", "deployment", "inspect", "preprocess/synthetic"], env=env,
                               capture_output=True, timeout=60)
        if ready.returncode == 0:
            return process
        time.sleep(1)
    raise TimeoutError("la2ds serve did not register its deployments")


def test_killing_the_serving_process_mid_run_then_running_again_completes_the_cache(prefect_env, tmp_path):
    source = Path(prefect_env["LA2DS_DATA"]) / "synthetic"
    write_dataset(source, "synthetic", videos_per_action=8, seed=6)
    cache = Path(prefect_env["LA2DS_CACHE"])
    run = [BIN / "prefect", "deployment", "run", "preprocess/synthetic", "-p", "workers=1"]

    serving = start_serving(prefect_env)
    subprocess.run(run, env=prefect_env, check=True, capture_output=True, timeout=60)
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        if (cache / "zarr.json").exists() and len(zcache.list_videos(cache, "synthetic")) >= 2:
            break
        time.sleep(0.1)
    os.killpg(serving.pid, signal.SIGKILL)  # the serving process, its flow run and its Dask workers
    serving.wait()
    assert 2 <= len(zcache.list_videos(cache, "synthetic")) < 40, "the run was not interrupted mid-way"

    serving = start_serving(prefect_env)
    try:
        again = subprocess.run(run + ["--watch"], env=prefect_env, capture_output=True, text=True, timeout=300)
    finally:
        os.killpg(serving.pid, signal.SIGTERM)
        serving.wait(timeout=60)
    assert again.returncode == 0 and "Completed" in again.stdout, again.stdout[-2000:] + again.stderr[-2000:]

    clean = tmp_path / "clean.zarr"
    build_cache(PreprocessConfig(kind="synthetic", source=source, cache=clean, workers=1))
    assert zcache.list_videos(cache, "synthetic") == zcache.list_videos(clean, "synthetic")
    assert len(zcache.list_videos(clean, "synthetic")) == 40
    for video_id in zcache.list_videos(clean, "synthetic"):
        np.testing.assert_array_equal(zcache.read_video(cache, "synthetic", video_id).heatmaps,
                                      zcache.read_video(clean, "synthetic", video_id).heatmaps)

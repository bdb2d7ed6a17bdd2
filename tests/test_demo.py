"""`make demo`'s script end to end: a real Prefect server, `la2ds serve`, `prefect deployment run`."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from pipeline.synth.writers import write_dataset
from storage import cache as zcache
from tests.conftest import free_port

REPO = Path(__file__).resolve().parents[1]


@pytest.mark.skipif(not (REPO / ".venv" / "bin" / "la2ds").exists(), reason="needs the project venv (make setup)")
def test_demo_script_runs_the_penn_deployment_and_stops_what_it_started(tmp_path):
    penn = tmp_path / "penn"
    write_dataset(penn, "penn", actions=["squat", "lunge"], videos_per_action=3, seed=5)
    env = dict(os.environ, LA2DS_STATE=str(tmp_path / "state"), PREFECT_HOME=str(tmp_path / "state" / "prefect"),
               LA2DS_PREFECT_PORT=str(free_port()), PENN_ACTION_ROOT=str(penn), LA2DS_CACHE=str(tmp_path / "cache.zarr"),
               LA2DS_RUNS=str(tmp_path / "state" / "runs"))
    done = subprocess.run(["bash", "scripts/demo.sh"], cwd=REPO, env=env, capture_output=True, text=True, timeout=400)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "Flow run finished successfully in 'Completed'" in done.stdout
    assert zcache.list_videos(tmp_path / "cache.zarr", "penn_action") == [f"{i:04d}" for i in range(1, 7)]
    assert (tmp_path / "state" / "montage.png").stat().st_size > 10_000
    assert "la2ds inspect" in done.stdout
    metrics = json.loads((tmp_path / "state" / "runs" / "penn" / "report" / "metrics.json").read_text())
    assert set(metrics) == {"squat", "mean"} and "kendalls_tau" in metrics["squat"]
    assert (tmp_path / "state" / "runs" / "penn" / "checkpoint.pt").exists()
    leftover = subprocess.run(["pgrep", "-f", str(tmp_path / "state")], capture_output=True, text=True)
    assert leftover.stdout == "", "the demo left processes running"

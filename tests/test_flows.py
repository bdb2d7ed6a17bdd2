"""The Prefect flow and its deployments, on the Prefect test harness (a real temporary server)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from pipeline.synth.writers import write_dataset
from storage import cache as zcache


@pytest.fixture(scope="module")
def prefect_harness():
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=120):
        yield


def test_preprocess_flow_fills_cache_and_publishes_summary(prefect_harness, tmp_path):
    from prefect.client.orchestration import get_client

    from flows.preprocess import preprocess

    source, cache = tmp_path / "penn", tmp_path / "cache.zarr"
    write_dataset(source, "penn", actions=["squat"], videos_per_action=3, seed=1)
    (source / "labels" / "0009.mat").write_bytes(b"garbage")  # a bad video does not fail the flow
    summary = preprocess(kind="penn", source=str(source), cache=str(cache), workers=1)
    assert summary.done == 3 and [o.video_id for o in summary.failed] == ["0009"]
    assert zcache.list_videos(cache, "penn_action") == ["0001", "0002", "0003"]

    async def artifacts():
        async with get_client() as client:
            return await client.read_artifacts()

    table = [a for a in asyncio.run(artifacts()) if a.key == "preprocess-penn-action"]
    assert table and table[0].type == "table"
    assert "FAILED 0009" in str(table[0].data) and "0009.mat" in str(table[0].data)

    again = preprocess(kind="penn", source=str(source), cache=str(cache), workers=1)
    assert again.done == 0 and again.skipped == 3


def test_deployments_are_named_and_validate_parameters(tmp_path, monkeypatch):
    from flows.serve import deployments

    monkeypatch.setenv("LA2DS_CACHE", str(tmp_path / "c.zarr"))
    monkeypatch.setenv("PENN_ACTION_ROOT", str(tmp_path / "penn"))
    deps = {d.name: d for d in deployments() if d.flow_name == "preprocess"}
    assert set(deps) == {"penn", "openpose", "projected", "synthetic"}
    for name, dep in deps.items():
        assert dep.flow_name == "preprocess" and dep.enforce_parameter_schema
        assert dep.parameters["kind"] == name and dep.parameters["cache"] == str(tmp_path / "c.zarr")
    assert deps["penn"].parameters["source"] == str(tmp_path / "penn")


def test_flow_parameters_are_validated(tmp_path):
    from prefect.exceptions import ParameterTypeError
    from prefect.utilities.callables import parameter_schema

    from flows.preprocess import preprocess

    schema = parameter_schema(preprocess).model_dump()
    assert {"kind", "source", "cache", "heatmaps", "workers", "force"} <= set(schema["properties"])
    assert schema["required"] == ["kind", "source", "cache"]
    with pytest.raises(ParameterTypeError, match="sigma"):
        preprocess.validate_parameters({"kind": "penn", "source": "s", "cache": "c", "heatmaps": {"sigma": -1}})
    with pytest.raises(ParameterTypeError, match="kind"):
        preprocess.validate_parameters({"kind": "bvh", "source": "s", "cache": "c"})


def test_train_and_evaluate_flows_publish_curve_and_table(prefect_harness, tmp_path):
    from prefect.client.orchestration import get_client

    from flows.serve import ensure_gpu_limit
    from flows.train import GPU_LIMIT, evaluate_flow, train_flow
    from storage.build import PreprocessConfig, build_cache

    source, cache = tmp_path / "penn", tmp_path / "cache.zarr"
    write_dataset(source, "penn", actions=["squat"], videos_per_action=6, seed=2)
    assert build_cache(PreprocessConfig(kind="penn", source=source, cache=cache, workers=1)).ok
    summary = train_flow(cache=str(cache), dataset="penn_action", out=str(tmp_path / "run"), epochs=2,
                         batch_size=4, max_frames=16, device="cpu")
    assert summary.epochs == 2 and len(summary.losses) == 2 and summary.device == "cpu"
    assert (tmp_path / "run" / "checkpoint.pt").exists()
    evaluation = evaluate_flow(run=str(tmp_path / "run"), cache=str(cache))
    assert set(evaluation.metrics) == {"squat", "mean"}
    assert (tmp_path / "run" / "report" / "metrics.md").exists()
    assert evaluation.pngs and all(Path(p).read_bytes()[:4] == b"\x89PNG" for p in evaluation.pngs)

    ensure_gpu_limit()

    async def server_state():
        async with get_client() as client:
            return await client.read_artifacts(), await client.read_global_concurrency_limit_by_name(GPU_LIMIT)

    artifacts, limit = asyncio.run(server_state())
    keys = {a.key for a in artifacts}
    assert "training-curve-penn-action" in keys and "evaluation-run" in keys
    assert limit.limit == 1


def test_serve_lists_every_deployment(tmp_path, monkeypatch):
    from flows.serve import deployments

    monkeypatch.setenv("LA2DS_RUNS", str(tmp_path / "runs"))
    names = {f"{d.flow_name}/{d.name}" for d in deployments()}
    assert {"preprocess/penn", "train/penn", "evaluate/penn", "train/synthetic", "evaluate/synthetic"} <= names
    train = next(d for d in deployments() if d.flow_name == "train" and d.name == "penn")
    assert train.parameters["out"] == str(tmp_path / "runs" / "penn") and train.enforce_parameter_schema
    monkeypatch.setenv("LA2DS_DASK_SCHEDULER", "tcp://127.0.0.1:8786")
    only = deployments(("preprocess",))
    assert {d.flow_name for d in only} == {"preprocess"} and len(only) == 4
    assert all(d.parameters["scheduler_address"] == "tcp://127.0.0.1:8786" for d in only)
    with pytest.raises(ValueError, match="unknown flow"):
        deployments(("preprocess", "nope"))
    retrain = next(d for d in deployments() if d.flow_name == "retrain")
    assert retrain.name == "penn" and [s.schedule.cron for s in retrain.schedules] == ["0 3 * * 1"]


def test_retrain_keeps_both_runs_and_promotes_only_a_better_model(prefect_harness, tmp_path):
    import json

    from flows.retrain import retrain_flow
    from models.registry import read_registry

    source = tmp_path / "penn"
    write_dataset(source, "penn", actions=["squat"], videos_per_action=6, seed=8)
    common = dict(kind="penn", source=str(source), cache=str(tmp_path / "cache.zarr"), dataset="penn_action",
                  runs=str(tmp_path / "runs"), name="squat", epochs=1, batch_size=4, max_frames=16, device="cpu", workers=1)
    first = retrain_flow(**common)
    assert first.promoted and first.reason == "no champion yet"
    second = retrain_flow(**common, metric="ap.5")
    registry = read_registry(tmp_path / "runs" / "squat")
    assert [h["run"] for h in registry["history"]] == [first.run, second.run]
    assert registry["champion"]["run"] == (second.run if second.promoted else first.run)
    for run in (first.run, second.run):  # both runs kept, each with its evaluation
        assert json.loads((tmp_path / "runs" / "squat" / run.split("/")[-1] / "report" / "metrics.json").read_text())


def test_bad_parameters_are_refused_when_the_run_is_created(prefect_harness):
    from prefect.exceptions import ParameterTypeError

    from flows.retrain import retrain_flow

    with pytest.raises(ParameterTypeError, match="metric"):
        retrain_flow.validate_parameters({"kind": "penn", "source": "s", "cache": "c", "dataset": "d", "runs": "r",
                                          "name": "n", "metric": "accuracy"})


def test_a_failing_flow_says_why(prefect_harness, tmp_path):
    from flows.preprocess import preprocess

    state = preprocess(kind="penn", source=str(tmp_path / "missing"), cache=str(tmp_path / "c.zarr"), return_state=True)
    assert state.is_failed()
    assert "missing: source path does not exist" in state.message
    assert not (tmp_path / "c.zarr").exists()  # nothing was created for a run that could not start

    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId

    async def task_runs():
        async with get_client() as client:
            return await client.read_task_runs(flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[state.state_details.flow_run_id])))

    (build,) = asyncio.run(task_runs())
    assert build.run_count == 1, "bad input was retried"

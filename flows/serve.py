"""Serve every deployment from one long-running process (`la2ds serve`).

Default parameters come from the environment at serve time (absolute paths):
- LA2DS_CACHE: the Zarr cache (default .la2ds/cache.zarr under the current folder);
- PENN_ACTION_ROOT: a Penn Action folder (default .la2ds/demo/penn, where `make demo` writes synthetic data);
- LA2DS_DATA: folder of the other sources' default folders (default .la2ds/demo);
- LA2DS_DASK_SCHEDULER: an existing Dask scheduler (tcp://host:8786) the preprocess deployments use
  by default (their `scheduler_address` parameter; unset: a local cluster per run);
- LA2DS_RETRAIN_CRON: schedule of retrain/penn (default weekly, Monday 03:00 UTC);
- LA2DS_RUNS: folder of the training runs (default .la2ds/runs): train/<name> writes LA2DS_RUNS/<name>,
  evaluate/<name> embeds and evaluates it.
Every parameter can be overridden per run: prefect deployment run preprocess/penn -p source=/data/penn
"""

from __future__ import annotations

import os
from pathlib import Path

from prefect import serve
from prefect.client.orchestration import get_client

from flows.preprocess import preprocess
from flows.retrain import RETRAIN_CRON, retrain_flow
from flows.train import GPU_LIMIT, evaluate_flow, gpu_slots, train_flow


def _path(variable: str, default: str) -> str:
    return str(Path(os.environ.get(variable, default)).expanduser().resolve())


FLOWS = ("preprocess", "train", "evaluate", "retrain")


def deployments(flows: tuple[str, ...] = FLOWS) -> list:
    """The deployments of the named flows (default: all)."""
    unknown = set(flows) - set(FLOWS)
    if unknown:
        raise ValueError(f"unknown flow(s) {', '.join(sorted(unknown))}; known: {', '.join(FLOWS)}")
    cache = _path("LA2DS_CACHE", ".la2ds/cache.zarr")
    scheduler = {"scheduler_address": os.environ["LA2DS_DASK_SCHEDULER"]} if os.environ.get("LA2DS_DASK_SCHEDULER") else {}
    data = _path("LA2DS_DATA", ".la2ds/demo")
    sources = {
        "penn": _path("PENN_ACTION_ROOT", f"{data}/penn"),
        "openpose": f"{data}/openpose",
        "projected": f"{data}/projected",
        "synthetic": f"{data}/synthetic",
    }
    runs = _path("LA2DS_RUNS", ".la2ds/runs")
    preprocessing = [
        preprocess.to_deployment(
            name=kind, parameters={"kind": kind, "source": source, "cache": cache, **scheduler},
            enforce_parameter_schema=True, tags=["preprocess"],
            description=f"Fill the heatmap cache from {kind} poses (default source {source})",
        )
        for kind, source in sources.items()
    ]
    datasets = {"penn": "penn_action", "synthetic": "synthetic"}
    training = [
        train_flow.to_deployment(
            name=name, parameters={"cache": cache, "dataset": dataset, "out": f"{runs}/{name}"},
            enforce_parameter_schema=True, tags=["train"],
            description=f"Train the alignment network on {dataset} (runs in {runs}/{name})",
        )
        for name, dataset in datasets.items()
    ]
    evaluation = [
        evaluate_flow.to_deployment(
            name=name, parameters={"run": f"{runs}/{name}", "cache": cache},
            enforce_parameter_schema=True, tags=["evaluate"],
            description=f"Embed and evaluate the run {runs}/{name}",
        )
        for name in datasets
    ]
    retraining = [
        retrain_flow.to_deployment(
            name="penn", cron=os.environ.get("LA2DS_RETRAIN_CRON", RETRAIN_CRON), enforce_parameter_schema=True,
            parameters={"kind": "penn", "source": sources["penn"], "cache": cache, "dataset": "penn_action",
                        "runs": runs, "name": "penn-retrain"},
            tags=["retrain"], description="Weekly: new videos, training, evaluation, promotion if better",
        )
    ]
    by_flow = {"preprocess": preprocessing, "train": training, "evaluate": evaluation, "retrain": retraining}
    return [deployment for name in flows for deployment in by_flow[name]]


def ensure_gpu_limit() -> None:
    """The global concurrency limit that keeps one training per GPU (LA2DS_GPU_SLOTS slots)."""
    with get_client(sync_client=True) as client:
        client.upsert_global_concurrency_limit_by_name(GPU_LIMIT, gpu_slots())


def serve_all(flows: tuple[str, ...] = FLOWS) -> None:
    """Serve the named flows' deployments from this process until it is stopped."""
    selected = deployments(flows)
    ensure_gpu_limit()
    serve(*selected, pause_on_shutdown=False)

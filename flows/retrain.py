"""Prefect flow `retrain`: incremental preprocessing, training, evaluation, then promotion of the new
model only if it beats the current champion on a metric (models/registry.py keeps both runs and the
decision). Deployment retrain/penn runs weekly (cron RETRAIN_CRON, Monday 03:00 UTC); pause it with
`prefect deployment schedule pause retrain/penn <schedule id>` or change LA2DS_RETRAIN_CRON.
"""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path
from typing import Literal

from prefect import flow, task
from prefect.artifacts import create_markdown_artifact

from flows.preprocess import preprocess
from flows.train import _key, evaluate_flow, train_flow
from models.registry import Decision, decide_and_record
from pipeline.sources import SourceKind

RETRAIN_CRON = "0 3 * * 1"
Metric = Literal["kendalls_tau", "progression", "classification.0.1", "classification.0.5", "classification.1.0",
                 "ap.5", "ap.10", "ap.15"]


@task(name="promote", task_run_name="promote-{run}", retries=2, retry_delay_seconds=5)
def promote_task(line: str, run: str, metrics: dict, metric: str) -> Decision:
    return decide_and_record(line, run, metrics, metric)


@flow(name="retrain", flow_run_name="retrain-{name}")
def retrain_flow(
    kind: SourceKind,
    source: str,
    cache: str,
    dataset: str,
    runs: str,
    name: str,
    action: str | None = None,
    metric: Metric = "kendalls_tau",
    epochs: int = 100,
    batch_size: int | None = None,
    lr: float | None = None,
    max_frames: int | None = 128,
    device: Literal["auto", "cpu", "cuda"] = "auto",
    workers: int = 2,
) -> Decision:
    """New or changed videos into the cache, a new run RUNS/NAME/<time>, its evaluation, the decision."""
    preprocess(kind=kind, source=source, cache=cache, workers=workers)
    line = Path(runs) / name
    run = str(line / datetime.now(timezone.utc).strftime("%Y%m%d-%H%M%S"))
    train_flow(cache=cache, dataset=dataset, out=run, action=action, epochs=epochs, batch_size=batch_size, lr=lr,
               max_frames=max_frames, device=device)
    evaluation = evaluate_flow(run=run, cache=cache)
    decision = promote_task(str(line), run, evaluation.metrics, metric)
    create_markdown_artifact(
        key=f"promotion-{_key(name)}",
        markdown=(f"## {'Promoted' if decision.promoted else 'Not promoted'}: {run}\n\n"
                  f"| | run | {metric} |\n|---|---|---|\n| candidate | {run} | {decision.score} |\n"
                  f"| champion before | {decision.champion_run} | {decision.champion_score} |\n\n{decision.reason}\n\n"
                  f"Registry: {line / 'registry.json'}\n"),
        description=f"Promotion decision for {name}",
    )
    return decision

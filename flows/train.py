"""Prefect flows `train` and `evaluate`: thin wrappers over models.train, models.embed, models.evaluate.

One training per GPU at a time: on CUDA the training task holds a slot of the global concurrency
limit `la2ds-gpu` (one slot per GPU; `la2ds serve` creates it with LA2DS_GPU_SLOTS slots, default
1, on the serving machine's Prefect server). CPU trainings take no slot.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import Literal

from prefect import flow, get_run_logger, task
from prefect.artifacts import create_markdown_artifact, create_table_artifact
from prefect.concurrency.sync import concurrency
from pydantic import BaseModel

from models.train import TrainConfig, resolve_device, train

GPU_LIMIT = "la2ds-gpu"


class TrainSummary(BaseModel):
    run_dir: str
    checkpoint: str
    epochs: int
    losses: list[float]
    seconds: float
    pairs_per_second: float
    device: str


class EvaluateSummary(BaseModel):
    embeddings: str
    report: str
    metrics: dict
    pngs: list[str] = []


def gpu_slots() -> int:
    return int(os.environ.get("LA2DS_GPU_SLOTS", "1"))


@task(name="train", task_run_name="train-{config.dataset}-{config.action}")
def train_task(config: TrainConfig, resume: bool = False) -> TrainSummary:
    device = resolve_device(config.device)
    slot = concurrency(GPU_LIMIT, occupy=1, strict=False) if device.type == "cuda" else contextlib.nullcontext()
    with slot:
        get_run_logger().info("training %s/%s on %s into %s", config.dataset, config.action, device, config.out)
        result = train(config, progress=False, resume=resume)
    return TrainSummary(run_dir=str(result.run_dir), checkpoint=str(result.checkpoint), epochs=result.epoch,
                        losses=result.losses, seconds=result.seconds, pairs_per_second=result.pairs_per_second,
                        device=result.device)


@flow(name="train", flow_run_name="train-{dataset}-{action}")
def train_flow(
    cache: str,
    dataset: str,
    out: str,
    action: str | None = None,
    model: Literal["la2ds", "coords"] = "la2ds",
    epochs: int = 100,
    batch_size: int | None = None,
    lr: float | None = None,
    max_frames: int | None = 128,
    device: Literal["auto", "cpu", "cuda"] = "auto",
    resume: bool = False,
) -> TrainSummary:
    """Train the alignment network on a cached dataset (paper defaults per dataset, overridable)."""
    overrides = {key: value for key, value in {"batch_size": batch_size, "lr": lr}.items() if value is not None}
    config = TrainConfig.for_dataset(dataset, cache=Path(cache), out=Path(out), action=action, model={"model": model},
                                     epochs=epochs, max_frames=max_frames, device=device, **overrides)
    summary = train_task(config, resume=resume)
    create_table_artifact(
        key=f"training-curve-{_key(dataset, action)}",
        table=[{"epoch": i + 1, "loss": f"{loss:.4g}"} for i, loss in enumerate(summary.losses)],
        description=f"Training loss per epoch: {summary.run_dir} ({summary.device}, {summary.pairs_per_second:.1f} pairs/s)",
    )
    return summary


@task(name="embed", task_run_name="embed-{run}", retries=1, retry_delay_seconds=10)
def embed_task(run: str, cache: str, out: str) -> str:
    from models.embed import embed

    return str(embed(run, cache, out, progress=False).out)


@task(name="evaluate", task_run_name="evaluate-{embeddings}")
def evaluate_task(embeddings: str, out: str, standardize: bool = False) -> dict:
    from models.evaluate import evaluate_embeddings

    return evaluate_embeddings(embeddings, out, standardize=standardize)


@task(name="report-pngs", task_run_name="report-pngs-{embeddings}")
def report_pngs_task(embeddings: str, cache: str, out: str) -> list[str]:
    from models.plots import write_report_pngs

    return [str(path) for path in write_report_pngs(embeddings, cache, out)]


@flow(name="evaluate", flow_run_name="evaluate-{run}")
def evaluate_flow(run: str, cache: str, out: str | None = None, standardize: bool = False) -> EvaluateSummary:
    """Embed every video of the run's dataset/action with the frozen model, then the field's metrics
    (metrics.json, metrics.md) and the report PNGs (alignment, PCA, retrieval grid) in OUT."""
    report = Path(out) if out else Path(run) / "report"
    embeddings = embed_task(run, cache, str(Path(run) / "embeddings.zarr"))
    metrics = evaluate_task(embeddings, str(report), standardize)
    pngs = report_pngs_task(embeddings, cache, str(report))
    create_markdown_artifact(
        key=f"evaluation-{_key(Path(run).name, None)}",
        markdown=(report / "metrics.md").read_text() + "\n\nPictures:\n" + "".join(f"- {p}\n" for p in pngs),
        description=f"Evaluation of {run}",
    )
    return EvaluateSummary(embeddings=embeddings, report=str(report), metrics=metrics, pngs=pngs)


def _key(*parts: str | None) -> str:
    """An artifact key: lowercase letters, digits and dashes."""
    text = "-".join(p for p in parts if p)
    return "".join(c if c.isalnum() else "-" for c in text.lower()).strip("-")

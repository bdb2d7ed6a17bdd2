"""Prefect flow `preprocess`: a thin wrapper over `storage.build.build_cache`.

Deployments (see flows/serve.py): preprocess/penn, preprocess/openpose, preprocess/projected,
preprocess/synthetic. A failing video does not fail the flow: it is listed in the summary artifact.
"""

from __future__ import annotations

from prefect import flow, get_run_logger, task
from prefect.artifacts import create_table_artifact

from pipeline.errors import SourceError
from pipeline.heatmaps import HeatmapSettings
from pipeline.sources import SourceKind, SourceOptions
from storage.build import PreprocessConfig, PreprocessSummary, VideoOutcome, build_cache
from storage.cache import CacheError


def retry_unless_bad_input(task, task_run, state) -> bool:
    """Retry I/O failures, not bad input (a missing source path stays missing)."""
    try:
        state.result()
    except (SourceError, CacheError, ValueError):
        return False
    except Exception:  # noqa: BLE001 - anything else may be transient
        return True
    return True


@task(name="build-cache", task_run_name="build-cache-{config.kind.value}", retries=2, retry_delay_seconds=[5, 30],
      retry_condition_fn=retry_unless_bad_input)
def build_cache_task(config: PreprocessConfig) -> PreprocessSummary:
    """Idempotent, so a retry after an I/O failure only redoes what is not complete."""
    logger = get_run_logger()
    progress = {"done": 0, "todo": 0}

    def on_plan(todo: int, skipped: int) -> None:
        progress["todo"] = todo
        logger.info("%d videos to process, %d cached and unchanged", todo, skipped)

    def on_outcomes(outcomes: list[VideoOutcome]) -> None:
        progress["done"] += len(outcomes)
        for outcome in outcomes:
            if outcome.status == "failed":
                logger.warning("FAILED %s", outcome.error)
        logger.info("%d / %d videos processed", progress["done"], progress["todo"])

    return build_cache(config, on_outcomes=on_outcomes, on_plan=on_plan, on_wait=logger.warning)


@flow(name="preprocess", flow_run_name="preprocess-{kind.value}", log_prints=True)
def preprocess(
    kind: SourceKind,
    source: str,
    cache: str,
    dataset: str | None = None,
    heatmaps: HeatmapSettings = HeatmapSettings(),
    source_options: SourceOptions = SourceOptions(),
    workers: int = 2,
    scheduler_address: str | None = None,
    force: bool = False,
    rgb_root: str | None = None,
    rgb_size: int = 64,
) -> PreprocessSummary:
    """Poses from `source` -> 30x30 joint+limb heatmaps in the Zarr cache at `cache`.

    With `rgb_root`, each video's RGB frames (rgb_root/<video_id>.mp4|.avi or rgb_root/<video_id>/)
    are cropped, resized to rgb_size and cached beside the heatmaps.
    """
    config = PreprocessConfig(kind=kind, source=source, cache=cache, dataset=dataset, heatmaps=heatmaps,
                              source_options=source_options, workers=workers,
                              scheduler_address=scheduler_address, force=force, rgb_root=rgb_root,
                              rgb_size=rgb_size)
    summary = build_cache_task(config)
    create_table_artifact(key=f"preprocess-{config.dataset_name.replace('_', '-').lower()}", table=summary.rows(),
                          description=f"Preprocessing summary: {summary.cache} / {summary.dataset}")
    print(summary.text())
    return summary

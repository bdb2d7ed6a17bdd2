"""Fill the cache from a pose source with Dask: plan, process batches of videos, summarise.

- Planning (in the caller's process): discover the videos, fingerprint each source (sha256), and
  skip every video whose cached group is complete with the same source sha256 and params hash.
  When nothing is left to do, no cluster is started.
- Work: batches of videos go to Dask workers (a LocalCluster of processes by default, or an existing
  scheduler); each video is written by exactly one task, so no two writers ever share a chunk.
- RGB (optional, `rgb_root`): each video's frames come from `rgb_root/<video_id>.mp4|.avi` or the
  folder `rgb_root/<video_id>/` (pipeline/rgb.py: crop, resize, frame-count policy) and are written in
  the same group write as the heatmaps; the source sha256 then covers the RGB file(s) too.
- Bad input fails only its own video: the error names the file and the problem, any half-written
  group is removed, a previously cached version is left as it was, and the summary lists it.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from pipeline.errors import SourceError
from pipeline.heatmaps import RENDERER_VERSION, HeatmapSettings
from pipeline.layouts import Layout, get_layout
from pipeline.prepare import prepare_video
from pipeline import rgb as prgb
from pipeline.sources.base import READER_VERSION
from pipeline.sources import SourceKind, SourceOptions, VideoRef, discover_videos, fingerprint, load_video, source_fingerprint
from storage import cache as zcache
from storage.lock import cache_write_lock

log = logging.getLogger(__name__)

DEFAULT_DATASET_NAMES = {SourceKind.penn: "penn_action"}

HEATMAP_CONVENTION = (
    "x = column, y = row, pixel centres at integers 0..size-1; joint k: "
    "exp(-((col - x_k)^2 + (row - y_k)^2) / (2 sigma^2)) * c_k; limb (a, b): the same Gaussian of the "
    "squared distance from (col, row) to segment a-b, times min(c_a, c_b); channels: joints then limbs"
)


class PreprocessConfig(BaseModel):
    """Everything a preprocessing run depends on (flow parameters and CLI options map onto it)."""

    model_config = ConfigDict(extra="forbid")

    kind: SourceKind
    source: Path = Field(description="source file or folder (Penn labels folder, OpenPose JSON folders, ...)")
    cache: Path = Field(description="Zarr cache path (created if missing)")
    dataset: str | None = Field(None, description="dataset group name; default: penn_action for penn, else the source folder name")
    heatmaps: HeatmapSettings = HeatmapSettings()
    source_options: SourceOptions = SourceOptions()
    workers: int = Field(2, ge=1, le=64, description="Dask worker processes of the local cluster")
    scheduler_address: str | None = Field(None, description="existing Dask scheduler (tcp://host:8786) instead of a local cluster")
    force: bool = Field(False, description="redo every video even if cached with the same source and parameters")
    videos_per_task: int = Field(16, ge=1, le=10_000)
    rgb_root: Path | None = Field(None, description="RGB videos / frame folders: <rgb_root>/<video_id>.mp4|.avi or <rgb_root>/<video_id>/; none: no RGB")
    rgb_size: int = Field(prgb.DEFAULT_SIZE, ge=8, le=512, description="side of the cached RGB crops (pixels)")

    @property
    def dataset_name(self) -> str:
        return self.dataset or DEFAULT_DATASET_NAMES.get(self.kind, Path(self.source).resolve().name)


class VideoTask(BaseModel):
    ref: VideoRef
    source_sha256: str


class VideoOutcome(BaseModel):
    video_id: str
    source_path: str
    status: Literal["done", "failed"]
    error: str | None = None
    n_frames: int = 0
    bytes_stored: int = 0
    warnings: list[str] = []


class PreprocessSummary(BaseModel):
    dataset: str
    cache: str
    total: int
    done: int = 0
    skipped: int = 0
    failed: list[VideoOutcome] = []
    warnings: dict[str, list[str]] = {}
    frames_written: int = 0
    bytes_written: int = 0
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return not self.failed

    def rows(self) -> list[dict[str, str]]:
        """The summary as table rows (CLI text, Prefect table artifact)."""
        per_frame = self.bytes_written / self.frames_written if self.frames_written else 0
        rows = [
            {"what": "videos found", "value": str(self.total)},
            {"what": "done (written)", "value": str(self.done)},
            {"what": "skipped (cached, unchanged)", "value": str(self.skipped)},
            {"what": "failed", "value": str(len(self.failed))},
            {"what": "frames written", "value": str(self.frames_written)},
            {"what": "bytes written (per frame)", "value": f"{self.bytes_written} ({per_frame:.0f})"},
            {"what": "wall time (s)", "value": f"{self.seconds:.1f}"},
        ]
        rows += [{"what": f"FAILED {o.video_id}", "value": o.error or ""} for o in self.failed]
        rows += [{"what": f"warning {vid}", "value": "; ".join(w)} for vid, w in self.warnings.items()]
        return rows

    def text(self) -> str:
        width = max(len(r["what"]) for r in self.rows())
        lines = [f"preprocessing summary: {self.cache} / {self.dataset}"]
        lines += [f"  {r['what']:<{width}}  {r['value']}" for r in self.rows()]
        return "\n".join(lines)


def params_hash(config: PreprocessConfig, layout: Layout) -> str:
    """Hash of everything besides the source bytes that changes what is cached for a video."""
    payload = {
        "schema": zcache.SCHEMA,
        "renderer": RENDERER_VERSION,
        "reader": READER_VERSION,
        "kind": config.kind.value,
        "layout": layout.model_dump(mode="json"),
        "heatmaps": config.heatmaps.model_dump(mode="json"),
        "source_options": config.source_options.model_dump(mode="json"),
    }
    if config.rgb_root is not None:  # only then: caches built without RGB keep their hash
        payload["rgb"] = {"root": str(Path(config.rgb_root).resolve()), "size": config.rgb_size,
                          "margin": prgb.DEFAULT_MARGIN, "version": prgb.RGB_VERSION}
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()[:16]


def dataset_attrs(config: PreprocessConfig, layout: Layout) -> dict:
    rgb = {"rgb_size": config.rgb_size, "rgb_margin": prgb.DEFAULT_MARGIN} if config.rgb_root is not None else {}
    return {**rgb,
        "layout": layout.name,
        "joints": list(layout.joints),
        "limbs": [list(pair) for pair in layout.limbs],
        "flip_pairs": [list(pair) for pair in layout.flip_pairs],
        "channels": list(layout.channel_names),
        "size": config.heatmaps.size,
        "sigma": config.heatmaps.sigma,
        "margin": config.heatmaps.margin,
        "renderer_version": RENDERER_VERSION,
        "convention": HEATMAP_CONVENTION,
        "source_kind": config.kind.value,
        "source_options": config.source_options.model_dump(mode="json"),
        "occluded_confidence": config.source_options.occluded_confidence,
    }


def _layout_for(config: PreprocessConfig, refs: Sequence[VideoRef]) -> Layout:
    """The dataset's layout: fixed by the source kind or options, else that of the first readable video."""
    fixed = {SourceKind.penn: "penn_action", SourceKind.h2o: "hands42"}.get(config.kind)
    if fixed or (config.kind == SourceKind.openpose):
        return get_layout(fixed or config.source_options.layout or "body25")
    if config.source_options.layout:
        return get_layout(config.source_options.layout)
    for ref in refs:
        try:
            return load_video(ref, config.source_options).layout
        except SourceError:
            continue
    return get_layout("penn_action")


def process_video(task: VideoTask, config: PreprocessConfig, layout: Layout, phash: str) -> VideoOutcome:
    """Load, render and write one video. Never raises for bad input: the outcome says what failed."""
    ref = task.ref
    cache, dataset = config.cache, config.dataset_name
    written = False
    try:
        seq = load_video(ref, config.source_options)
        if seq.layout.name != layout.name:
            raise SourceError(ref.path, f"layout {seq.layout.name}, but dataset {dataset} holds {layout.name}")
        prepared = prepare_video(seq, config.heatmaps)
        rgb, rgb_attrs = None, {}
        if config.rgb_root is not None:
            rgb_path = prgb.find_rgb_source(config.rgb_root, ref.video_id)
            rgb, rgb_attrs = prgb.load_rgb(rgb_path, prepared.box.as_list(), seq.num_frames, size=config.rgb_size)
        attrs = {
            "action": seq.action,
            "split": seq.split,
            "n_frames": seq.num_frames,
            "frame_size": list(seq.frame_size),
            "crop_box": prepared.box.as_list(),
            "grid_mapping": {"scale": prepared.mapping.scale, "offset_x": prepared.mapping.offset_x,
                             "offset_y": prepared.mapping.offset_y},
            "source_path": str(Path(ref.path).resolve()),
            "source_sha256": task.source_sha256,
            "params_hash": phash,
            "warnings": seq.warnings,
            **rgb_attrs,
        }
        written = True
        nbytes = zcache.write_video(cache, dataset, ref.video_id, prepared.heatmaps, prepared.grid_keypoints,
                                    seq.phases, attrs, rgb=rgb)
        return VideoOutcome(video_id=ref.video_id, source_path=ref.path, status="done", n_frames=seq.num_frames,
                            bytes_stored=nbytes, warnings=seq.warnings)
    except Exception as exc:  # noqa: BLE001 - one bad video must not stop the others
        if written:  # never leave a half-written group behind
            zcache.delete_video(cache, dataset, ref.video_id)
        message = str(exc) if isinstance(exc, SourceError) else f"{ref.path}: {type(exc).__name__}: {exc}"
        return VideoOutcome(video_id=ref.video_id, source_path=ref.path, status="failed", error=message)


def process_batch(tasks: list[VideoTask], config: PreprocessConfig, layout: Layout, phash: str) -> list[VideoOutcome]:
    """A Dask task: several videos, each written by this task alone."""
    return [process_video(task, config, layout, phash) for task in tasks]


def plan(config: PreprocessConfig, refs: Sequence[VideoRef]) -> tuple[list[VideoTask], int, Layout, str]:
    """(videos to do, number skipped as cached, layout, params hash) for the source's videos `refs`."""
    layout = _layout_for(config, refs)
    phash = params_hash(config, layout)
    statuses = {} if config.force else zcache.video_statuses(config.cache, config.dataset_name)
    todo, skipped = [], 0
    for ref in refs:
        sha = video_fingerprint(config, ref)
        status = statuses.get(ref.video_id)
        if status and status.complete and status.source_sha256 == sha and status.params_hash == phash:
            skipped += 1
        else:
            todo.append(VideoTask(ref=ref, source_sha256=sha))
    return todo, skipped, layout, phash


def video_fingerprint(config: PreprocessConfig, ref: VideoRef) -> str:
    """The source sha256 of a video: its pose file(s), and with an RGB root its RGB file(s) too.

    A video without an RGB source gets a fingerprint that never matches a cached one, so it is
    retried (and fails with a clear error) on every run until the source appears.
    """
    sha = source_fingerprint(ref)
    if config.rgb_root is None:
        return sha
    try:
        rgb_sha = fingerprint(prgb.find_rgb_source(config.rgb_root, ref.video_id))
    except SourceError:
        rgb_sha = "missing"
    return hashlib.sha256(f"{sha}+rgb:{rgb_sha}".encode()).hexdigest()


def _batches(tasks: list[VideoTask], size: int) -> list[list[VideoTask]]:
    return [tasks[i : i + size] for i in range(0, len(tasks), size)]


def _run_on_dask(batches, config: PreprocessConfig, layout: Layout, phash: str, on_outcomes) -> None:
    from distributed import Client, LocalCluster, as_completed

    if config.scheduler_address:
        client, cluster = Client(config.scheduler_address, timeout="30s"), None
    else:
        cluster = LocalCluster(n_workers=config.workers, threads_per_worker=1, processes=True,
                               dashboard_address=":0", silence_logs=logging.ERROR)  # any free port: never clashes
        client = Client(cluster)
    try:
        futures = {client.submit(process_batch, batch, config, layout, phash, pure=False): batch for batch in batches}
        for future in as_completed(futures):
            try:
                outcomes = future.result()
            except Exception as exc:  # noqa: BLE001 - a lost worker fails its batch, not the run
                outcomes = [VideoOutcome(video_id=t.ref.video_id, source_path=t.ref.path, status="failed",
                                         error=f"{t.ref.path}: task failed: {type(exc).__name__}: {exc}")
                            for t in futures[future]]
            on_outcomes(outcomes)
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


def build_cache(
    config: PreprocessConfig,
    on_outcomes: Callable[[list[VideoOutcome]], None] | None = None,
    on_plan: Callable[[int, int], None] | None = None,
    on_wait: Callable[[str], None] | None = None,
) -> PreprocessSummary:
    """Run preprocessing; `on_plan(total_todo, skipped)` then `on_outcomes(batch_outcomes)` report progress.

    Raises SourceError (before touching the cache) if the source path does not exist or holds no
    video. One run writes a cache at a time: a concurrent run waits (`on_wait` says so), then plans.
    """
    start = time.perf_counter()
    refs = discover_videos(config.kind, config.source)
    if config.rgb_root is not None and not Path(config.rgb_root).is_dir():
        raise SourceError(config.rgb_root, "RGB root folder does not exist")
    with cache_write_lock(config.cache, on_wait=on_wait):
        return _build_locked(config, refs, start, on_outcomes, on_plan)


def _build_locked(config, refs, start, on_outcomes, on_plan) -> PreprocessSummary:
    if removed := zcache.remove_partial_writes(config.cache):
        log.info("%s: removed %d temporary files left by an interrupted run", config.cache, removed)
    todo, skipped, layout, phash = plan(config, refs)
    summary = PreprocessSummary(dataset=config.dataset_name, cache=str(config.cache),
                                total=len(todo) + skipped, skipped=skipped)
    if on_plan:
        on_plan(len(todo), skipped)

    def collect(outcomes: list[VideoOutcome]) -> None:
        for outcome in outcomes:
            if outcome.status == "done":
                summary.done += 1
                summary.frames_written += outcome.n_frames
                summary.bytes_written += outcome.bytes_stored
            else:
                summary.failed.append(outcome)
            if outcome.warnings:
                summary.warnings[outcome.video_id] = outcome.warnings
        if on_outcomes:
            on_outcomes(outcomes)

    if todo:
        zcache.write_dataset_attrs(config.cache, config.dataset_name, dataset_attrs(config, layout))
        _run_on_dask(_batches(todo, config.videos_per_task), config, layout, phash, collect)
    summary.failed.sort(key=lambda o: o.video_id)
    summary.seconds = time.perf_counter() - start
    return summary

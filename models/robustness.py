"""Robustness of frozen embeddings to missing and noisy keypoints (the paper's tables 3 and 4), for
LA2DS and the coordinate baseline side by side (`la2ds robustness`).

    from models.robustness import missing_keypoints, noisy_keypoints, robustness_report
    missing_keypoints("runs/squat", "cache.zarr")          # {0.0: {"0.1": acc, "0.5": acc, "1.0": acc}, 0.25: ...}
    noisy_keypoints("cache.zarr", "penn_action", "squat", "runs/noise", {"epochs": 20})   # {"C->C": {...}, ...}
    robustness_report("cache.zarr", "penn_action", "squat", "runs/robust", epochs=20)     # robustness.json / .md

Missing keypoints (table 3). A trained run is frozen; for every test-split video of its dataset
(and action), independently in every frame, with probability p one limb chain of the layout
(`layout.chains`: an arm or a leg for body layouts, one finger for hand layouts), chosen uniformly,
is dropped with `pipeline.augment.drop_chains` (its joints get c = 0, x = y = 0). The corrupted
frames' heatmaps are rendered again from the corrupted grid keypoints with
`pipeline.heatmaps.render_heatmaps_torch` (the dataset's heatmap size and sigma) and quantised like
the cache (uint8, value / 255), so that a corrupted frame differs from a clean one only by the
dropped chain; frames where nothing was dropped keep their cached heatmaps, so p = 0 gives exactly
the clean embeddings and accuracy. The "coords" model reads the corrupted keypoints directly. The
video is embedded as `models.embed` does (`embed_interleaved`, same window rule, `where="encoder"`
by default), and phase classification (`pipeline.metrics.PhaseClassification`, 10/50/100 % of the
training videos labelled) is fitted on the CLEAN embeddings of the train split and scored on the
corrupted embeddings of the test split ("val" / "test"): the paper corrupts at test time only
(`corrupt_train=True` corrupts the SVM's training embeddings too). Randomness: the drops of a
video come from `numpy.random.default_rng([seed, crc32(video_id)])`, the same stream for every p,
so the frames hit at a smaller p are a subset of those hit at a larger p, with the same chain.

Noisy keypoints (table 4). `noisy_cache` copies a dataset of the cache into a new cache with
N(0, sigma^2) noise (heatmap pixels, `pipeline.augment.add_position_noise`) on x and y of every
present joint of every frame of every video, and heatmaps rendered again from the noisy keypoints;
the noise of a video comes from `default_rng([seed, crc32(video_id)])`. Two models are trained
with the same TrainConfig, one on the clean cache (C) and one on the noisy copy (N). "X->Y" means:
train condition X for the self-supervised training AND for the SVM's labelled training embeddings
(the train split of the X cache, embedded by the X model), test condition Y for the test-split
videos (embedded by the X model from the Y cache). So C->N is a clean model meeting noisy test
poses, N->C a model trained on noisy poses meeting clean ones.

Everything the two studies compute is also computed for the coordinate baseline ("coords") with
the same settings, by `robustness_report`, which writes OUT/robustness.json and OUT/robustness.md.
`standardize=True` (every function) scales the embedding dimensions before the SVM
(`PhaseClassification`'s option; off by default, as in the reference protocol).
"""

from __future__ import annotations

import json
import math
import sys
import zlib
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any, Literal

import numpy as np
import torch

from models.checkpoint import load_model
from models.embed import embed_interleaved
from models.train import TrainConfig, resolve_device, train
from pipeline.augment import add_position_noise, drop_chains
from pipeline.heatmaps import render_heatmaps_torch
from pipeline.layouts import Layout
from pipeline.metrics import PhaseClassification, VideoEmbedding
from pipeline.metrics.report import mean_over_actions, to_jsonable
from pipeline.metrics.types import group_by_action

__all__ = [
    "CONDITIONS", "MODELS", "PROBABILITIES", "TEST_SPLITS", "TRAIN_SPLITS",
    "corrupt_keypoints", "missing_keypoint_embeddings", "missing_keypoints", "noisy_cache", "noisy_keypoints",
    "report_markdown", "robustness_report", "video_rng",
]

PROBABILITIES = (0.0, 0.25, 0.5, 1.0)
CONDITIONS = ("C->C", "C->N", "N->C", "N->N")
MODELS = {"la2ds": "LA2DS", "coords": "Coordinates"}
TRAIN_SPLITS = ("train",)
TEST_SPLITS = ("val", "test")  # as `pipeline.metrics.evaluate_all`
FRACTIONS = (0.1, 0.5, 1.0)


def video_rng(seed: int, video_id: str) -> np.random.Generator:
    """The generator of one video's corruption: `default_rng([seed, crc32(video_id)])`."""
    return np.random.default_rng([int(seed), zlib.crc32(str(video_id).encode())])


def corrupt_keypoints(
    keypoints: np.ndarray, layout: Layout, p: float, seed: int, video_id: str, chains: Iterable[str] | None = None,
) -> tuple[np.ndarray, list[str | None]]:
    """One video's test-time corruption: per frame, with probability p, one random chain of `chains`
    (default every chain of the layout) dropped. Returns (keypoints (T, K, 3) float32, the dropped
    chain's name per frame or None)."""
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"p must lie in [0, 1], got {p}")
    return drop_chains(keypoints, layout, video_rng(seed, video_id), p, None if chains is None else list(chains))


# ---------------------------------------------------------------------------------------------
# frozen model and embedding


class _Frozen:
    """A trained run, frozen: model in eval mode, its TrainConfig, the embedding window."""

    def __init__(self, run_dir: str | Path, device: str = "auto", where: str = "encoder"):
        if where not in ("encoder", "projection"):
            raise ValueError(f"where must be 'encoder' or 'projection', got {where!r}")
        self.device = resolve_device(device)
        self.model, state = load_model(run_dir, self.device)
        self.config = TrainConfig.model_validate(state["config"])
        self.mcfg = self.model.config
        modality = getattr(self.mcfg, "modality", "pose")
        if modality != "pose":
            raise ValueError(f"{run_dir}: a run of modality {modality!r}; the robustness studies corrupt poses "
                             "and need a pose-only run")
        self.window = min(self.config.max_frames or self.mcfg.max_frames, self.mcfg.max_frames)  # as models.embed
        self.where = where

    def videos(self, cache: str | Path, dataset: str | None = None):
        from storage.dataset import CachedVideos

        dataset = dataset or self.config.dataset
        videos = CachedVideos(cache, dataset, action=self.config.action, split=None, max_frames=None)
        if len(videos) == 0:
            raise ValueError(f"{cache}/{dataset}: no video of action {self.config.action!r}")
        if videos.layout.num_joints != self.mcfg.num_joints or videos.num_channels != self.mcfg.num_channels:
            raise ValueError(
                f"{cache}/{dataset}: layout {videos.layout.name} ({videos.layout.num_joints} joints, "
                f"{videos.num_channels} channels) does not match the model ({self.mcfg.num_joints}, "
                f"{self.mcfg.num_channels})")
        return videos

    def embed(self, x: torch.Tensor) -> np.ndarray:
        with torch.inference_mode():
            return embed_interleaved(self.model, x.to(self.device), self.window, self.where).cpu().numpy()


def _render_like_cache(keypoints: np.ndarray, layout: Layout, size: int, sigma: float) -> torch.Tensor:
    """(N, K, 3) grid keypoints -> (N, C, S, S) float32 heatmaps as the cache returns them (uint8 / 255)."""
    from storage.cache import decode_heatmaps, encode_heatmaps

    limbs = np.asarray(layout.limbs, dtype=np.int64).reshape(-1, 2)
    rendered = render_heatmaps_torch(torch.from_numpy(np.ascontiguousarray(keypoints, dtype=np.float32)), limbs,
                                     size=size, sigma=sigma)
    return torch.from_numpy(decode_heatmaps(encode_heatmaps(rendered.numpy())))


def _embed_all(
    frozen: _Frozen,
    cache: str | Path,
    splits: tuple[str, ...] | None,
    corrupt: Callable[[str, np.ndarray], tuple[np.ndarray, list[str | None]]] | None = None,
    dataset: str | None = None,
) -> list[VideoEmbedding]:
    """Embeddings of the run's videos of `cache` whose split is in `splits` (None = all), each video's
    keypoints first passed through `corrupt(video_id, keypoints) -> (keypoints, dropped)` if given."""
    videos = frozen.videos(cache, dataset)
    sigma = float(videos.attrs.get("sigma", 1.0))
    out = []
    for i in range(len(videos)):
        if splits is not None and videos.splits[i] not in splits:
            continue
        item = videos[i]
        heatmaps, keypoints = item["heatmaps"], item["keypoints"]
        if corrupt is not None:
            kp, dropped = corrupt(item["video_id"], keypoints.numpy())
            hit = np.asarray([d is not None for d in dropped], dtype=bool)
            keypoints = torch.from_numpy(kp)
            if frozen.mcfg.model == "la2ds" and hit.any():
                heatmaps = heatmaps.clone()
                heatmaps[torch.from_numpy(hit)] = _render_like_cache(kp[hit], videos.layout, videos.size, sigma)
        x = heatmaps if frozen.mcfg.model == "la2ds" else keypoints
        out.append(VideoEmbedding(item["video_id"], item["action"], item["split"], frozen.embed(x),
                                  item["phases"].numpy()))
    return out


def _classify(train_videos: list[VideoEmbedding], test_videos: list[VideoEmbedding],
              fractions: tuple[float, ...] = FRACTIONS, label_seed: int = 0, standardize: bool = False,
              ) -> dict[str, float]:
    """PhaseClassification per action ({"0.1": acc, ...}, percent); the mean over actions if several."""
    metric = PhaseClassification(fractions, label_seed, standardize=standardize)
    train_groups, test_groups = group_by_action(train_videos), group_by_action(test_videos)
    results = [metric(train_groups.get(a, []), test) for a, test in test_groups.items()]
    if not results:
        return {str(float(f)): float("nan") for f in fractions}
    return results[0] if len(results) == 1 else mean_over_actions(results)


# ---------------------------------------------------------------------------------------------
# missing keypoints (table 3)


def missing_keypoint_embeddings(
    run_dir: str | Path,
    cache: str | Path,
    p: float,
    seed: int = 0,
    *,
    corrupt_train: bool = False,
    chains: Iterable[str] | None = None,
    where: Literal["encoder", "projection"] = "encoder",
    device: str = "auto",
) -> tuple[list[VideoEmbedding], list[VideoEmbedding]]:
    """(train-split embeddings, clean unless corrupt_train; test-split embeddings with chains dropped at p)."""
    frozen = _Frozen(run_dir, device, where)
    layout = frozen.videos(cache).layout
    chains = None if chains is None else list(chains)
    corrupt = lambda vid, kp: corrupt_keypoints(kp, layout, p, seed, vid, chains)  # noqa: E731
    train_emb = _embed_all(frozen, cache, TRAIN_SPLITS, corrupt if corrupt_train else None)
    test_emb = _embed_all(frozen, cache, TEST_SPLITS, corrupt)
    return train_emb, test_emb


def missing_keypoints(
    run_dir: str | Path,
    cache: str | Path,
    probabilities: Iterable[float] = PROBABILITIES,
    seed: int = 0,
    *,
    corrupt_train: bool = False,
    chains: Iterable[str] | None = None,
    fractions: tuple[float, ...] = FRACTIONS,
    label_seed: int = 0,
    standardize: bool = False,
    where: Literal["encoder", "projection"] = "encoder",
    device: str = "auto",
) -> dict[float, dict[str, float]]:
    """{p: {"0.1": acc, "0.5": acc, "1.0": acc}} (percent) for a trained run on `cache` (see the module
    docstring). `seed` fixes the drops; `label_seed` the labelled training videos (0, as `la2ds evaluate`);
    `standardize` scales the embeddings before the SVM (PhaseClassification's option, off by default)."""
    frozen = _Frozen(run_dir, device, where)
    layout = frozen.videos(cache).layout
    chains = None if chains is None else list(chains)
    clean_train = None if corrupt_train else _embed_all(frozen, cache, TRAIN_SPLITS)
    results: dict[float, dict[str, float]] = {}
    for p in probabilities:
        p = float(p)
        corrupt = lambda vid, kp, p=p: corrupt_keypoints(kp, layout, p, seed, vid, chains)  # noqa: E731
        train_emb = clean_train if clean_train is not None else _embed_all(frozen, cache, TRAIN_SPLITS, corrupt)
        test_emb = _embed_all(frozen, cache, TEST_SPLITS, corrupt)
        results[p] = _classify(train_emb, test_emb, fractions, label_seed, standardize)
    return results


# ---------------------------------------------------------------------------------------------
# noisy keypoints (table 4)


def noisy_cache(
    cache: str | Path, dataset: str, out_cache: str | Path, sigma: float = 1.0, seed: int = 0,
    overwrite: bool = False, action: str | None = None,
) -> Path:
    """Copy `dataset` of `cache` into `out_cache` with N(0, sigma^2) noise (heatmap pixels) on every present
    joint and heatmaps rendered again from the noisy keypoints (torch renderer, the dataset's size and
    sigma). Phases and attrs are copied; the dataset attrs get "keypoint_noise" {sigma, seed,
    source_cache, action}, each video "keypoint_noise_sigma" (and its params_hash a noise suffix, so that
    a preprocessing run into this cache redoes the video). `action`: copy only that action's videos
    (None = all). A copy with the same noise attrs and the same videos is kept as it is unless
    `overwrite`. Returns out_cache."""
    from storage.cache import CacheError, list_videos, read_dataset_attrs, read_video, write_dataset_attrs, write_video
    from storage.dataset import CachedVideos

    if sigma < 0:
        raise ValueError(f"sigma must be >= 0, got {sigma}")
    out_cache = Path(out_cache)
    if Path(cache).resolve() == out_cache.resolve():
        raise ValueError("the noisy copy must go to another cache than its source")
    attrs = read_dataset_attrs(cache, dataset)
    noise = {"sigma": float(sigma), "seed": int(seed), "source_cache": str(Path(cache).resolve()), "action": action}
    video_ids = CachedVideos(cache, dataset, action=action).video_ids  # complete videos, sorted
    if not overwrite and out_cache.exists():
        try:
            same = read_dataset_attrs(out_cache, dataset).get("keypoint_noise") == noise
        except CacheError:
            same = False
        if same and list_videos(out_cache, dataset) == video_ids:
            return out_cache
    write_dataset_attrs(out_cache, dataset, {**attrs, "keypoint_noise": noise})
    size, heatmap_sigma = int(attrs["size"]), float(attrs.get("sigma", 1.0))
    from pipeline.layouts import get_layout

    limbs = np.asarray(get_layout(attrs["layout"]).limbs, dtype=np.int64).reshape(-1, 2)
    for video_id in video_ids:
        video = read_video(cache, dataset, video_id)
        keypoints = add_position_noise(video.keypoints, video_rng(seed, video_id), sigma)
        heatmaps = render_heatmaps_torch(torch.from_numpy(keypoints), limbs, size=size, sigma=heatmap_sigma).numpy()
        video_attrs = {k: v for k, v in video.attrs.items() if k != "complete"}
        video_attrs["keypoint_noise_sigma"] = float(sigma)
        if video_attrs.get("params_hash"):
            video_attrs["params_hash"] = f"{video_attrs['params_hash']}+noise(sigma={sigma:g},seed={seed})"
        write_video(out_cache, dataset, video_id, heatmaps, keypoints, video.phases, video_attrs)
    return out_cache


def _train_run(cache: str | Path, dataset: str, action: str | None, out: Path, overrides: Mapping[str, Any],
               progress: bool) -> Path:
    config = TrainConfig.for_dataset(dataset, **{**dict(overrides), "cache": Path(cache), "out": Path(out),
                                                 "action": action})
    return train(config, progress=progress).run_dir


def noisy_keypoints(
    cache: str | Path,
    dataset: str,
    action: str | None,
    out_dir: str | Path,
    train_overrides: Mapping[str, Any] | None = None,
    sigma: float = 1.0,
    seed: int = 0,
    *,
    clean_run: str | Path | None = None,
    noisy_cache_path: str | Path | None = None,
    fractions: tuple[float, ...] = FRACTIONS,
    label_seed: int = 0,
    standardize: bool = False,
    where: Literal["encoder", "projection"] = "encoder",
    device: str = "auto",
    progress: bool = False,
) -> dict[str, dict[str, float]]:
    """{"C->C" | "C->N" | "N->C" | "N->N": {"0.1": acc, "0.5": acc, "1.0": acc}} (see the module docstring).

    Writes the noisy copy of the action's videos to `noisy_cache_path` (default OUT_DIR/noisy_cache.zarr),
    reused when it holds the same noise of the same videos, and trains
    OUT_DIR/clean (unless `clean_run`, a run already trained on `cache`, is given) and OUT_DIR/noisy
    with `TrainConfig.for_dataset(dataset, **train_overrides)` (cache, out, action set here)."""
    out_dir = Path(out_dir)
    overrides = dict(train_overrides or {})
    noisy = noisy_cache(cache, dataset, noisy_cache_path or out_dir / "noisy_cache.zarr", sigma, seed, action=action)
    runs = {
        "C": Path(clean_run) if clean_run is not None else _train_run(cache, dataset, action, out_dir / "clean",
                                                                       overrides, progress),
        "N": _train_run(noisy, dataset, action, out_dir / "noisy", overrides, progress),
    }
    caches = {"C": Path(cache), "N": noisy}
    results: dict[str, dict[str, float]] = {}
    for trained in ("C", "N"):
        frozen = _Frozen(runs[trained], device, where)
        train_emb = _embed_all(frozen, caches[trained], TRAIN_SPLITS, dataset=dataset)
        for tested in ("C", "N"):
            test_emb = _embed_all(frozen, caches[tested], TEST_SPLITS, dataset=dataset)
            results[f"{trained}->{tested}"] = _classify(train_emb, test_emb, fractions, label_seed, standardize)
    return {key: results[key] for key in CONDITIONS}


# ---------------------------------------------------------------------------------------------
# both studies, both models: robustness.json + robustness.md


def _fmt(value: Any) -> str:
    return "n/a" if value is None or (isinstance(value, float) and not math.isfinite(value)) else f"{value:.2f}"


def report_markdown(report: Mapping[str, Any]) -> str:
    """The two tables of a `robustness_report` result (accuracies in percent)."""
    s = report["settings"]
    models = [m for m in MODELS if m in report["missing_keypoints"]]
    target = f"{s['dataset']}{'/' + s['action'] if s.get('action') else ''}"
    lines = [
        f"## Robustness of {target} ({s['epochs']} epochs; phase classification accuracy, %)", "",
        f"cache: {s['cache']}; embeddings: {s['where']}; test split(s): {', '.join(TEST_SPLITS)}"
        + ("; SVM on standardised embeddings (not the reference protocol)" if s.get("standardize") else ""), "",
        "### Missing keypoints (paper table 3)", "",
        "Per test frame, with probability p, one limb chain (an arm or a leg; a finger for hands) is dropped "
        "and the frame re-rendered; the SVM is fitted on clean training-video embeddings.", "",
    ]
    fractions = [("1.0", "100 %"), ("0.1", "10 %")]
    header = [f"{MODELS[m]} {label}" for _, label in fractions for m in models]
    lines += ["| p | " + " | ".join(header) + " |", "|---:|" + "---:|" * len(header)]
    for p in report["missing_keypoints"][models[0]]:
        cells = [_fmt(report["missing_keypoints"][m][p].get(f)) for f, _ in fractions for m in models]
        lines.append(f"| {float(p):g} | " + " | ".join(cells) + " |")
    lines += [
        "", f"### Noisy keypoints (paper table 4), sigma = {s['sigma']:g} heatmap pixel(s)", "",
        "X->Y: trained (self-supervised, and the SVM's labelled videos) on clean (C) or noisy (N) keypoints, "
        "tested on clean or noisy test videos; 100 % of the training videos labelled.", "",
        "| Train->Test | " + " | ".join(MODELS[m] for m in models) + " |", "|---|" + "---:|" * len(models),
    ]
    for condition in CONDITIONS:
        cells = [_fmt(report["noisy_keypoints"][m][condition].get("1.0")) for m in models]
        lines.append(f"| {condition} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def robustness_report(
    cache: str | Path,
    dataset: str,
    action: str | None,
    out_dir: str | Path,
    epochs: int = 100,
    *,
    model_config: Mapping[str, Any] | None = None,
    batch_size: int | None = None,
    lr: float | None = None,
    max_frames: int | None = 128,
    sigma: float = 1.0,
    seed: int = 0,
    probabilities: Iterable[float] = PROBABILITIES,
    models: Iterable[str] = tuple(MODELS),
    train_overrides: Mapping[str, Any] | None = None,
    standardize: bool = False,
    where: Literal["encoder", "projection"] = "encoder",
    device: str = "auto",
    progress: bool = False,
) -> dict[str, Any]:
    """Train each model ("la2ds", "coords") on the clean cache (OUT/<model>/clean) and on its noisy copy
    (OUT/<model>/noisy; one copy OUT/noisy_cache.zarr for both), run both studies, write
    OUT/robustness.json and OUT/robustness.md, and return the JSON content:

        {"settings": {...}, "runs": {model: {"clean": dir, "noisy": dir}}, "noisy_cache": path,
         "missing_keypoints": {model: {"0.0": {"0.1": acc, "0.5": acc, "1.0": acc}, "0.25": ..., ...}},
         "noisy_keypoints": {model: {"C->C": {...}, "C->N": ..., "N->C": ..., "N->N": ...}}}

    The same TrainConfig for both models (`TrainConfig.for_dataset` defaults, then `train_overrides`,
    then epochs / batch_size / lr / max_frames / device / model_config), only ModelConfig.model differs.
    `seed` fixes the drops and the noise (training has its own seed, TrainConfig.seed)."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    models = [m for m in models]
    unknown = [m for m in models if m not in MODELS]
    if unknown or not models:
        raise ValueError(f"models must be among {list(MODELS)}, got {models}")
    probabilities = [float(p) for p in probabilities]
    base = dict(train_overrides or {})
    base.update({"epochs": int(epochs), "max_frames": max_frames, "device": device})
    if batch_size is not None:
        base["batch_size"] = batch_size
    if lr is not None:
        base["lr"] = lr
    model_fields = dict(model_config or {})
    noisy = out_dir / "noisy_cache.zarr"
    report: dict[str, Any] = {
        "settings": {
            "cache": str(Path(cache).resolve()), "dataset": dataset, "action": action, "epochs": int(epochs),
            "model_config": model_fields, "batch_size": batch_size, "lr": lr, "max_frames": max_frames,
            "sigma": float(sigma), "seed": int(seed), "probabilities": probabilities, "where": where,
            "standardize": bool(standardize),
            "train_splits": list(TRAIN_SPLITS), "test_splits": list(TEST_SPLITS),
            "missing_keypoints_train": "clean (corruption at test time only)",
            "noisy_keypoints_train": "X->Y: encoder and SVM trained on X, test videos from Y",
        },
        "runs": {}, "noisy_cache": str(noisy), "missing_keypoints": {}, "noisy_keypoints": {},
    }
    for kind in models:
        overrides = {**base, "model": {**model_fields, "model": kind}}
        if progress:
            print(f"robustness: {kind}: training on the clean cache", file=sys.stderr)
        clean = _train_run(cache, dataset, action, out_dir / kind / "clean", overrides, progress)
        if progress:
            print(f"robustness: {kind}: missing keypoints", file=sys.stderr)
        missing = missing_keypoints(clean, cache, probabilities, seed, standardize=standardize, where=where,
                                    device=device)
        if progress:
            print(f"robustness: {kind}: noisy keypoints (training on the noisy copy)", file=sys.stderr)
        noise = noisy_keypoints(cache, dataset, action, out_dir / kind, overrides, sigma, seed, clean_run=clean,
                                noisy_cache_path=noisy, standardize=standardize, where=where, device=device,
                                progress=progress)
        report["runs"][kind] = {"clean": str(clean), "noisy": str(out_dir / kind / "noisy")}
        report["missing_keypoints"][kind] = {str(p): acc for p, acc in missing.items()}
        report["noisy_keypoints"][kind] = noise
    report = to_jsonable(report)
    (out_dir / "robustness.json").write_text(json.dumps(report, indent=2, allow_nan=False) + "\n")
    (out_dir / "robustness.md").write_text(report_markdown(report))
    return report

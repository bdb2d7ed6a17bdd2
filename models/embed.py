"""Frozen per-frame embeddings of every video of a trained run's dataset/action (`la2ds embed`).

    from models.embed import embed
    summary = embed("runs/squat", "cache.zarr", "runs/squat/embeddings.zarr")

For each video of the run's dataset (and action, if it was trained on one), every split, every
frame: `model.eval()`, `model.embed(x, where=...)` with x the cached heatmaps
(T, C, S, S) ("la2ds") or grid keypoints (T, K, 3) ("coords"). `where="encoder"` (default, as CASA
does) takes the encoder output (dim), before cross-attention and the projection head;
"projection" applies the projection head too. Written by `storage.embeddings` as one Zarr group
per video: embeddings (T, D) float32, phases (T,) copied from the cache, attrs action, split.
Long videos: training sees a video of more than `max_frames` frames (TrainConfig) evenly subsampled
to `max_frames`, so its temporal positions always span the whole video. Embedding does the same: a
video of T > W frames (W = the training max_frames, else the model's) is cut into k = ceil(T / W)
interleaved subsequences (frames r, r + k, r + 2k, ...), each covering the whole video with at most
W frames; each is embedded and its frames' embeddings go back in place. No frame is dropped.
Modalities: a run of modality "rgb" or "rgb+pose" reads the cached RGB frames too (x = the RGB
frames, or {"pose": ..., "rgb": ...}); "encoder" is then the RGB encoder's output, or the fused
features (after the fusion Linear) for "rgb+pose". The store's attrs say the modality.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import torch

from models.checkpoint import checkpoint_path, load_model
from models.train import TrainConfig, resolve_device

__all__ = ["EmbedResult", "embed"]


@dataclass
class EmbedResult:
    out: Path
    videos: int
    frames: int
    dim: int
    epoch: int


def embed(
    run_dir: str | Path,
    cache: str | Path,
    out: str | Path,
    where: Literal["encoder", "projection"] = "encoder",
    device: str = "auto",
    progress: bool = True,
) -> EmbedResult:
    from tqdm import tqdm

    from storage.dataset import CachedVideos
    from storage.embeddings import create_store, finish_store, write_embeddings

    if where not in ("encoder", "projection"):
        raise ValueError(f"where must be 'encoder' or 'projection', got {where!r}")
    dev = resolve_device(device)
    model, state = load_model(run_dir, dev)
    config = TrainConfig.model_validate(state["config"])
    mcfg = model.config
    videos = CachedVideos(cache, config.dataset, action=config.action, split=None, max_frames=None,
                          rgb=mcfg.uses_rgb)
    if len(videos) == 0:
        raise ValueError(f"{cache}/{config.dataset}: no video of action {config.action!r}")
    if videos.layout.num_joints != mcfg.num_joints or videos.num_channels != mcfg.num_channels:
        raise ValueError(
            f"{cache}/{config.dataset}: layout {videos.layout.name} ({videos.layout.num_joints} joints, "
            f"{videos.num_channels} channels) does not match the model ({mcfg.num_joints}, {mcfg.num_channels})"
        )
    window = min(config.max_frames or mcfg.max_frames, mcfg.max_frames)

    create_store(out, {
        "run_dir": str(Path(run_dir).resolve()), "checkpoint": str(checkpoint_path(run_dir).resolve()),
        "checkpoint_epoch": int(state["epoch"]), "model": mcfg.model, "where": where,
        "dim": mcfg.dim if where == "encoder" or not mcfg.projection_head else mcfg.projection_dim,
        "cache": str(Path(cache).resolve()), "dataset": config.dataset, "action": config.action,
        "layout": videos.layout.name, "modality": mcfg.modality,
    })
    frames = 0
    dim = 0
    model.eval()
    with torch.inference_mode():
        for i in tqdm(range(len(videos)), desc="embed", unit="video", disable=not progress, file=sys.stderr):
            item = videos[i]
            pose = item["heatmaps"] if mcfg.model == "la2ds" else item["keypoints"]
            if mcfg.modality == "pose":
                x = pose.to(dev)
            elif mcfg.modality == "rgb":
                x = item["rgb"].to(dev)
            else:
                x = {"pose": pose.to(dev), "rgb": item["rgb"].to(dev)}
            z = embed_interleaved(model, x, window, where).cpu().numpy()
            write_embeddings(out, item["video_id"], z, item["phases"].numpy(),
                             {"action": item["action"], "split": item["split"]})
            frames += z.shape[0]
            dim = z.shape[1]
    finish_store(out, {"videos": len(videos), "frames": frames})
    return EmbedResult(out=Path(out), videos=len(videos), frames=frames, dim=dim, epoch=int(state["epoch"]))


def embed_interleaved(model, x: torch.Tensor | dict[str, torch.Tensor], window: int, where: str) -> torch.Tensor:
    """x: (T, ...) one video's input (or a dict of them, e.g. {"pose": ..., "rgb": ...}) -> (T, D)
    float32 embeddings, in k = ceil(T / window) interleaved passes of at most `window` frames each
    (one pass when T <= window)."""
    length = next(iter(x.values())).shape[0] if isinstance(x, dict) else x.shape[0]
    passes = -(-length // window)
    out = None
    for offset in range(passes):
        if isinstance(x, dict):
            part = {key: value[offset::passes][None] for key, value in x.items()}
        else:
            part = x[offset::passes][None]
        z = model.embed(part, None, where=where)[0].float()
        if out is None:
            out = z.new_empty((length, z.shape[1]))
        out[offset::passes] = z
    return out

"""Self-supervised training of the LA2DS alignment network (or its coordinate baseline).

    from models.train import TrainConfig, train
    config = TrainConfig.for_dataset("penn_action", cache="cache.zarr", out="runs/squat", action="squat")
    result = train(config)                 # RUN_DIR/checkpoint.pt, RUN_DIR/config.json, RUN_DIR/tb/
    result = train(config.model_copy(update={"epochs": 80}), resume=True)   # continue exactly

Each step: a batch of pairs (S, S') from `storage.dataset.AlignmentPairs` (S: M cached frames; S':
N augmented frames with known ground-truth indices), S' heatmaps rendered from its keypoints with
`pipeline.heatmaps.render_heatmaps_torch` on the training device (zero maps at padded frames),
`z, z' = AlignmentNet(S, mask, S', aug_mask)`, `alignment_loss(z, z', gt_index, ...)` (paper eq. 3-4),
Adam with weight decay, optional gradient-norm clipping; MultiStepLR stepped once per epoch.
For the "coords" model, S is the cached grid keypoints and S' the augmented keypoints directly.

Reproducibility: python, numpy and torch are seeded from `seed` before the model is built; the
augmentation of video i in epoch e is drawn from (seed, e, i) and the order of an epoch from
(seed, e) (`storage.dataset`); the checkpoint written after every epoch holds the model,
optimiser, scheduler and every global RNG state, so `train(config, resume=True)` continues as if
never stopped (bit-identical on CPU with the same number of threads).

Mixed precision: bfloat16 autocast on CUDA (`amp=None` means on for CUDA, off on CPU); the loss is
computed in float32 (`models.loss`), bf16 needs no gradient scaler.

Modalities (`model.modality`, issue 6): "pose" as above; "rgb": S and S' are the cached RGB crops
and the RGB frames of the pose side's augmentation (same frame indices, same flip, plus brightness /
contrast jitter; `storage.dataset.AlignmentPairs`), no heatmap is rendered; "rgb+pose": both, late
fusion in `AlignmentNet`. Two-stage training (the paper's): stage 1 trains a "pose" and an "rgb" run
alone with the alignment loss; stage 2 trains "rgb+pose" with `init_from={"pose": POSE_RUN,
"rgb": RGB_RUN}`, which copies the encoders' weights (`encoder.*`, `rgb_encoder.*`) from those
checkpoints before the first step (`load_encoder_weights`); the fusion layer, cross-attention and
head start fresh. `train_two_stage` does all three; `la2ds train --modality rgb+pose --init-pose
RUN --init-rgb RUN` is stage 2 on the command line.

Logs (TensorBoard, RUN_DIR/tb): loss/step, grad_norm/step, loss/epoch, grad_norm/epoch, lr,
pairs_per_s, and an image `similarity` per epoch: the matching weights omega (eq. 3) of the first
pair of the epoch's first batch (rows: frames i of S; columns: frames j of S'; red: ground truth).
"""

from __future__ import annotations

import math
import random
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import torch
from pydantic import BaseModel, ConfigDict, Field, model_validator

from models.checkpoint import (
    CHECKPOINT_NAME,
    load_checkpoint,
    save_checkpoint,
    set_rng_state,
    write_config_json,
)
from models.config import ModelConfig
from pipeline.augment import AugmentConfig

__all__ = [
    "PAPER_DEFAULTS",
    "RESUME_MAY_CHANGE",
    "TrainConfig",
    "TrainResult",
    "load_encoder_weights",
    "paper_defaults",
    "resolve_device",
    "seed_everything",
    "train",
    "train_two_stage",
]

# Per-dataset hyper-parameters given in the paper. Epochs, milestones and gamma are not among
# them: the TrainConfig defaults for those are this project's choice.
PAPER_DEFAULTS: dict[str, dict[str, Any]] = {
    "penn_action": {"batch_size": 64, "lr": 3e-3, "temperature": 0.1},
    "h2o": {"batch_size": 32, "lr": 3e-4, "temperature": 0.1},
    "ikea_asm": {"batch_size": 4, "lr": 3e-2, "temperature": 0.1},
}
_ALIASES = {"penn": "penn_action", "h2o": "h2o", "ikea": "ikea_asm"}

# TrainConfig fields that may differ between a checkpoint and the config that resumes it.
RESUME_MAY_CHANGE = frozenset({"epochs", "device", "num_workers", "out", "cache", "amp", "init_from"})

# ModelConfig fields that must agree between a stage-1 run and the model whose encoder it initialises
_ENCODER_FIELDS = {
    "pose": ("model", "num_joints", "num_limbs", "channels", "heatmap_size", "patch_size", "dim", "heads",
             "spatial_layers", "temporal_layers", "mlp_dim", "max_frames", "spatial_transformer",
             "temporal_transformer", "learned_position"),
    "rgb": ("rgb_size", "rgb_patch", "dim", "heads", "spatial_layers", "temporal_layers", "mlp_dim", "max_frames",
            "spatial_transformer", "temporal_transformer", "learned_position"),
}
_ENCODER_PREFIX = {"pose": "encoder.", "rgb": "rgb_encoder."}


def paper_defaults(dataset: str) -> dict[str, Any]:
    """The paper's settings for a dataset name ("penn_action", "penn", "h2o", "ikea_asm", "ikea", ...;
    matched by prefix, case-insensitive); {} for a dataset the paper does not cover."""
    name = dataset.lower()
    if name in PAPER_DEFAULTS:
        return dict(PAPER_DEFAULTS[name])
    for prefix, key in _ALIASES.items():
        if name.startswith(prefix):
            return dict(PAPER_DEFAULTS[key])
    return {}


class TrainConfig(BaseModel):
    """Everything a training run depends on; saved in the checkpoint and as RUN_DIR/config.json.

    cache, dataset, action: the Zarr cache, its dataset group, one action (None = every video of
        the dataset: one model per action where a dataset has several, e.g. Penn Action).
    split: the videos trained on ("train"; None = every split).
    out: the run directory.
    model: the network (`models.config.ModelConfig`); num_joints, num_limbs and heatmap_size are
        taken from the cache's layout when training starts.
    temperature: lambda of eq. 3 (kept equal to model.temperature: setting either sets both).
    max_frames: videos longer than this are evenly subsampled to it for training (None = whole);
        must be <= model.max_frames.
    grad_clip: clip the gradient norm to this (None = no clipping; the norm is logged either way).
    device: "auto" = CUDA when present, else CPU. amp: bf16 autocast (None = on CUDA only).
    init_from: {"pose": RUN_DIR, "rgb": RUN_DIR} (either or both): before training, copy the pose
        encoder / RGB encoder weights from those runs' checkpoints (stage 2 of two-stage training;
        the modality must use that encoder). Ignored by resume (the checkpoint has the weights).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    cache: Path
    dataset: str
    action: str | None = None
    split: str | None = "train"
    out: Path
    model: ModelConfig = ModelConfig()
    epochs: int = Field(100, ge=0)
    batch_size: int = Field(64, ge=1)
    lr: float = Field(3e-3, gt=0)
    weight_decay: float = Field(1e-5, ge=0)
    milestones: tuple[int, ...] = Field((60, 80), description="epochs at which the lr is multiplied by gamma")
    gamma: float = Field(0.1, gt=0)
    temperature: float = Field(0.1, gt=0)
    grad_clip: float | None = Field(None, gt=0)
    augment: AugmentConfig = AugmentConfig()
    seed: int = Field(0, ge=0)
    device: Literal["auto", "cpu", "cuda"] = "auto"
    num_workers: int = Field(0, ge=0)
    max_frames: int | None = Field(128, ge=2)
    amp: bool | None = None
    init_from: dict[Literal["pose", "rgb"], Path] | None = None

    @model_validator(mode="before")
    @classmethod
    def _sync_temperature(cls, data: Any) -> Any:
        """`temperature` and `model.temperature` are one setting: the explicit one wins."""
        if not isinstance(data, Mapping):
            return data
        data = dict(data)
        model = data.get("model")
        temperature = data.get("temperature")
        if temperature is not None:
            if isinstance(model, ModelConfig):
                if model.temperature != temperature:
                    data["model"] = ModelConfig(**{**model.model_dump(), "temperature": temperature})
            elif isinstance(model, Mapping):
                data["model"] = {**model, "temperature": temperature}
            elif model is None:
                data["model"] = ModelConfig(temperature=temperature)
        elif model is not None:
            data["temperature"] = model.temperature if isinstance(model, ModelConfig) else model.get("temperature", 0.1)
        return data

    @model_validator(mode="after")
    def _check(self) -> "TrainConfig":
        if self.max_frames is not None and self.max_frames > self.model.max_frames:
            raise ValueError(
                f"max_frames ({self.max_frames}) exceeds model.max_frames ({self.model.max_frames}), "
                "the length of the position encodings"
            )
        for kind in self.init_from or {}:
            if kind == "pose" and not self.model.uses_pose or kind == "rgb" and not self.model.uses_rgb:
                raise ValueError(f"init_from[{kind!r}]: modality {self.model.modality!r} has no {kind} encoder")
        if list(self.milestones) != sorted(self.milestones) or any(m < 1 for m in self.milestones):
            raise ValueError(f"milestones must be increasing epochs >= 1, got {self.milestones}")
        return self

    @classmethod
    def for_dataset(cls, dataset: str, **overrides: Any) -> "TrainConfig":
        """The paper's defaults for `dataset` (see PAPER_DEFAULTS), then `overrides` (cache and out
        are required). `model` may be a ModelConfig or a dict of ModelConfig fields."""
        return cls(dataset=dataset, **{**paper_defaults(dataset), **overrides})


@dataclass
class TrainResult:
    """What `train` returns. losses: mean training loss per epoch, from epoch 1 (also those
    before a resume); grad_norms likewise; epoch: epochs completed; steps: optimiser steps."""

    run_dir: Path
    checkpoint: Path
    losses: list[float]
    grad_norms: list[float] = field(default_factory=list)
    epoch: int = 0
    steps: int = 0
    seconds: float = 0.0
    pairs_per_second: float = 0.0
    device: str = "cpu"
    config: TrainConfig | None = None


# ---------------------------------------------------------------------------------------------
# helpers


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)  # also seeds every CUDA device


def resolve_device(device: str) -> torch.device:
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if device == "cuda" and not torch.cuda.is_available():
        raise ValueError("device 'cuda' requested but torch sees no CUDA device (use --device auto or cpu)")
    if device not in ("cpu", "cuda"):
        raise ValueError(f"device must be 'auto', 'cpu' or 'cuda', got {device!r}")
    return torch.device(device)


def _resolve_model(config: TrainConfig, layout, size: int, rgb_size: int | None = None) -> TrainConfig:
    """The config with model.num_joints / num_limbs / heatmap_size (and rgb_size for an RGB
    modality) taken from the cache."""
    model = config.model
    wanted = {"num_joints": layout.num_joints, "num_limbs": layout.num_limbs, "heatmap_size": int(size)}
    if rgb_size is not None and model.uses_rgb:
        wanted["rgb_size"] = int(rgb_size)
    for name, value in wanted.items():
        if name in model.model_fields_set and getattr(model, name) != value:
            raise ValueError(
                f"model.{name} = {getattr(model, name)} but the cache's layout {layout.name!r} has {value}"
            )
    if all(getattr(model, k) == v for k, v in wanted.items()):
        return config
    model = ModelConfig(**{**model.model_dump(), **wanted})
    return config.model_copy(update={"model": model})


def _check_resumable(saved: dict[str, Any], config: TrainConfig) -> None:
    now = config.model_dump(mode="json")
    try:  # a checkpoint written before a field existed compares with that field's default
        saved = {**saved, **TrainConfig.model_validate(saved).model_dump(mode="json")}
    except ValueError:
        pass
    differ = sorted(k for k in now if k not in RESUME_MAY_CHANGE and saved.get(k) != now[k])
    if differ:
        detail = "; ".join(f"{k}: checkpoint {saved.get(k)!r}, now {now[k]!r}" for k in differ)
        raise ValueError(f"cannot resume: the config differs from the checkpoint's in {detail}")


def _similarity_image(z1: torch.Tensor, z2: torch.Tensor, m: int, n: int, gt: torch.Tensor, temperature: float) -> np.ndarray:
    """(M * s, N * s, 3) float32 RGB in [0, 1], s = max(1, 256 // max(M, N)): omega of one pair
    (viridis, each column scaled to its max), ground-truth cells in red."""
    from matplotlib import colormaps

    from models.loss import similarity_matrix

    omega = similarity_matrix(z1[:m].float(), z2[:n].float(), temperature).cpu().numpy()  # (M, N)
    omega = omega / np.maximum(omega.max(axis=0, keepdims=True), 1e-12)
    image = colormaps["viridis"](omega)[..., :3].astype(np.float32)
    gt = gt[:n].cpu().numpy().astype(np.int64)
    ok = (gt >= 0) & (gt < m)
    image[gt[ok], np.arange(n)[ok]] = (1.0, 0.0, 0.0)
    scale = max(1, 256 // max(m, n, 1))  # nearest-neighbour upscaling, so that short pairs stay visible
    return np.repeat(np.repeat(image, scale, axis=0), scale, axis=1)


def load_encoder_weights(model: torch.nn.Module, init_from: Mapping[str, str | Path]) -> dict[str, str]:
    """Copy encoder weights into `model` (an AlignmentNet) from stage-1 runs:
    init_from["pose"] -> model.encoder (the run's `encoder.*`), init_from["rgb"] -> model.rgb_encoder
    (the run's `rgb_encoder.*`). The runs' encoder settings must equal the model's (ValueError
    otherwise); the copy is exact (strict state-dict load). Returns {kind: checkpoint path}."""
    loaded = {}
    for kind, run in init_from.items():
        if kind not in _ENCODER_PREFIX:
            raise ValueError(f"init_from keys are 'pose' and 'rgb', got {kind!r}")
        target = model.encoder if kind == "pose" else model.rgb_encoder
        if target is None:
            raise ValueError(f"init_from[{kind!r}]: modality {model.config.modality!r} has no {kind} encoder")
        state = load_checkpoint(run, map_location="cpu")
        source = ModelConfig.model_validate(state["model_config"])
        if not (source.uses_pose if kind == "pose" else source.uses_rgb):
            raise ValueError(f"init_from[{kind!r}] = {run}: that run (modality {source.modality!r}) has no {kind} encoder")
        differ = [f"{f}: run {getattr(source, f)!r}, model {getattr(model.config, f)!r}"
                  for f in _ENCODER_FIELDS[kind] if getattr(source, f) != getattr(model.config, f)]
        if differ:
            raise ValueError(f"init_from[{kind!r}] = {run}: encoder settings differ ({'; '.join(differ)})")
        prefix = _ENCODER_PREFIX[kind]
        weights = {k[len(prefix):]: v for k, v in state["model"].items() if k.startswith(prefix)}
        target.load_state_dict(weights, strict=True)
        loaded[kind] = str(Path(run).resolve())
    return loaded


def _to(x: torch.Tensor, device: torch.device) -> torch.Tensor:
    return x.to(device, non_blocking=device.type == "cuda")


def prepare_batch(batch: dict[str, Any], model_config: ModelConfig, device: torch.device, limbs: np.ndarray,
                  size: int, sigma: float) -> tuple[torch.Tensor, ...]:
    """A collate_pairs batch -> (x1, mask, x2, aug_mask, gt_index) on `device`.

    Pose ("la2ds"): x1 = cached heatmaps (B, M, C, S, S); x2 = heatmaps rendered from the augmented
    keypoints on `device` (B, N, C, S, S), zero at padded frames. "coords": x1 = cached grid
    keypoints (B, M, K, 3); x2 = augmented keypoints (B, N, K, 3). Modality "rgb": x1, x2 = the
    batch's "rgb" / "aug_rgb" uint8 frames; "rgb+pose": x = {"pose": pose x, "rgb": rgb x}."""
    mask = _to(batch["mask"], device)
    aug_mask = _to(batch["aug_mask"], device)
    gt_index = _to(batch["gt_index"], device)
    if model_config.uses_rgb:
        rgb1, rgb2 = _to(batch["rgb"], device), _to(batch["aug_rgb"], device)
        if not model_config.uses_pose:
            return rgb1, mask, rgb2, aug_mask, gt_index
    aug_keypoints = _to(batch["aug_keypoints"], device)
    if model_config.model == "la2ds":
        from pipeline.heatmaps import render_heatmaps_torch

        x1 = _to(batch["heatmaps"], device)
        x2 = render_heatmaps_torch(aug_keypoints, limbs, size=size, sigma=sigma)
        x2 = x2 * aug_mask[:, :, None, None, None].to(x2.dtype)
    else:
        x1 = _to(batch["keypoints"], device)
        x2 = aug_keypoints
    if model_config.uses_rgb:
        return {"pose": x1, "rgb": rgb1}, mask, {"pose": x2, "rgb": rgb2}, aug_mask, gt_index
    return x1, mask, x2, aug_mask, gt_index


# ---------------------------------------------------------------------------------------------
# training


def train(config: TrainConfig, progress: bool = True, resume: bool = False, overwrite: bool = True) -> TrainResult:
    """Train (or, with `resume`, continue from RUN_DIR/checkpoint.pt) and return a TrainResult.

    epochs = 0 writes the initialised, untrained model (the baseline) as the checkpoint.
    A fresh run (not resume) over an existing run directory replaces its checkpoint, config.json
    and TensorBoard events (overwrite=True, the default here; the CLI needs --overwrite).
    resume: the checkpoint's config must equal `config` except in RESUME_MAY_CHANGE (epochs,
    device, workers, paths, amp); training continues at the checkpoint's epoch up to
    `config.epochs`. overwrite=False refuses to start a fresh run over an existing checkpoint.
    """
    from torch.optim.lr_scheduler import MultiStepLR
    from torch.utils.tensorboard import SummaryWriter
    from tqdm import tqdm

    from models.loss import alignment_loss
    from models.network import AlignmentNet
    from storage.dataset import AlignmentPairs, CachedVideos, collate_pairs, make_loader

    run_dir = Path(config.out)
    ckpt_file = run_dir / CHECKPOINT_NAME
    if not resume and not overwrite and ckpt_file.exists():
        raise FileExistsError(f"{ckpt_file} exists: resume it (--resume) or choose another --out")
    device = resolve_device(config.device)
    amp = config.amp if config.amp is not None else device.type == "cuda"

    videos = CachedVideos(config.cache, config.dataset, action=config.action, split=config.split,
                          max_frames=config.max_frames, rgb=config.model.uses_rgb)
    if len(videos) == 0:
        raise ValueError(
            f"{config.cache}/{config.dataset}: no video with action={config.action!r}, split={config.split!r}"
        )
    config = _resolve_model(config, videos.layout, videos.size, videos.rgb_size)
    mcfg = config.model
    if videos.num_channels != mcfg.num_channels:
        raise ValueError(f"cache has {videos.num_channels} heatmap channels, the model expects {mcfg.num_channels}")
    sigma = float(videos.attrs.get("sigma", 1.0))
    # numpy, not a tensor: the renderer converts it with np.asarray, onto the keypoints' device
    limbs = np.asarray(videos.layout.limbs, dtype=np.int64).reshape(-1, 2)

    seed_everything(config.seed)
    model = AlignmentNet(mcfg).to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=config.lr, weight_decay=config.weight_decay)
    scheduler = MultiStepLR(optimizer, milestones=list(config.milestones), gamma=config.gamma)
    start_epoch, step, history, grad_history = 0, 0, [], []
    initialised = {}
    if config.init_from and not resume:  # stage 2: the encoders start from the stage-1 runs
        initialised = load_encoder_weights(model, config.init_from)

    if resume:
        state = load_checkpoint(run_dir, map_location=device)
        _check_resumable(state["config"], config)
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        scheduler.load_state_dict(state["scheduler"])
        start_epoch, step = int(state["epoch"]), int(state["step"])
        history = list(state["history"])
        grad_history = list(state["extra"].get("grad_norms", []))
        set_rng_state(state["rng"])
        initialised = dict(state["extra"].get("init_from") or {})
        if start_epoch > config.epochs:
            raise ValueError(f"the checkpoint has {start_epoch} epochs already, more than epochs={config.epochs}")

    run_dir.mkdir(parents=True, exist_ok=True)
    if not resume:  # a fresh run: drop the TensorBoard events of an earlier run in this directory
        for old in (run_dir / "tb").glob("events.out.tfevents.*"):
            old.unlink()
    dumped = config.model_dump(mode="json")
    write_config_json(run_dir, dumped)
    extra_base = {
        "layout": videos.layout.name, "sigma": sigma, "torch": str(torch.__version__),
        "parameters": model.count_parameters(), "videos": len(videos),
        **({"init_from": initialised} if initialised else {}),
    }

    def checkpoint(epoch: int) -> Path:
        return save_checkpoint(run_dir, model=model, optimizer=optimizer, scheduler=scheduler, epoch=epoch,
                               step=step, config=dumped, history=history,
                               extra={**extra_base, "grad_norms": grad_history})

    ckpt = checkpoint(start_epoch) if not resume else ckpt_file
    if progress:
        print(f"training {mcfg.model}{'' if mcfg.modality == 'pose' else ' ' + mcfg.modality} "
              f"({model.count_parameters():,} parameters) on {len(videos)} videos of "
              f"{config.dataset}{'/' + config.action if config.action else ''}, device {device}"
              f"{' (bf16 autocast)' if amp else ''}, epochs {start_epoch}->{config.epochs}", file=sys.stderr)

    pairs = AlignmentPairs(videos, augment=config.augment, seed=config.seed)
    loader = make_loader(pairs, batch_size=config.batch_size, shuffle=True, num_workers=config.num_workers,
                         collate_fn=collate_pairs, seed=config.seed, pin_memory=device.type == "cuda")
    writer = SummaryWriter(str(run_dir / "tb"), purge_step=step + 1 if resume else None)
    clip = config.grad_clip if config.grad_clip is not None else math.inf
    started = time.perf_counter()
    pairs_seen = 0
    try:
        for epoch in range(start_epoch, config.epochs):
            pairs.set_epoch(epoch)
            model.train()
            epoch_start = time.perf_counter()
            losses, norms, epoch_pairs, image = [], [], 0, None
            bar = tqdm(loader, desc=f"epoch {epoch + 1}/{config.epochs}", unit="batch", disable=not progress,
                       leave=False, file=sys.stderr)
            for batch in bar:
                x1, mask, x2, aug_mask, gt_index = prepare_batch(batch, mcfg, device, limbs, videos.size, sigma)
                with torch.autocast(device_type=device.type, dtype=torch.bfloat16, enabled=amp):
                    z1, z2 = model(x1, mask, x2, aug_mask)
                loss, _ = alignment_loss(z1, z2, gt_index, mask, aug_mask, config.temperature,
                                         normalize=mcfg.normalize_index_error)
                if not torch.isfinite(loss):
                    raise FloatingPointError(
                        f"loss is {loss.item()} at epoch {epoch + 1}, step {step + 1} (lower --lr, or set grad_clip)"
                    )
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                grad_norm = torch.nn.utils.clip_grad_norm_(model.parameters(), clip)
                optimizer.step()
                step += 1
                loss_value, norm_value = float(loss.detach()), float(grad_norm)
                losses.append(loss_value)
                norms.append(norm_value)
                epoch_pairs += int(mask.shape[0])
                writer.add_scalar("loss/step", loss_value, step)
                writer.add_scalar("grad_norm/step", norm_value, step)
                if image is None:
                    m, n = int(mask[0].sum()), int(aug_mask[0].sum())
                    image = _similarity_image(z1[0].detach(), z2[0].detach(), m, n, gt_index[0], config.temperature)
                bar.set_postfix(loss=f"{loss_value:.3g}", grad=f"{norm_value:.3g}")
            bar.close()
            lr = optimizer.param_groups[0]["lr"]
            scheduler.step()
            seconds = time.perf_counter() - epoch_start
            pairs_seen += epoch_pairs
            history.append(float(np.mean(losses)))
            grad_history.append(float(np.mean(norms)))
            writer.add_scalar("loss/epoch", history[-1], epoch + 1)
            writer.add_scalar("grad_norm/epoch", grad_history[-1], epoch + 1)
            writer.add_scalar("lr", lr, epoch + 1)
            writer.add_scalar("pairs_per_s", epoch_pairs / max(seconds, 1e-9), epoch + 1)
            if image is not None:
                writer.add_image("similarity", image, epoch + 1, dataformats="HWC")
            writer.flush()
            ckpt = checkpoint(epoch + 1)
            if progress:
                print(f"epoch {epoch + 1}/{config.epochs}: loss {history[-1]:.4g}, grad norm {grad_history[-1]:.3g}, "
                      f"lr {lr:.3g}, {seconds:.1f} s ({epoch_pairs / max(seconds, 1e-9):.1f} pairs/s)",
                      file=sys.stderr)
    finally:
        writer.close()
    total = time.perf_counter() - started
    return TrainResult(
        run_dir=run_dir, checkpoint=ckpt, losses=history, grad_norms=grad_history, epoch=max(start_epoch, config.epochs),
        steps=step, seconds=total, pairs_per_second=pairs_seen / total if pairs_seen else 0.0, device=str(device),
        config=config,
    )


def train_two_stage(
    config: TrainConfig,
    stage1_epochs: int | None = None,
    pose_out: str | Path | None = None,
    rgb_out: str | Path | None = None,
    progress: bool = True,
) -> dict[str, TrainResult]:
    """The paper's two-stage training of the fused model.

    Stage 1: the config with modality "pose" (out `pose_out`, default OUT-pose beside OUT) and with
    modality "rgb" (`rgb_out`, default OUT-rgb), each trained alone with the alignment loss for
    `stage1_epochs` (default config.epochs). Stage 2: `config` with modality "rgb+pose" and
    init_from = those two runs, trained jointly with fusion. Every other setting is `config`'s.
    Returns {"pose": ..., "rgb": ..., "rgb+pose": TrainResult}.
    """
    out = Path(config.out)
    epochs1 = config.epochs if stage1_epochs is None else stage1_epochs

    def variant(modality: str, **update: Any) -> TrainConfig:
        # only the explicitly set fields, so that the cache still fills in num_joints, rgb_size, ...
        model = {k: getattr(config.model, k) for k in config.model.model_fields_set}
        fields = {k: getattr(config, k) for k in config.model_fields_set}
        return TrainConfig(**{**fields, "model": ModelConfig(**{**model, "modality": modality}), **update})

    results: dict[str, TrainResult] = {}
    for modality, run in (("pose", pose_out), ("rgb", rgb_out)):
        run_dir = Path(run) if run is not None else out.with_name(f"{out.name}-{modality}")
        results[modality] = train(variant(modality, out=run_dir, epochs=epochs1, init_from=None), progress=progress)
    init_from = {"pose": results["pose"].run_dir, "rgb": results["rgb"].run_dir}
    results["rgb+pose"] = train(variant("rgb+pose", init_from=init_from), progress=progress)
    return results

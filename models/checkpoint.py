"""Checkpoints of a training run: `RUN_DIR/checkpoint.pt` and `RUN_DIR/config.json`.

`checkpoint.pt` (written after every epoch, and once at epoch 0 for an untrained baseline) holds

    format        "la2ds-checkpoint/1"
    epoch         epochs completed (0 = the initialised, untrained model)
    step          optimiser steps taken so far
    model         model.state_dict()
    optimizer     optimizer.state_dict()  (Adam)
    scheduler     scheduler.state_dict()  (MultiStepLR)
    rng           torch CPU, numpy (legacy global), python `random`, and CUDA generator states
    config        TrainConfig.model_dump(mode="json"), with the model config resolved for the
                  cache's skeleton layout (num_joints, num_limbs, heatmap_size)
    model_config  ModelConfig.model_dump(mode="json") (the same as config["model"])
    history       mean training loss of every completed epoch
    extra         small JSON-able facts (layout name, torch version, number of parameters, ...)

Everything in it is made of tensors, numbers, strings, lists, tuples and dicts, so
`torch.load(..., weights_only=True)` reads it (no arbitrary pickles).

Writes are atomic: the file is written to a temporary name in the same folder, flushed and fsynced,
then renamed over the old one (`os.replace`), so an interrupted run leaves the previous checkpoint
intact. `config.json` is the TrainConfig as JSON (loadable with `TrainConfig.model_validate_json`).
"""

from __future__ import annotations

import json
import os
import random
from pathlib import Path
from typing import Any

import numpy as np
import torch

from models.config import ModelConfig

__all__ = [
    "CHECKPOINT_NAME",
    "CONFIG_NAME",
    "FORMAT",
    "checkpoint_path",
    "get_rng_state",
    "load_checkpoint",
    "load_model",
    "save_checkpoint",
    "set_rng_state",
    "write_config_json",
]

FORMAT = "la2ds-checkpoint/1"
CHECKPOINT_NAME = "checkpoint.pt"
CONFIG_NAME = "config.json"


def checkpoint_path(run: str | Path) -> Path:
    """`run` may be a run directory or a checkpoint file."""
    run = Path(run)
    return run / CHECKPOINT_NAME if run.is_dir() or run.suffix != ".pt" else run


# ---------------------------------------------------------------------------------------------
# RNG state


def get_rng_state() -> dict[str, Any]:
    """Every global generator a training step draws from, in a weights_only-loadable form."""
    name, keys, pos, has_gauss, cached = np.random.get_state(legacy=True)
    state: dict[str, Any] = {
        "torch": torch.get_rng_state(),
        "numpy": {"name": name, "keys": [int(k) for k in keys], "pos": int(pos),
                  "has_gauss": int(has_gauss), "cached_gaussian": float(cached)},
        "python": random.getstate(),
        "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
    }
    return state


def set_rng_state(state: dict[str, Any]) -> None:
    """Restore what `get_rng_state` returned (CUDA states only where CUDA is present)."""
    torch.set_rng_state(state["torch"].cpu() if isinstance(state["torch"], torch.Tensor) else state["torch"])
    n = state["numpy"]
    np.random.set_state((n["name"], np.asarray(n["keys"], dtype=np.uint32), n["pos"], n["has_gauss"],
                         n["cached_gaussian"]))
    py = state["python"]
    random.setstate((py[0], tuple(py[1]), py[2]))
    cuda = state.get("cuda") or []
    if cuda and torch.cuda.is_available():
        cuda = [s.cpu() for s in cuda]
        if len(cuda) == torch.cuda.device_count():
            torch.cuda.set_rng_state_all(cuda)
        else:  # a different number of GPUs: restore what matches
            for i, s in enumerate(cuda[: torch.cuda.device_count()]):
                torch.cuda.set_rng_state(s, i)


# ---------------------------------------------------------------------------------------------
# saving and loading


def _atomic_write(path: Path, write) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    try:
        with open(tmp, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


def write_config_json(run_dir: str | Path, config: dict[str, Any]) -> Path:
    """RUN_DIR/config.json (atomic); `config` is a TrainConfig.model_dump(mode="json")."""
    path = Path(run_dir) / CONFIG_NAME
    text = json.dumps(config, indent=2, sort_keys=False) + "\n"
    _atomic_write(path, lambda f: f.write(text.encode()))
    return path


def save_checkpoint(
    run_dir: str | Path,
    *,
    model: torch.nn.Module,
    optimizer: torch.optim.Optimizer,
    scheduler: Any,
    epoch: int,
    step: int,
    config: dict[str, Any],
    history: list[float],
    extra: dict[str, Any] | None = None,
) -> Path:
    """Write RUN_DIR/checkpoint.pt atomically (see the module docstring) and return its path."""
    state = {
        "format": FORMAT,
        "epoch": int(epoch),
        "step": int(step),
        "model": model.state_dict(),
        "optimizer": optimizer.state_dict(),
        "scheduler": scheduler.state_dict(),
        "rng": get_rng_state(),
        "config": config,
        "model_config": config["model"],
        "history": [float(x) for x in history],
        "extra": dict(extra or {}),
    }
    path = Path(run_dir) / CHECKPOINT_NAME
    _atomic_write(path, lambda f: torch.save(state, f))
    return path


def load_checkpoint(run: str | Path, map_location: str | torch.device = "cpu") -> dict[str, Any]:
    """Read a checkpoint (run directory or file). Raises FileNotFoundError / ValueError."""
    path = checkpoint_path(run)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no checkpoint (train first: la2ds train ... --out {path.parent})")
    state = torch.load(path, map_location=map_location, weights_only=True)
    if not isinstance(state, dict) or state.get("format") != FORMAT:
        raise ValueError(f"{path}: not a {FORMAT} checkpoint (format {state.get('format') if isinstance(state, dict) else None!r})")
    return state


def load_model(run: str | Path, device: str | torch.device = "cpu"):
    """(AlignmentNet with the checkpoint's weights on `device`, in eval mode; the checkpoint dict)."""
    from models.network import AlignmentNet

    state = load_checkpoint(run, map_location="cpu")
    model = AlignmentNet(ModelConfig.model_validate(state["model_config"]))
    model.load_state_dict(state["model"])
    model.to(device).eval()
    return model, state

"""Configuration of the alignment network (the "Network" part of the LA2DS method).

`ModelConfig` is a frozen pydantic model: it is saved in checkpoints (`model_dump()`) and rebuilt
from them (`ModelConfig.model_validate(d)`). Defaults follow the paper (ViViT-style factorised
encoder on 30x30 skeleton heatmaps cut into 10x10 patches, width 192, 3 heads, projection to 128,
temperature 0.1). Every ablation of the paper is a switch here; the default is the full model.

Channel convention (the cache contract, `../shared/DESIGN.md`): heatmaps are
`(T, K + L, 30, 30)`, the K joint maps first, then the L limb maps. `channels` picks the subset
the encoder reads (`channel_slice`); `in_channels` is its size.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

ModelKind = Literal["la2ds", "coords"]
ChannelChoice = Literal["joints+limbs", "joints", "limbs"]
Modality = Literal["pose", "rgb", "rgb+pose"]


class ModelConfig(BaseModel):
    """Hyper-parameters and ablation switches of `models.network.AlignmentNet`.

    model: "la2ds" (heatmap ViViT encoder) or "coords" (CASA-style coordinate baseline: per-frame
        flattened (x, y, c) joints through an MLP, then temporal self-attention; the heatmap-only
        fields `channels`, `heatmap_size`, `patch_size`, `spatial_*` are then unused, except that
        `heatmap_size` scales the keypoint coordinates, which are in heatmap pixels).
    num_joints, num_limbs: K and L of the skeleton layout (`ModelConfig.for_layout`).
    channels: which heatmap channels the encoder reads.
    Ablation switches (all True = the paper's full model):
      spatial_transformer: False -> a stack of per-token residual MLP blocks (no attention between
          the 9 patch tokens of a frame), same depth `spatial_layers`.
      temporal_transformer: False -> a stack of per-frame residual MLP blocks (no attention between
          frames), same depth `temporal_layers`.
      cross_attention: False -> no cross-attention block between the two sequences.
      projection_head: False -> the loss is computed on the encoder (or cross-attention) output
          directly; the output dimension is then `dim` instead of `projection_dim`.
      learned_position: False -> fixed sinusoidal position encodings (2D sin-cos over the patch
          grid for the spatial tokens, 1D sin-cos over the frame index for the temporal ones and in
          the cross-attention block) instead of learned embeddings.
    Modality (issue 6, RGB + pose fusion):
      modality: "pose" (default: the pose encoder `model` alone, every behaviour as before),
          "rgb" (`models.network.RGBEncoder` on the cached RGB crops alone) or "rgb+pose" (late
          fusion: both encoders' per-frame features concatenated, a Linear(2 * dim, dim), then the
          same cross-attention, projection head and loss).
      rgb_size: side S of the cached RGB frames `(T, 3, S, S)` (the cache's `rgb_size`, 64);
          taken from the cache when training starts.
      rgb_patch: side of the RGB patches (16: 4 x 4 = 16 tokens per 64 x 64 frame).
    Loss:
      temperature: lambda of paper eq. 3.
      normalize_index_error: False (default, the paper's eq. 4) -> loss is the plain mean squared
          frame-index error. True -> predicted and ground-truth indices are both divided by
          (M - 1), M the real length of the original sequence, so the loss does not grow with the
          sequence length (an option, not the paper's formula).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    model: ModelKind = "la2ds"
    num_joints: int = Field(13, ge=1)
    num_limbs: int = Field(12, ge=0)
    channels: ChannelChoice = "joints+limbs"

    heatmap_size: int = Field(30, ge=1)
    patch_size: int = Field(10, ge=1)

    dim: int = Field(192, ge=4)
    heads: int = Field(3, ge=1)
    spatial_layers: int = Field(4, ge=0)
    temporal_layers: int = Field(4, ge=0)
    cross_layers: int = Field(1, ge=1)
    mlp_dim: int = Field(768, ge=1)
    dropout: float = Field(0.1, ge=0.0, lt=1.0)
    max_frames: int = Field(512, ge=1)

    projection_dim: int = Field(128, ge=1)
    projection_hidden: int = Field(192, ge=1)
    temperature: float = Field(0.1, gt=0.0)
    normalize_index_error: bool = False

    spatial_transformer: bool = True
    temporal_transformer: bool = True
    cross_attention: bool = True
    projection_head: bool = True
    learned_position: bool = True

    modality: Modality = "pose"
    rgb_size: int = Field(64, ge=1)
    rgb_patch: int = Field(16, ge=1)

    @model_validator(mode="after")
    def _check(self) -> "ModelConfig":
        if self.dim % self.heads != 0:
            raise ValueError(f"dim ({self.dim}) must be divisible by heads ({self.heads})")
        if self.heatmap_size % self.patch_size != 0:
            raise ValueError(
                f"heatmap_size ({self.heatmap_size}) must be a multiple of patch_size ({self.patch_size})"
            )
        if not self.learned_position and self.dim % 4 != 0:
            raise ValueError(
                f"sinusoidal position encodings (learned_position=False) need dim % 4 == 0, got {self.dim}"
            )
        if self.rgb_size % self.rgb_patch != 0:
            raise ValueError(f"rgb_size ({self.rgb_size}) must be a multiple of rgb_patch ({self.rgb_patch})")
        if self.model == "la2ds" and self.channels != "joints" and self.num_limbs == 0:
            raise ValueError(f"channels={self.channels!r} needs limb channels, but num_limbs is 0")
        return self

    # derived quantities -------------------------------------------------------------------------

    @property
    def num_channels(self) -> int:
        """K + L: the channel count of a full heatmap from the cache."""
        return self.num_joints + self.num_limbs

    @property
    def in_channels(self) -> int:
        """Channels the heatmap encoder reads, after selecting `channels`."""
        return {
            "joints+limbs": self.num_joints + self.num_limbs,
            "joints": self.num_joints,
            "limbs": self.num_limbs,
        }[self.channels]

    @property
    def channel_slice(self) -> slice:
        """Slice of the K + L heatmap channels selected by `channels` (joints first, then limbs)."""
        return {
            "joints+limbs": slice(0, self.num_channels),
            "joints": slice(0, self.num_joints),
            "limbs": slice(self.num_joints, self.num_channels),
        }[self.channels]

    @property
    def grid(self) -> int:
        """Patches per side (30 / 10 = 3)."""
        return self.heatmap_size // self.patch_size

    @property
    def num_patches(self) -> int:
        """Spatial tokens per frame (3 x 3 = 9)."""
        return self.grid**2

    @property
    def uses_pose(self) -> bool:
        """Whether the model reads the pose input (heatmaps, or keypoints for "coords")."""
        return self.modality in ("pose", "rgb+pose")

    @property
    def uses_rgb(self) -> bool:
        """Whether the model reads RGB frames."""
        return self.modality in ("rgb", "rgb+pose")

    @property
    def rgb_grid(self) -> int:
        """RGB patches per side (64 / 16 = 4)."""
        return self.rgb_size // self.rgb_patch

    @property
    def out_dim(self) -> int:
        """Dimension P of the embeddings `AlignmentNet.forward` returns (the loss space)."""
        return self.projection_dim if self.projection_head else self.dim

    @classmethod
    def for_layout(cls, layout: Any, **overrides: Any) -> "ModelConfig":
        """A config for a `pipeline.layouts.Layout` (anything with `num_joints`, `num_limbs`)."""
        return cls(num_joints=layout.num_joints, num_limbs=layout.num_limbs, **overrides)


def parse_model_config(text: str | None) -> dict[str, Any]:
    """A JSON object of ModelConfig fields, given inline ('{"dim": 32}') or as a file path; {} for None."""
    if not text:
        return {}
    path = Path(text)
    value = json.loads(path.read_text() if not text.lstrip().startswith("{") and path.is_file() else text)
    if not isinstance(value, dict):
        raise ValueError("--model-config must be a JSON object of ModelConfig fields")
    return value

"""The LA2DS alignment network and its CASA-style coordinate baseline.

Data shapes (B batch, T frames, K joints, L limbs, C = K + L heatmap channels, joints first):
- heatmaps  `(B, T, C, 30, 30)` float (or already reduced to `config.in_channels` channels);
- keypoints `(B, T, K, 3)` float: x, y in heatmap pixel coordinates (0..size-1), confidence c;
- mask      `(B, T)` bool, True = real frame, False = padding (sequences of different lengths
  batch together). `None` means every frame is real.

Architecture (`AlignmentNet`), shared (siamese) between the two sequences of a pair:

    x ──encoder──► h (B, T, dim) ──cross-attention with the other sequence──► ──projection──► z (B, T, P)

- `VideoEncoder` (model "la2ds", ViViT factorised encoder): each frame's heatmap is cut into
  10x10 patches (3x3 = 9 tokens), linearly embedded, plus a spatial position embedding, through a
  spatial transformer, then averaged (global average pooling) to one token per frame; plus a
  temporal position embedding, through a temporal transformer whose attention ignores padded
  frames (`src_key_padding_mask`).
- `CoordinateEncoder` (model "coords"): per-frame flattened (x, y, c) joints through an MLP, a
  temporal position embedding and the temporal transformer (no spatial stage).
- `RGBEncoder` (`ModelConfig.modality` "rgb" / "rgb+pose"): the same factorised design on RGB
  frames `(B, T, 3, 64, 64)` (uint8 or [0, 1] floats, standardised inside) cut into 16x16 patches
  (4x4 = 16 tokens). For "rgb+pose" (late fusion) the pose and RGB encoders' per-frame features are
  concatenated `(B, T, 2 * dim)` and a Linear brings them back to `dim` before cross-attention.
- `CrossAttention`: an MLP and a temporal position encoding on each sequence's frame tokens, then
  layers in which each sequence attends to the other (the same weights both ways).
- `ProjectionHead`: an MLP with one hidden layer.

Padded frames never influence real ones: the spatial stage runs on real frames only, temporal and
cross attention mask padded keys, and the outputs at padded positions are set to zero.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Literal, Union

import torch
from torch import Tensor, nn

from models.config import ModelConfig

__all__ = [
    "AlignmentNet",
    "CoordinateEncoder",
    "CrossAttention",
    "FactorisedEncoder",
    "ModelInput",
    "ProjectionHead",
    "RGBEncoder",
    "VideoEncoder",
    "build_model",
    "sinusoidal_encoding_1d",
    "sinusoidal_encoding_2d",
]


# ---------------------------------------------------------------------------------------------
# helpers


def sinusoidal_encoding_1d(length: int, dim: int) -> Tensor:
    """Fixed sin-cos position encodings `(length, dim)` (Vaswani et al.), dim even."""
    if dim % 2:
        raise ValueError(f"sinusoidal encoding needs an even dim, got {dim}")
    pos = torch.arange(length, dtype=torch.float64)[:, None]
    freq = torch.exp(torch.arange(0, dim, 2, dtype=torch.float64) * (-math.log(10000.0) / dim))
    enc = torch.zeros(length, dim, dtype=torch.float64)
    enc[:, 0::2] = torch.sin(pos * freq)
    enc[:, 1::2] = torch.cos(pos * freq)
    return enc.float()


def sinusoidal_encoding_2d(grid: int, dim: int) -> Tensor:
    """Fixed 2D sin-cos encodings `(grid * grid, dim)` for a row-major patch grid: half the
    dimensions encode the row, half the column (dim % 4 == 0)."""
    if dim % 4:
        raise ValueError(f"2D sinusoidal encoding needs dim % 4 == 0, got {dim}")
    one = sinusoidal_encoding_1d(grid, dim // 2)  # (grid, dim/2)
    rows = one[:, None, :].expand(grid, grid, dim // 2)
    cols = one[None, :, :].expand(grid, grid, dim // 2)
    return torch.cat([rows, cols], dim=-1).reshape(grid * grid, dim)


class PositionEncoding(nn.Module):
    """Adds a position encoding to `(N, T, dim)` tokens: learned `(max_len, dim)` parameter, or a
    fixed encoding (buffer) when `learned` is False. `fixed` gives that fixed table."""

    def __init__(self, max_len: int, dim: int, learned: bool, fixed: Tensor | None = None) -> None:
        super().__init__()
        self.max_len = max_len
        self.learned = learned
        if learned:
            self.table = nn.Parameter(torch.zeros(max_len, dim))
            nn.init.trunc_normal_(self.table, std=0.02)
        else:
            table = fixed if fixed is not None else sinusoidal_encoding_1d(max_len, dim)
            self.register_buffer("table", table, persistent=False)

    def forward(self, x: Tensor) -> Tensor:
        t = x.shape[1]
        if t > self.max_len:
            raise ValueError(
                f"sequence of {t} positions exceeds the position encoding's {self.max_len} "
                "(raise ModelConfig.max_frames, or crop the sequence)"
            )
        return x + self.table[:t].to(x.dtype)


class ResidualMLP(nn.Module):
    """Pre-norm residual MLP block `x + MLP(LN(x))`: the attention-free stand-in for a
    transformer layer in the ablations."""

    def __init__(self, dim: int, hidden: int, dropout: float) -> None:
        super().__init__()
        self.net = nn.Sequential(
            nn.LayerNorm(dim),
            nn.Linear(dim, hidden),
            nn.GELU(),
            nn.Dropout(dropout),
            nn.Linear(hidden, dim),
            nn.Dropout(dropout),
        )

    def forward(self, x: Tensor) -> Tensor:
        return x + self.net(x)


class TokenMixer(nn.Module):
    """A stack of `layers` transformer encoder layers (batch_first, pre-norm, GELU), or of
    per-token residual MLP blocks when `attention` is False; a final LayerNorm either way.

    forward(x (N, S, dim), padding (N, S) bool True = ignore, or None) -> (N, S, dim)."""

    def __init__(self, cfg: ModelConfig, layers: int, attention: bool) -> None:
        super().__init__()
        self.attention = attention
        if layers == 0:
            self.body: nn.Module = nn.Identity()
        elif attention:
            layer = nn.TransformerEncoderLayer(
                d_model=cfg.dim,
                nhead=cfg.heads,
                dim_feedforward=cfg.mlp_dim,
                dropout=cfg.dropout,
                activation="gelu",
                batch_first=True,
                norm_first=True,
            )
            self.body = nn.TransformerEncoder(layer, num_layers=layers, enable_nested_tensor=False)
        else:
            self.body = nn.Sequential(*(ResidualMLP(cfg.dim, cfg.mlp_dim, cfg.dropout) for _ in range(layers)))
        self.norm = nn.LayerNorm(cfg.dim)

    def forward(self, x: Tensor, padding: Tensor | None = None) -> Tensor:
        if isinstance(self.body, nn.TransformerEncoder):
            x = self.body(x, src_key_padding_mask=padding)
        else:
            x = self.body(x)
        return self.norm(x)


def _key_padding(mask: Tensor | None) -> Tensor | None:
    """`(B, T)` True = real -> key padding mask True = ignore, for torch attention. A sequence
    with no real frame keeps its first key unmasked so that attention stays finite (its outputs
    are zeroed afterwards anyway)."""
    if mask is None:
        return None
    padding = ~mask
    empty = padding.all(dim=1)
    if empty.any():
        padding = padding.clone()
        padding[empty, 0] = False
    return padding


def _check_mask(mask: Tensor | None, b: int, t: int, device: torch.device) -> Tensor:
    if mask is None:
        return torch.ones(b, t, dtype=torch.bool, device=device)
    if mask.shape != (b, t):
        raise ValueError(f"mask must be (B, T) = ({b}, {t}), got {tuple(mask.shape)}")
    return mask.to(device=device, dtype=torch.bool)


def _zero_padded(x: Tensor, mask: Tensor) -> Tensor:
    return x * mask[..., None].to(x.dtype)


# ---------------------------------------------------------------------------------------------
# encoders


class FactorisedEncoder(nn.Module):
    """The ViViT factorised encoder shared by `VideoEncoder` (skeleton heatmaps) and `RGBEncoder`
    (RGB frames): each frame is cut into `patch` x `patch` patches, linearly embedded, plus a
    spatial position embedding, through the spatial stage, averaged (global average pooling) to one
    token per frame; plus a temporal position embedding, through the temporal stage whose attention
    ignores padded frames. Subclasses turn their input into `(B, T, in_channels, size, size)` float
    frames (`prepare`) and call `encode_video`.
    """

    def __init__(self, config: ModelConfig, in_channels: int, size: int, patch: int) -> None:
        super().__init__()
        self.config = cfg = config
        self.in_channels, self.size, self.patch = in_channels, size, patch
        self.grid = size // patch
        self.patch_embed = nn.Linear(in_channels * patch**2, cfg.dim)
        spatial_fixed = None if cfg.learned_position else sinusoidal_encoding_2d(self.grid, cfg.dim)
        self.spatial_pos = PositionEncoding(self.grid**2, cfg.dim, cfg.learned_position, spatial_fixed)
        self.spatial = TokenMixer(cfg, cfg.spatial_layers, attention=cfg.spatial_transformer)
        self.temporal_pos = PositionEncoding(cfg.max_frames, cfg.dim, cfg.learned_position)
        self.temporal = TokenMixer(cfg, cfg.temporal_layers, attention=cfg.temporal_transformer)
        self.dropout = nn.Dropout(cfg.dropout)

    def patchify(self, frames: Tensor) -> Tensor:
        """(N, C, H, H) -> (N, grid*grid, C*patch*patch) tokens, row-major over the patch grid."""
        n, c, h, w = frames.shape
        if h != self.size or w != self.size:
            raise ValueError(f"{self._what} must be {self.size}x{self.size}, got {h}x{w}")
        g, p = self.grid, self.patch
        x = frames.reshape(n, c, g, p, g, p).permute(0, 2, 4, 1, 3, 5)
        return x.reshape(n, g * g, c * p * p)

    _what = "frames"

    def encode_frames(self, frames: Tensor) -> Tensor:
        """Spatial stage: (N, C_in, H, H) frames -> (N, dim) frame tokens."""
        tokens = self.patch_embed(self.patchify(frames))
        tokens = self.dropout(self.spatial_pos(tokens))
        tokens = self.spatial(tokens)
        return tokens.mean(dim=1)  # global average pooling over the patch tokens

    def encode_video(self, x: Tensor, mask: Tensor) -> Tensor:
        """(B, T, C_in, H, H) float frames, (B, T) bool mask -> (B, T, dim)."""
        b, t = x.shape[:2]
        # the spatial stage runs on real frames only (padding costs nothing and cannot leak in)
        frame_tokens = self.encode_frames(x[mask])
        h = frame_tokens.new_zeros(b, t, self.config.dim)
        h[mask] = frame_tokens
        h = self.dropout(self.temporal_pos(h))
        h = self.temporal(h, _key_padding(mask))
        return _zero_padded(h, mask)


class VideoEncoder(FactorisedEncoder):
    """ViViT factorised encoder on skeleton heatmaps.

    forward(heatmaps (B, T, C, H, H), mask (B, T) bool True = real | None) -> (B, T, dim);
    C is `config.num_channels` (K + L: the channels of `config.channels` are selected here) or
    already `config.in_channels`. Padded frames are skipped by the spatial stage, masked in the
    temporal attention, and zero in the output.
    """

    _what = "heatmaps"

    def __init__(self, config: ModelConfig) -> None:
        super().__init__(config, config.in_channels, config.heatmap_size, config.patch_size)

    def select_channels(self, heatmaps: Tensor) -> Tensor:
        cfg = self.config
        c = heatmaps.shape[2]
        if c == cfg.num_channels:
            return heatmaps[:, :, cfg.channel_slice]
        if c == cfg.in_channels:
            return heatmaps
        raise ValueError(
            f"heatmaps have {c} channels; expected K + L = {cfg.num_channels} "
            f"(or {cfg.in_channels} already selected for channels={cfg.channels!r})"
        )

    def forward(self, heatmaps: Tensor, mask: Tensor | None = None) -> Tensor:
        if heatmaps.ndim != 5:
            raise ValueError(f"heatmaps must be (B, T, C, H, W), got shape {tuple(heatmaps.shape)}")
        b, t = heatmaps.shape[:2]
        mask = _check_mask(mask, b, t, heatmaps.device)
        return self.encode_video(self.select_channels(heatmaps), mask)


# ImageNet channel statistics: the RGB frames are standardised with them inside the encoder
RGB_MEAN = (0.485, 0.456, 0.406)
RGB_STD = (0.229, 0.224, 0.225)


class RGBEncoder(FactorisedEncoder):
    """The same factorised video transformer on RGB frames (`config.rgb_patch` patches).

    forward(rgb (B, T, 3, S, S), mask (B, T) bool True = real | None) -> (B, T, dim), S =
    `config.rgb_size`. rgb is uint8 (0..255, as cached) or float in [0, 1]; it is standardised here
    with the ImageNet channel mean and std (`RGB_MEAN`, `RGB_STD`). With 64 x 64 frames and 16 x 16
    patches a frame has 4 x 4 = 16 tokens. Padding handled as in `VideoEncoder`.
    """

    _what = "RGB frames"

    def __init__(self, config: ModelConfig) -> None:
        super().__init__(config, 3, config.rgb_size, config.rgb_patch)
        self.register_buffer("mean", torch.tensor(RGB_MEAN).view(1, 1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(RGB_STD).view(1, 1, 3, 1, 1), persistent=False)

    def normalize(self, rgb: Tensor) -> Tensor:
        """uint8 0..255 or float [0, 1] -> standardised float."""
        x = rgb.float() / 255.0 if rgb.dtype == torch.uint8 else rgb
        return (x - self.mean.to(x.dtype)) / self.std.to(x.dtype)

    def forward(self, rgb: Tensor, mask: Tensor | None = None) -> Tensor:
        if rgb.ndim != 5 or rgb.shape[2] != 3:
            raise ValueError(f"rgb must be (B, T, 3, S, S), got shape {tuple(rgb.shape)}")
        b, t = rgb.shape[:2]
        mask = _check_mask(mask, b, t, rgb.device)
        return self.encode_video(self.normalize(rgb), mask)


class CoordinateEncoder(nn.Module):
    """CASA-style baseline on 2D joint coordinates.

    forward(keypoints (B, T, K, 3) x, y in heatmap pixels and c, mask (B, T) | None) -> (B, T, dim).
    x and y are mapped to [-1, 1] by the fixed affine 2 * v / (heatmap_size - 1) - 1 (the keypoints
    are in heatmap pixel coordinates), c is kept; the K * 3 values of a frame go through an MLP
    (Linear, GELU, Linear) to `dim`, then a temporal position embedding and the temporal
    transformer (padded frames masked, zero in the output).
    """

    def __init__(self, config: ModelConfig) -> None:
        super().__init__()
        self.config = cfg = config
        self.frame_mlp = nn.Sequential(
            nn.Linear(cfg.num_joints * 3, cfg.dim),
            nn.GELU(),
            nn.Linear(cfg.dim, cfg.dim),
        )
        self.temporal_pos = PositionEncoding(cfg.max_frames, cfg.dim, cfg.learned_position)
        self.temporal = TokenMixer(cfg, cfg.temporal_layers, attention=cfg.temporal_transformer)
        self.dropout = nn.Dropout(cfg.dropout)

    def normalize(self, keypoints: Tensor) -> Tensor:
        scale = 2.0 / max(self.config.heatmap_size - 1, 1)
        xy = keypoints[..., :2] * scale - 1.0
        return torch.cat([xy, keypoints[..., 2:3]], dim=-1)

    def forward(self, keypoints: Tensor, mask: Tensor | None = None) -> Tensor:
        cfg = self.config
        if keypoints.ndim != 4 or keypoints.shape[2:] != (cfg.num_joints, 3):
            raise ValueError(
                f"keypoints must be (B, T, {cfg.num_joints}, 3), got shape {tuple(keypoints.shape)}"
            )
        b, t = keypoints.shape[:2]
        mask = _check_mask(mask, b, t, keypoints.device)
        x = self.normalize(keypoints).reshape(b, t, cfg.num_joints * 3)
        x = torch.where(mask[..., None], x, torch.zeros_like(x))  # padded frames may hold anything
        h = self.frame_mlp(x)
        h = self.dropout(self.temporal_pos(h))
        h = self.temporal(h, _key_padding(mask))
        return _zero_padded(h, mask)


# ---------------------------------------------------------------------------------------------
# cross-attention and projection


class CrossAttentionLayer(nn.Module):
    """Pre-norm cross-attention layer: `q + Attn(LN(q), LN(kv), LN(kv))`, then `+ FFN(LN(.))`."""

    def __init__(self, cfg: ModelConfig) -> None:
        super().__init__()
        self.norm_q = nn.LayerNorm(cfg.dim)
        self.norm_kv = nn.LayerNorm(cfg.dim)
        self.attn = nn.MultiheadAttention(cfg.dim, cfg.heads, dropout=cfg.dropout, batch_first=True)
        self.drop = nn.Dropout(cfg.dropout)
        self.ffn = ResidualMLP(cfg.dim, cfg.mlp_dim, cfg.dropout)

    def forward(self, q: Tensor, kv: Tensor, kv_padding: Tensor | None) -> Tensor:
        kv_n = self.norm_kv(kv)
        out, _ = self.attn(self.norm_q(q), kv_n, kv_n, key_padding_mask=kv_padding, need_weights=False)
        return self.ffn(q + self.drop(out))


class CrossAttention(nn.Module):
    """Cross-attention between the frame tokens of two sequences.

    forward(h1 (B, T1, dim), mask1, h2 (B, T2, dim), mask2) -> (c1 (B, T1, dim), c2 (B, T2, dim)).
    Each sequence first goes through a shared MLP (Linear, GELU, Linear) and a temporal position
    encoding (learned, or sinusoidal with `learned_position=False`); then, in each of
    `cross_layers` layers, sequence 1 attends to sequence 2 and sequence 2 to sequence 1 with the
    same weights, both updates computed from the previous layer's tokens. Padded keys are masked;
    padded outputs are zero.
    """

    def __init__(self, config: ModelConfig) -> None:
        super().__init__()
        self.config = cfg = config
        self.mlp = nn.Sequential(nn.Linear(cfg.dim, cfg.dim), nn.GELU(), nn.Linear(cfg.dim, cfg.dim))
        self.pos = PositionEncoding(cfg.max_frames, cfg.dim, cfg.learned_position)
        self.layers = nn.ModuleList(CrossAttentionLayer(cfg) for _ in range(cfg.cross_layers))
        self.norm = nn.LayerNorm(cfg.dim)

    def forward(
        self, h1: Tensor, mask1: Tensor | None, h2: Tensor, mask2: Tensor | None
    ) -> tuple[Tensor, Tensor]:
        if h1.shape[0] != h2.shape[0]:
            raise ValueError(f"cross-attention needs equal batch sizes, got {h1.shape[0]} and {h2.shape[0]}")
        mask1 = _check_mask(mask1, h1.shape[0], h1.shape[1], h1.device)
        mask2 = _check_mask(mask2, h2.shape[0], h2.shape[1], h2.device)
        pad1, pad2 = _key_padding(mask1), _key_padding(mask2)
        a, b = self.pos(self.mlp(h1)), self.pos(self.mlp(h2))
        for layer in self.layers:
            a, b = layer(a, b, pad2), layer(b, a, pad1)
        return _zero_padded(self.norm(a), mask1), _zero_padded(self.norm(b), mask2)


class ProjectionHead(nn.Module):
    """MLP with one hidden layer: Linear(dim, hidden), ReLU, Linear(hidden, out). (..., dim) -> (..., out)."""

    def __init__(self, dim: int, hidden: int, out: int) -> None:
        super().__init__()
        self.net = nn.Sequential(nn.Linear(dim, hidden), nn.ReLU(), nn.Linear(hidden, out))

    def forward(self, x: Tensor) -> Tensor:
        return self.net(x)


# ---------------------------------------------------------------------------------------------
# the full model


ModelInput = Union[Tensor, Mapping[str, Tensor], Sequence[Tensor]]


class AlignmentNet(nn.Module):
    """The LA2DS alignment network (or its coordinate baseline), per `ModelConfig`.

    forward(x1, mask1, x2, mask2) -> (z1 (B, T1, P), z2 (B, T2, P)): the projected embeddings the
        loss compares (P = `config.out_dim`); masks `(B, T)` bool True = real, or None.
    embed(x, mask) -> (B, T, dim): frozen per-frame embeddings for evaluation, taken from the
        encoder, i.e. before the projection head (as CASA does) and before cross-attention, which
        needs a pair of sequences while evaluation embeds one video at a time. `where="projection"`
        applies the projection head to them instead. Runs without gradients and does not change
        train/eval mode: call `model.eval()` first.

    Inputs x per `config.modality`:
      "pose" (default): a tensor, heatmaps `(B, T, C, 30, 30)` for model "la2ds", keypoints
          `(B, T, K, 3)` for "coords" (also accepted as {"pose": tensor}).
      "rgb": a tensor of RGB frames `(B, T, 3, S, S)` (uint8 0..255 or float [0, 1]), or {"rgb": tensor}.
      "rgb+pose": a dict {"pose": pose tensor, "rgb": rgb tensor} or a tuple (pose, rgb); same T.
      ("heatmaps" and "keypoints" are accepted as names of the pose entry.)

    Modules: `encoder` (the pose encoder; None for "rgb"), `rgb_encoder` (`RGBEncoder`; None for
    "pose"), `fuse` (Linear(2 * dim, dim), "rgb+pose" only: late fusion of the concatenated
    per-frame features [pose, rgb]), `cross`, `head`. The state-dict names of a pose model are
    those of before the modalities existed, and the encoders keep their names in every modality,
    so `load_encoder_weights` copies `encoder.*` / `rgb_encoder.*` between runs.
    """

    def __init__(self, config: ModelConfig) -> None:
        super().__init__()
        self.config = cfg = config
        self.encoder: nn.Module | None = None
        if cfg.uses_pose:
            self.encoder = VideoEncoder(cfg) if cfg.model == "la2ds" else CoordinateEncoder(cfg)
        self.rgb_encoder: RGBEncoder | None = RGBEncoder(cfg) if cfg.uses_rgb else None
        self.fuse: nn.Linear | None = nn.Linear(2 * cfg.dim, cfg.dim) if cfg.modality == "rgb+pose" else None
        self.cross: CrossAttention | None = CrossAttention(cfg) if cfg.cross_attention else None
        self.head: ProjectionHead | None = (
            ProjectionHead(cfg.dim, cfg.projection_hidden, cfg.projection_dim) if cfg.projection_head else None
        )

    @property
    def out_dim(self) -> int:
        return self.config.out_dim

    def split_input(self, x: ModelInput) -> tuple[Tensor | None, Tensor | None]:
        """(pose, rgb) tensors of an input for this modality (None where the modality does not use one)."""
        modality = self.config.modality
        pose = rgb = None
        if isinstance(x, Tensor):
            if modality == "rgb+pose":
                raise TypeError('modality "rgb+pose" needs {"pose": ..., "rgb": ...} (or a (pose, rgb) tuple), got a tensor')
            pose, rgb = (x, None) if modality == "pose" else (None, x)
        elif isinstance(x, Mapping):
            unknown = set(x) - {"pose", "heatmaps", "keypoints", "rgb"}
            if unknown:
                raise KeyError(f"unknown input entries {sorted(unknown)}: use 'pose' and 'rgb'")
            pose = next((x[k] for k in ("pose", "heatmaps", "keypoints") if k in x), None)
            rgb = x.get("rgb")
        elif isinstance(x, Sequence) and len(x) == 2:
            pose, rgb = x
        else:
            raise TypeError(f"model input must be a tensor, a dict or a (pose, rgb) tuple, got {type(x).__name__}")
        if self.config.uses_pose and pose is None:
            raise ValueError(f'modality {modality!r} needs the pose input ({{"pose": ...}})')
        if self.config.uses_rgb and rgb is None:
            raise ValueError(f'modality {modality!r} needs the RGB input ({{"rgb": ...}})')
        return (pose if self.config.uses_pose else None), (rgb if self.config.uses_rgb else None)

    def encode(self, x: ModelInput, mask: Tensor | None = None) -> Tensor:
        """Encoder(s) and, for "rgb+pose", the fusion layer, with gradients: -> (B, T, dim)."""
        pose, rgb = self.split_input(x)
        if self.fuse is None:
            return self.encoder(pose, mask) if pose is not None else self.rgb_encoder(rgb, mask)
        if pose.shape[:2] != rgb.shape[:2]:
            raise ValueError(f"pose {tuple(pose.shape[:2])} and RGB {tuple(rgb.shape[:2])} must have the same (B, T)")
        h = torch.cat([self.encoder(pose, mask), self.rgb_encoder(rgb, mask)], dim=-1)
        h = self.fuse(h)
        return h if mask is None else _zero_padded(h, mask.to(device=h.device, dtype=torch.bool))

    def project(self, h: Tensor, mask: Tensor | None = None) -> Tensor:
        if self.head is None:
            return h
        z = self.head(h)
        return z if mask is None else _zero_padded(z, mask.to(torch.bool))

    def forward(
        self, x1: ModelInput, mask1: Tensor | None, x2: ModelInput, mask2: Tensor | None
    ) -> tuple[Tensor, Tensor]:
        h1, h2 = self.encode(x1, mask1), self.encode(x2, mask2)
        if self.cross is not None:
            h1, h2 = self.cross(h1, mask1, h2, mask2)
        return self.project(h1, mask1), self.project(h2, mask2)

    @torch.no_grad()
    def embed(
        self, x: ModelInput, mask: Tensor | None = None, where: Literal["encoder", "projection"] = "encoder"
    ) -> Tensor:
        if where not in ("encoder", "projection"):
            raise ValueError(f"where must be 'encoder' or 'projection', got {where!r}")
        h = self.encode(x, mask)
        return h if where == "encoder" else self.project(h, mask)

    def count_parameters(self, trainable_only: bool = True) -> int:
        return sum(p.numel() for p in self.parameters() if p.requires_grad or not trainable_only)


def build_model(config: ModelConfig) -> AlignmentNet:
    return AlignmentNet(config)

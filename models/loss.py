"""Matching and loss of LA2DS (paper eq. 3 and 4), batched with padding masks.

For an original sequence z (M frames) and its augmented version z' (N frames) with known
correspondences i_gt(j) (the frame of z that frame j of z' comes from):

    omega_ij  = softmax over i of ( -||z_i - z'_j||_2 / lambda )        (eq. 3; lambda = 0.1)
    i_pred(j) = sum_i i * omega_ij                                     (soft nearest-neighbour index)
    loss      = mean over j of ( i_pred(j) - i_gt(j) )^2                (eq. 4)

Batching: padded frames i of z get logit -inf (weight 0); padded frames j of z' are left out of
the mean. Frame indices count from 0 within each sequence (padding is at the end).

Choices (documented deviations / options):
- The distance is the plain (not squared) Euclidean distance of the paper, computed as
  sqrt(max(|a|^2 + |b|^2 - 2 a.b, eps)) so that memory is O(B M N) and the gradient stays
  finite where two embeddings coincide.
- The loss is computed in float32, also under autocast.
- reduction "sequence" (default): the mean over j within each pair, then the mean over the pairs
  of the batch (each pair weighs the same, as in the paper's per-pair loss); "frame": one mean
  over every real j of the batch.
- normalize=False (default) is the paper's plain squared index error. normalize=True divides
  predicted and ground-truth indices by (M - 1), M the real length of z, so the loss is in units
  of the whole sequence and does not grow with its length (an option, not the paper's formula).
"""

from __future__ import annotations

from typing import Literal

import torch
from torch import Tensor

__all__ = ["alignment_loss", "pairwise_logits", "similarity_matrix"]

_EPS = 1e-12


def pairwise_logits(z: Tensor, z_aug: Tensor, temperature: float = 0.1) -> Tensor:
    """-||z_i - z'_j|| / temperature. z (B, M, P), z_aug (B, N, P) -> (B, M, N) float32."""
    if temperature <= 0:
        raise ValueError(f"temperature must be > 0, got {temperature}")
    a, b = z.float(), z_aug.float()
    sq = (a * a).sum(-1)[:, :, None] + (b * b).sum(-1)[:, None, :] - 2.0 * torch.bmm(a, b.transpose(1, 2))
    return -torch.sqrt(sq.clamp_min(_EPS)) / temperature


def _batched(x: Tensor, name: str, ndim: int) -> Tensor:
    if x.ndim == ndim - 1:
        return x[None]
    if x.ndim != ndim:
        raise ValueError(f"{name} has {x.ndim} dimensions, expected {ndim} (or {ndim - 1} unbatched)")
    return x


def _masked_logits(logits: Tensor, mask: Tensor | None) -> tuple[Tensor, Tensor]:
    """Padded i -> -inf. Returns (logits, has_frames (B,) bool); a z with no real frame keeps its
    logits finite (no NaN) and is reported by has_frames so that callers drop it."""
    b, m, _ = logits.shape
    if mask is None:
        return logits, torch.ones(b, dtype=torch.bool, device=logits.device)
    mask = mask.to(device=logits.device, dtype=torch.bool)
    if mask.shape != (b, m):
        raise ValueError(f"mask must be (B, M) = ({b}, {m}), got {tuple(mask.shape)}")
    has_frames = mask.any(dim=1)
    keep = mask | ~has_frames[:, None]
    return logits.masked_fill(~keep[:, :, None], float("-inf")), has_frames


def similarity_matrix(
    z: Tensor, z_aug: Tensor, temperature: float = 0.1, mask: Tensor | None = None
) -> Tensor:
    """The matching weights omega (eq. 3), for logging: z (B, M, P), z_aug (B, N, P) ->
    (B, M, N), each column j a distribution over the frames i of z (padded i get 0).
    Unbatched (M, P), (N, P) [mask (M,)] -> (M, N)."""
    unbatched = z.ndim == 2
    z, z_aug = _batched(z, "z", 3), _batched(z_aug, "z_aug", 3)
    if mask is not None:
        mask = _batched(mask, "mask", 2)
    logits, _ = _masked_logits(pairwise_logits(z, z_aug, temperature), mask)
    omega = torch.softmax(logits, dim=1)
    return omega[0] if unbatched else omega


def alignment_loss(
    z: Tensor,
    z_aug: Tensor,
    gt_index: Tensor,
    mask: Tensor | None = None,
    mask_aug: Tensor | None = None,
    temperature: float = 0.1,
    *,
    normalize: bool = False,
    reduction: Literal["sequence", "frame"] = "sequence",
) -> tuple[Tensor, Tensor]:
    """Contrastive-regression alignment loss (eq. 3, 4).

    z: (B, M, P) embeddings of the original sequences; z_aug: (B, N, P) of the augmented ones;
    gt_index: (B, N) int or float, i_gt(j) in 0..M-1 (anything at padded j);
    mask: (B, M) bool True = real frame of z, or None; mask_aug: (B, N) likewise for z_aug.
    Unbatched inputs ((M, P), (N, P), (N,), ...) are accepted too.

    Returns (loss, i_pred): loss a float32 scalar (differentiable); i_pred (B, N) float32, the soft
    predicted indices (eq. 4's i_pred, in [0, M_b - 1]; 0 at padded j), with gradients.
    Pairs with no real frame in z or z_aug are left out; if none is left the loss is 0 (still
    attached to the graph).
    """
    unbatched = z.ndim == 2
    z, z_aug = _batched(z, "z", 3), _batched(z_aug, "z_aug", 3)
    gt_index = _batched(gt_index, "gt_index", 2)
    if mask is not None:
        mask = _batched(mask, "mask", 2)
    if mask_aug is not None:
        mask_aug = _batched(mask_aug, "mask_aug", 2)
    b, m, _ = z.shape
    n = z_aug.shape[1]
    if z_aug.shape[0] != b or gt_index.shape != (b, n):
        raise ValueError(
            f"shapes disagree: z {tuple(z.shape)}, z_aug {tuple(z_aug.shape)}, gt_index {tuple(gt_index.shape)}"
        )
    if mask_aug is None:
        mask_aug = torch.ones(b, n, dtype=torch.bool, device=z.device)
    mask_aug = mask_aug.to(device=z.device, dtype=torch.bool)
    if mask_aug.shape != (b, n):
        raise ValueError(f"mask_aug must be (B, N) = ({b}, {n}), got {tuple(mask_aug.shape)}")

    with torch.autocast(device_type=z.device.type, enabled=False):
        logits, has_frames = _masked_logits(pairwise_logits(z, z_aug, temperature), mask)
        omega = torch.softmax(logits, dim=1)  # over i
        idx = torch.arange(m, device=z.device, dtype=torch.float32)
        i_pred = (omega * idx[None, :, None]).sum(dim=1)  # (B, N)

        gt = torch.where(mask_aug, gt_index.to(device=z.device, dtype=torch.float32), torch.zeros_like(i_pred))
        err = i_pred - gt
        if normalize:
            length = mask.sum(dim=1).float() if mask is not None else torch.full((b,), float(m), device=z.device)
            err = err / (length - 1.0).clamp_min(1.0)[:, None]
        valid_j = mask_aug & has_frames[:, None]
        sq = torch.where(valid_j, err.square(), torch.zeros_like(err))
        count = valid_j.sum(dim=1)
        if reduction == "sequence":
            pairs = count > 0
            per_pair = sq.sum(dim=1) / count.clamp_min(1)
            loss = per_pair[pairs].mean() if pairs.any() else sq.sum() * 0.0
        elif reduction == "frame":
            total = count.sum()
            loss = sq.sum() / total if total > 0 else sq.sum() * 0.0
        else:
            raise ValueError(f"reduction must be 'sequence' or 'frame', got {reduction!r}")

    i_pred = torch.where(mask_aug, i_pred, torch.zeros_like(i_pred))
    return loss, (i_pred[0] if unbatched else i_pred)

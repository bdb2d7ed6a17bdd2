"""Torch datasets over the heatmap cache: whole videos, and alignment pairs (S, S') for training.

    videos = CachedVideos("cache.zarr", "penn_action", action="squat", split="train")
    pairs = AlignmentPairs(videos, AugmentConfig(), seed=0)
    loader = make_loader(pairs, batch_size=64, shuffle=True, num_workers=2, seed=0)
    for epoch in range(epochs):
        pairs.set_epoch(epoch)            # before iterating: the loader reads it when an epoch starts
        for batch in loader: ...          # collate_pairs: padded tensors + masks

Items and batches
- `CachedVideos[i]`: one complete video, {"video_id", "heatmaps" (T, C, S, S) float32 in [0, 1],
  "keypoints" (T, K, 3) float32 grid coordinates, "phases" (T,) int64 (-1 unknown or absent),
  "action", "split", "frame_index" (T,) int64 (the frames' indices in the cached video)}.
  Values are exactly those of `storage.cache.read_video` (stored uint8 / 255 as float32).
- `max_frames`: a video longer than that keeps `max_frames` evenly spaced frames,
  `unique(rint(linspace(0, T - 1, max_frames)))` (first and last frame included); the
  keypoints, phases and heatmaps are subsampled alike and "frame_index" says which frames remain.
- `AlignmentPairs[i]`: S = video i (heatmaps and keypoints from the cache) and S' = the
  augmentation of S's keypoints (`pipeline.augment.augment`), keypoints only: the training loop
  renders S' heatmaps with `render_heatmaps_torch` on its device. "gt_index"[j] is the index in S
  of frame j of S'.
- `CachedVideos(..., raw_heatmaps=True)`: "heatmaps" stay uint8 as stored (value = stored / 255)
  through items and batches, 4x fewer bytes from the workers and to the GPU; the training loop
  turns them into floats on its device with `heatmaps_to_float` (a no-op on float heatmaps).
- `CachedVideos(..., rgb=True)` (RGB modalities): items also carry "rgb" (T, 3, S, S) uint8 (the
  cached RGB crops, S = the dataset's `rgb_size`), subsampled like the rest; `AlignmentPairs` then
  adds "aug_rgb" (N, 3, S, S) uint8: the RGB frames at the pose side's indices (gt_index),
  mirrored exactly when the pose side was flipped, with the brightness / contrast jitter of
  `pipeline.augment.rgb_jitter` (ranges from AugmentConfig: +-0.2 offset, x0.8..1.2 contrast). The
  jitter draws from its own generator `default_rng([seed, epoch, i, 1])`, so S' of the pose side
  is the same with or without RGB. A video without a cached "rgb" array is an error (CacheError).
- `collate_pairs` / `collate_videos` pad to the longest sequence of the batch (zeros; phases -1,
  gt_index 0) and add boolean masks, True = real frame.

Randomness. The augmentation of item i in epoch e uses `numpy.random.default_rng([seed, e, i])`:
the same (seed, epoch, index) gives the same S' whatever the worker or the number of workers, and
every epoch differs. `make_loader` shuffles with a torch.Generator seeded from (seed, epoch), so
the order of an epoch does not depend on the epochs before it (an exactly resumable run just
calls `set_epoch`). Because persistent workers hold their own copy of the dataset, the epoch reaches
them with each index: `make_loader`'s sampler yields (index, epoch) pairs for datasets with
`set_epoch`, read from the main process's dataset when the epoch's iteration starts.

Zarr and processes. Zarr 3 runs an asyncio I/O thread, which does not survive a fork. The datasets
hold only paths and plain lists when pickled; each process opens the store lazily on its first
`__getitem__` (and again if its process id changes). `make_loader` starts workers with the
"forkserver" context (never "fork"); the forkserver preloads this module (torch, zarr, numpy)
without opening any store, so starting a worker is a fork of an already-initialised process.
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
import zarr
from torch.utils.data import DataLoader, Dataset, Sampler, get_worker_info

from pipeline.augment import AugmentConfig
from pipeline.augment import augment as augment_keypoints
from pipeline.augment import flip_rgb, rgb_jitter
from pipeline.layouts import Layout, get_layout
from storage.cache import HEATMAP_SCALE, CacheError, child_groups, decode_heatmaps, open_cache, read_dataset_attrs

__all__ = [
    "CachedVideos", "AlignmentPairs", "EpochSampler", "collate_pairs", "collate_videos", "make_loader",
    "subsample_indices", "heatmaps_to_float",
]


def subsample_indices(num_frames: int, max_frames: int | None) -> np.ndarray:
    """Frames kept of a video of `num_frames`: all, or `max_frames` evenly spaced ones (int64, sorted, unique).

    `unique(rint(linspace(0, T - 1, max_frames)))`: the first and last frames are always kept.
    """
    if max_frames is None or num_frames <= max_frames:
        return np.arange(num_frames, dtype=np.int64)
    if max_frames < 1:
        raise ValueError(f"max_frames must be at least 1, got {max_frames}")
    return np.unique(np.rint(np.linspace(0, num_frames - 1, max_frames)).astype(np.int64))


class CachedVideos(Dataset):
    """One item per complete video of a cached dataset, optionally filtered by action and split.

    cache: the Zarr cache path; dataset: its dataset group (e.g. "penn_action"); action / split:
    keep only videos with these attrs (None = all); max_frames: subsample longer videos to that
    many evenly spaced frames (see `subsample_indices`); raw_heatmaps: items (and batches) carry
    the heatmaps as stored, uint8 with value = stored / 255, a quarter of the bytes to move between
    processes and to the GPU; the training loop decodes them on its device with `heatmaps_to_float`.
    rgb: items also carry "rgb" (T, 3, S, S) uint8, the cached RGB frames (CacheError if a video has none).
    The listing (complete videos only, sorted by id) is read once here; items are read lazily, the
    store being opened in each process on its first item.

    Attributes: video_ids, actions, splits, n_frames (cached frame counts, before max_frames),
    layout (pipeline.layouts.Layout), size (heatmap side S), num_channels (C = K + L), attrs (the
    dataset group's attrs).
    """

    def __init__(
        self,
        cache: str | Path,
        dataset: str,
        action: str | None = None,
        split: str | None = None,
        max_frames: int | None = None,
        raw_heatmaps: bool = False,
        rgb: bool = False,
    ):
        if max_frames is not None and max_frames < 1:
            raise ValueError(f"max_frames must be at least 1, got {max_frames}")
        self.cache = Path(cache)
        self.dataset = dataset
        self.action = action
        self.split = split
        self.max_frames = max_frames
        self.raw_heatmaps = raw_heatmaps
        self.rgb = bool(rgb)
        self.attrs: dict[str, Any] = read_dataset_attrs(self.cache, dataset)
        self.layout: Layout = get_layout(self.attrs["layout"])
        self.size: int = int(self.attrs["size"])
        self.num_channels: int = len(self.attrs.get("channels") or ()) or self.layout.num_channels
        self.rgb_size: int = int(self.attrs.get("rgb_size", 64))

        listing = _complete_videos(self.cache, dataset)  # video_id -> attrs, complete only
        if action is not None and not any(a.get("action") == action for a in listing.values()):
            known = sorted({str(a.get("action")) for a in listing.values()})
            raise CacheError(f"{self.cache}/{dataset}: no video of action {action!r} (has: {', '.join(known) or 'none'})")
        kept = [
            (vid, a) for vid, a in sorted(listing.items())
            if (action is None or a.get("action") == action) and (split is None or a.get("split") == split)
        ]
        self.video_ids: list[str] = [vid for vid, _ in kept]
        self.actions: list[str] = [a.get("action") for _, a in kept]
        self.splits: list[str | None] = [a.get("split") for _, a in kept]
        self.n_frames: list[int] = [int(a.get("n_frames", 0)) for _, a in kept]
        self._handles: dict[str, tuple] = {}
        self._pid: int | None = None

    def __len__(self) -> int:
        return len(self.video_ids)

    def __repr__(self) -> str:
        return (f"CachedVideos({str(self.cache)!r}, {self.dataset!r}, action={self.action!r}, split={self.split!r}, "
                f"max_frames={self.max_frames}, raw_heatmaps={self.raw_heatmaps}, rgb={self.rgb}: {len(self)} videos)")

    # Pickled into worker processes without any Zarr object.
    def __getstate__(self) -> dict:
        state = self.__dict__.copy()
        state["_handles"], state["_pid"] = {}, None
        return state

    def _arrays(self, video_id: str) -> tuple:
        """(heatmaps, keypoints, phases or None, rgb or None) Zarr arrays of one video, opened once per process."""
        if self._pid != os.getpid():  # first use in this process (or a forked copy): open afresh
            self._handles, self._pid = {}, os.getpid()
        handles = self._handles.get(video_id)
        if handles is None:
            group = zarr.open_group(self.cache / self.dataset / video_id, mode="r")
            if group.attrs.get("complete") is not True:
                raise CacheError(f"{self.cache}/{self.dataset}/{video_id}: incomplete (rewritten since the listing?)")
            arrays = dict(group.arrays())
            handles = (arrays["heatmaps"], arrays["keypoints"], arrays.get("phases"), arrays.get("rgb"))
            self._handles[video_id] = handles
        return handles

    def read(self, i: int) -> dict[str, Any]:
        """Item i as numpy arrays: heatmaps uint8 as stored (T, C, S, S), keypoints float32, phases int64
        (and rgb uint8 (T, 3, S, S) when `rgb`)."""
        video_id = self.video_ids[i]
        heatmaps_z, keypoints_z, phases_z, rgb_z = self._arrays(video_id)
        heatmaps, keypoints = heatmaps_z[...], keypoints_z[...]
        num_frames = heatmaps.shape[0]
        phases = phases_z[...].astype(np.int64) if phases_z is not None else np.full(num_frames, -1, dtype=np.int64)
        index = subsample_indices(num_frames, self.max_frames)
        if len(index) < num_frames:
            heatmaps, keypoints, phases = heatmaps[index], keypoints[index], phases[index]
        item = {
            "video_id": video_id, "heatmaps": heatmaps, "keypoints": np.asarray(keypoints, dtype=np.float32),
            "phases": phases, "action": self.actions[i], "split": self.splits[i], "frame_index": index,
        }
        if self.rgb:
            if rgb_z is None:
                raise CacheError(f"{self.cache}/{self.dataset}/{video_id}: no RGB frames in the cache "
                                 "(preprocess with the videos' RGB source to train or embed an RGB modality)")
            if rgb_z.shape[0] != num_frames:
                raise CacheError(f"{self.cache}/{self.dataset}/{video_id}: {rgb_z.shape[0]} RGB frames but "
                                 f"{num_frames} pose frames")
            rgb = rgb_z[...] if len(index) == num_frames else rgb_z.get_orthogonal_selection((index,))
            item["rgb"] = np.ascontiguousarray(rgb, dtype=np.uint8)
        return item

    def __getitem__(self, i: int) -> dict[str, Any]:
        item = self.read(int(i))
        heatmaps = torch.from_numpy(item["heatmaps"] if self.raw_heatmaps else decode_heatmaps(item["heatmaps"]))
        out = {
            "video_id": item["video_id"],
            "heatmaps": heatmaps,
            "keypoints": torch.from_numpy(item["keypoints"]),
            "phases": torch.from_numpy(item["phases"]),
            "action": item["action"],
            "split": item["split"],
            "frame_index": torch.from_numpy(item["frame_index"]),
        }
        if "rgb" in item:
            out["rgb"] = torch.from_numpy(item["rgb"])
        return out


def heatmaps_to_float(heatmaps: torch.Tensor) -> torch.Tensor:
    """Batch or item heatmaps as float in [0, 1] on their device: uint8 (raw_heatmaps) / 255, float unchanged."""
    if heatmaps.dtype != torch.uint8:
        return heatmaps
    if heatmaps.device.type == "cpu":  # numpy: one pass, huge pages (see decode_heatmaps)
        return torch.from_numpy(decode_heatmaps(heatmaps.numpy()))
    return heatmaps.to(torch.float32).div_(HEATMAP_SCALE)


def _complete_videos(cache: Path, dataset: str) -> dict[str, dict[str, Any]]:
    """video_id -> attrs of every complete video group of a dataset (as `storage.cache.list_videos` sees them)."""
    root = open_cache(cache)
    group = root[dataset]
    return {name: dict(video.attrs) for name, video in child_groups(group) if video.attrs.get("complete") is True}


class AlignmentPairs(Dataset):
    """Each item: an original sequence S (heatmaps from the cache) and an augmented S' (keypoints only;
    the training loop renders S' heatmaps with the batched torch renderer on its device) with the
    ground-truth index of every frame of S' in S.

    Item: {"video_id", "heatmaps" (M, C, S, S) float32, "keypoints" (M, K, 3) float32,
    "aug_keypoints" (N, K, 3) float32, "gt_index" (N,) int64 (sorted, in [0, M)), "flipped" bool}.
    With `CachedVideos(..., rgb=True)` also "rgb" (M, 3, R, R) uint8, "aug_rgb" (N, 3, R, R) uint8
    (rgb[gt_index], flipped with the pose, brightness / contrast jitter: see the module docstring)
    and "rgb_jitter" {"brightness", "contrast"} (the values drawn).
    The augmentation of item i is drawn from `numpy.random.default_rng([seed, epoch, i])`.
    An index may also be an (i, epoch) pair (what `make_loader` passes, so that persistent workers
    follow `set_epoch` of the main process).
    """

    def __init__(self, videos: CachedVideos, augment: AugmentConfig | None = None, seed: int = 0):
        if seed < 0:
            raise ValueError(f"seed must be >= 0, got {seed}")
        self.videos = videos
        self.config = augment if augment is not None else AugmentConfig()
        self.seed = int(seed)
        self.epoch = 0
        self.layout: Layout = videos.layout
        self.size: int = videos.size
        self.num_channels: int = videos.num_channels
        self.video_ids = videos.video_ids

    def set_epoch(self, epoch: int) -> None:
        if epoch < 0:
            raise ValueError(f"epoch must be >= 0, got {epoch}")
        self.epoch = int(epoch)

    def __len__(self) -> int:
        return len(self.videos)

    def rng(self, i: int, epoch: int | None = None) -> np.random.Generator:
        """The generator of item i's augmentation in `epoch` (default: the current one)."""
        return np.random.default_rng([self.seed, self.epoch if epoch is None else int(epoch), int(i)])

    def __getitem__(self, key: int | tuple[int, int]) -> dict[str, Any]:
        i, epoch = (int(key[0]), int(key[1])) if isinstance(key, (tuple, list)) else (int(key), self.epoch)
        video = self.videos[i]
        augmented = augment_keypoints(video["keypoints"].numpy(), self.layout, self.rng(i, epoch), self.config, self.size)
        flipped = bool(augmented.applied.get("flip", False))
        item = {
            "video_id": video["video_id"],
            "heatmaps": video["heatmaps"],
            "keypoints": video["keypoints"],
            "aug_keypoints": torch.from_numpy(np.ascontiguousarray(augmented.keypoints, dtype=np.float32)),
            "gt_index": torch.from_numpy(np.ascontiguousarray(augmented.gt_index, dtype=np.int64)),
            "flipped": flipped,
        }
        if "rgb" in video:
            frames = video["rgb"].numpy()[augmented.gt_index]  # the pose side's frames
            if flipped:
                frames = flip_rgb(frames)
            rgb_rng = np.random.default_rng([self.seed, epoch, i, 1])  # apart from the pose side's draws
            frames, params = rgb_jitter(frames, rgb_rng, self.config.brightness, self.config.contrast)
            item["rgb"] = video["rgb"]
            item["aug_rgb"] = torch.from_numpy(np.ascontiguousarray(frames))
            item["rgb_jitter"] = params
        return item


# --------------------------------------------------------------------------------------------
# Collation: pad to the longest sequence of the batch
# --------------------------------------------------------------------------------------------


def _padded(tensors: Sequence[torch.Tensor], fill: float | int | bool = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """Stack (T_b, ...) tensors into (B, max T, ...) filled with `fill` past each length; and the (B, max T) mask.

    In a DataLoader worker the batch is allocated in shared memory (as torch's default_collate does),
    which saves a copy when it is sent to the main process.
    """
    first = tensors[0]
    length = max(t.shape[0] for t in tensors)
    shape = (len(tensors), length, *first.shape[1:])
    if get_worker_info() is not None:
        storage = first._typed_storage()._new_shared(int(np.prod(shape)), device=first.device)
        out = first.new(storage).resize_(shape)
    else:  # numpy's allocation (huge pages for large arrays) is much cheaper to touch than torch's
        out = torch.from_numpy(np.empty(shape, dtype=torch.empty((), dtype=first.dtype).numpy().dtype))
    mask = torch.zeros((len(tensors), length), dtype=torch.bool)
    for b, t in enumerate(tensors):
        out[b, : t.shape[0]] = t
        out[b, t.shape[0] :] = fill
        mask[b, : t.shape[0]] = True
    return out, mask


def collate_pairs(items: list[dict]) -> dict[str, Any]:
    """AlignmentPairs items -> "heatmaps" (B, M, C, S, S), "mask" (B, M) bool (True = real frame),
    "keypoints" (B, M, K, 3), "aug_keypoints" (B, N, K, 3) (padding: zeros, so c = 0),
    "aug_mask" (B, N) bool, "gt_index" (B, N) long (0 where padded), "video_ids" list[str],
    "lengths" (B,) and "aug_lengths" (B,) long; with RGB items also "rgb" (B, M, 3, R, R) and
    "aug_rgb" (B, N, 3, R, R) uint8 (zeros where padded)."""
    heatmaps, mask = _padded([it["heatmaps"] for it in items], 0.0)
    keypoints, _ = _padded([it["keypoints"] for it in items], 0.0)
    aug_keypoints, aug_mask = _padded([it["aug_keypoints"] for it in items], 0.0)
    gt_index, _ = _padded([it["gt_index"] for it in items], 0)
    batch = {
        "heatmaps": heatmaps, "mask": mask, "keypoints": keypoints,
        "aug_keypoints": aug_keypoints, "aug_mask": aug_mask, "gt_index": gt_index,
        "video_ids": [it["video_id"] for it in items],
        "lengths": mask.sum(1), "aug_lengths": aug_mask.sum(1),
    }
    if "rgb" in items[0]:
        batch["rgb"], _ = _padded([it["rgb"] for it in items], 0)
        batch["aug_rgb"], _ = _padded([it["aug_rgb"] for it in items], 0)
    return batch


def collate_videos(items: list[dict]) -> dict[str, Any]:
    """CachedVideos items -> "heatmaps" (B, T, C, S, S), "keypoints" (B, T, K, 3) (zeros where padded),
    "phases" (B, T) long (-1 where padded), "mask" (B, T) bool, "video_ids", "actions", "splits", "lengths";
    "rgb" (B, T, 3, R, R) uint8 (zeros where padded) when the items have it."""
    heatmaps, mask = _padded([it["heatmaps"] for it in items], 0.0)
    keypoints, _ = _padded([it["keypoints"] for it in items], 0.0)
    phases, _ = _padded([it["phases"] for it in items], -1)
    extra = {"rgb": _padded([it["rgb"] for it in items], 0)[0]} if "rgb" in items[0] else {}
    return {**extra,
        "heatmaps": heatmaps, "keypoints": keypoints, "phases": phases, "mask": mask,
        "video_ids": [it["video_id"] for it in items],
        "actions": [it.get("action") for it in items], "splits": [it.get("split") for it in items],
        "lengths": mask.sum(1),
    }


# --------------------------------------------------------------------------------------------
# Loader
# --------------------------------------------------------------------------------------------


def _epoch_seed(seed: int, epoch: int) -> int:
    return int(np.random.SeedSequence([seed, epoch, 0x5A3F]).generate_state(1, np.uint64)[0] >> 1)


class EpochSampler(Sampler):
    """Indices of one epoch: in order, or a permutation from a torch.Generator seeded by (seed, epoch).

    The epoch is the dataset's `epoch` attribute (AlignmentPairs.set_epoch) when it has one, read
    when the epoch's iteration starts; then the sampler yields (index, epoch) pairs so that worker
    processes (which hold their own copy of the dataset) augment for that epoch. For a dataset
    without `set_epoch`, the epoch is the number of passes made so far.
    """

    def __init__(self, dataset: Dataset, shuffle: bool, seed: int = 0):
        self.dataset = dataset
        self.shuffle = shuffle
        self.seed = int(seed)
        self.epoch_aware = callable(getattr(dataset, "set_epoch", None)) and hasattr(dataset, "epoch")
        self.passes = 0

    def __len__(self) -> int:
        return len(self.dataset)

    def __iter__(self) -> Iterator:
        epoch = int(self.dataset.epoch) if self.epoch_aware else self.passes
        self.passes += 1
        n = len(self.dataset)
        if self.shuffle:
            generator = torch.Generator()
            generator.manual_seed(_epoch_seed(self.seed, epoch))
            order = torch.randperm(n, generator=generator).tolist()
        else:
            order = list(range(n))
        for i in order:
            yield (i, epoch) if self.epoch_aware else i


def make_loader(
    dataset: Dataset,
    batch_size: int,
    shuffle: bool,
    num_workers: int = 0,
    collate_fn: Callable = collate_pairs,
    seed: int = 0,
    *,
    drop_last: bool = False,
    pin_memory: bool = False,
    prefetch_factor: int | None = None,
    multiprocessing_context: str = "forkserver",
    preload: bool = True,
) -> DataLoader:
    """A DataLoader over CachedVideos / AlignmentPairs with reproducible order and augmentation.

    num_workers > 0: worker processes from the "forkserver" (or "spawn") context, kept alive across
    epochs (persistent_workers); with `preload` the forkserver imports this module first, so a
    worker starts by forking an initialised interpreter (only when the forkserver is not running
    yet). Shuffling: `EpochSampler` (a torch.Generator seeded by (seed, epoch)). The batches are the
    same for any num_workers.
    """
    if multiprocessing_context not in ("forkserver", "spawn"):
        raise ValueError("Zarr stores do not survive fork: use multiprocessing_context 'forkserver' or 'spawn'")
    generator = torch.Generator()
    generator.manual_seed(int(seed))
    options: dict[str, Any] = {}
    if num_workers > 0:
        context = multiprocessing.get_context(multiprocessing_context)
        if preload and multiprocessing_context == "forkserver":
            context.set_forkserver_preload(["__main__", "storage.dataset"])
        options = {"multiprocessing_context": context, "persistent_workers": True}
        if prefetch_factor is not None:
            options["prefetch_factor"] = prefetch_factor
    return DataLoader(
        dataset,
        batch_size=batch_size,
        sampler=EpochSampler(dataset, shuffle, seed),
        num_workers=num_workers,
        collate_fn=collate_fn,
        pin_memory=pin_memory,
        drop_last=drop_last,
        generator=generator,
        **options,
    )

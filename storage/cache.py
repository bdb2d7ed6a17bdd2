"""The Zarr v3 heatmap cache: layout, writing one video, reading, status. The only module that opens Zarr.

Contract (see docs/cache.md; a change bumps SCHEMA):

    <cache>.zarr/                attrs: schema
      <dataset>/                 attrs: layout, joints, limbs, channels, size, sigma, margin,
                                        renderer_version, source_kind, source_options, convention
        <video_id>/              attrs: action, split, n_frames, crop_box, grid_mapping,
                                        source_path, source_sha256, params_hash, warnings, complete
          heatmaps  (T, K+L, S, S) uint8, value = stored / 255 (attrs scale_factor), joints then limbs
          keypoints (T, K, 3) float32, x, y in heatmap pixel coordinates, confidence
          phases    (T,) int16, -1 where unknown (only when the source has labels)
          rgb       (T, 3, H, W) uint8 RGB crops (only when preprocessed with an RGB root); video attrs
                    rgb_source, rgb_crop, rgb_frames, rgb_frame_policy; dataset attrs rgb_size

Heatmaps are stored as uint8 (rounded value * 255: at most 0.5/255 from the float32 render),
Blosc zstd level 5, no shuffle, chunks of 64 frames: measured on real Penn Action videos
(benchmarks/cache_codecs.py) about 1 kB per 27-channel frame against 3.4 kB for float16.

Writing protocol (one writer per video group): the group is created with complete = false,
arrays are written, then `complete` is set true in one atomic metadata write. A group whose
`complete` is not true does not exist for readers, and the next run redoes it.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import zarr
from zarr.codecs import BloscCodec

SCHEMA = "la2ds-cache/1"
HEATMAP_SCALE = 255
CHUNK_FRAMES = 64
_COMPRESSORS = (BloscCodec(cname="zstd", clevel=5, shuffle="noshuffle"),)


class CacheError(RuntimeError):
    """A cache that cannot be used (wrong schema, missing dataset or video)."""


@dataclass
class CachedVideo:
    """One complete video read back from the cache.

    heatmaps: (T, K+L, S, S) float32 in [0, 1]; keypoints: (T, K, 3) float32 grid coordinates;
    phases: (T,) int16 or None; rgb: (T, 3, H, W) uint8 RGB crops or None (cached without RGB).
    """

    video_id: str
    heatmaps: np.ndarray
    keypoints: np.ndarray
    phases: np.ndarray | None
    attrs: dict[str, Any]
    rgb: np.ndarray | None = None


@dataclass
class VideoStatus:
    """What a run needs to know of a cached video to decide whether to redo it."""

    complete: bool
    source_sha256: str | None
    params_hash: str | None
    n_frames: int = 0


def open_cache(cache: str | Path, mode: str = "r") -> zarr.Group:
    """Open (mode "r") or create/open for writing (mode "a") the cache root group."""
    cache = Path(cache)
    if mode == "r":
        if not cache.exists():
            raise CacheError(f"{cache}: no cache here")
        root = zarr.open_group(cache, mode="r")
    else:
        root = zarr.open_group(cache, mode="a", zarr_format=3)
        if "schema" not in root.attrs:
            root.attrs["schema"] = SCHEMA
    schema = root.attrs.get("schema")
    if schema != SCHEMA:
        raise CacheError(f"{cache}: cache schema {schema!r}, this version reads {SCHEMA!r}")
    return root


def write_dataset_attrs(cache: str | Path, dataset: str, attrs: dict[str, Any]) -> None:
    """Create the dataset group if needed and set these attrs, keeping any others (e.g. phase labels).

    Run by the driver, before any video task."""
    root = open_cache(cache, mode="a")
    group = root.require_group(dataset)
    if any(group.attrs.get(key) != value for key, value in attrs.items()):
        group.attrs.update(attrs)


def read_dataset_attrs(cache: str | Path, dataset: str) -> dict[str, Any]:
    return dict(_dataset_group(open_cache(cache), cache, dataset).attrs)


def _dataset_group(root: zarr.Group, cache: str | Path, dataset: str) -> zarr.Group:
    try:
        group = root[dataset]
    except KeyError:
        raise CacheError(f"{cache}: no dataset {dataset!r} (has: {', '.join(list_datasets(cache)) or 'none'})") from None
    if not isinstance(group, zarr.Group):
        raise CacheError(f"{cache}/{dataset} is not a group")
    return group


def child_groups(group: zarr.Group) -> list[tuple[str, zarr.Group]]:
    """The child groups, read while writers may be at work: their in-flight temporary files
    (`*.partial`, renamed into place when complete) are not part of the hierarchy, so Zarr's warning
    about them is silenced."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=r"Object at .*\.partial is not recognized")
        return list(group.groups())


def list_datasets(cache: str | Path) -> list[str]:
    return sorted(name for name, _ in child_groups(open_cache(cache)))


def video_statuses(cache: str | Path, dataset: str) -> dict[str, VideoStatus]:
    """Every video group of a dataset (complete or not) with its completion flag and fingerprints."""
    if not (Path(cache) / "zarr.json").exists():  # no cache yet (or only the folder a writer just locked)
        return {}
    root = open_cache(cache)
    if dataset not in root:
        return {}
    statuses = {}
    for name, group in child_groups(_dataset_group(root, cache, dataset)):
        attrs = group.attrs
        statuses[name] = VideoStatus(
            complete=attrs.get("complete") is True,
            source_sha256=attrs.get("source_sha256"),
            params_hash=attrs.get("params_hash"),
            n_frames=int(attrs.get("n_frames") or 0),
        )
    return statuses


def list_videos(cache: str | Path, dataset: str) -> list[str]:
    """Ids of the complete videos of a dataset (incomplete ones do not exist for readers)."""
    return sorted(vid for vid, status in video_statuses(cache, dataset).items() if status.complete)


def encode_heatmaps(heatmaps: np.ndarray) -> np.ndarray:
    """(T, C, S, S) float in [0, 1] -> uint8 as stored (round(value * 255))."""
    return np.clip(np.rint(heatmaps * HEATMAP_SCALE), 0, HEATMAP_SCALE).astype(np.uint8)


def decode_heatmaps(stored: np.ndarray) -> np.ndarray:
    """Stored uint8 heatmaps -> float32 in [0, 1], value = stored / 255 (what `read_video` returns).

    One numpy pass (cast and divide in the same loop); numpy allocates large arrays on transparent
    huge pages, which makes this several times faster than the same in torch on a loaded CPU.
    """
    return np.divide(stored, np.float32(HEATMAP_SCALE), dtype=np.float32)


def write_video(
    cache: str | Path,
    dataset: str,
    video_id: str,
    heatmaps: np.ndarray,
    keypoints: np.ndarray,
    phases: np.ndarray | None,
    attrs: dict[str, Any],
    rgb: np.ndarray | None = None,
) -> int:
    """Replace one video group; returns the bytes written (compressed heatmaps + keypoints + phases + rgb).

    heatmaps: (T, C, S, S) float32 in [0, 1]; keypoints: (T, K, 3) float32; phases: (T,) or None;
    rgb: (T, 3, H, W) uint8 RGB crops or None (its attrs rgb_source, rgb_crop, ... come in `attrs`).
    Only one writer may handle a given video at a time (the caller's batching guarantees it).
    """
    num_frames = heatmaps.shape[0]
    if rgb is not None and (rgb.dtype != np.uint8 or rgb.ndim != 4 or rgb.shape[:2] != (num_frames, 3)):
        raise ValueError(f"rgb must be ({num_frames}, 3, H, W) uint8, got {rgb.shape} {rgb.dtype}")
    dataset_group = zarr.open_group(Path(cache) / dataset, mode="r+")
    group = dataset_group.create_group(video_id, overwrite=True, attributes={**attrs, "complete": False})
    chunk = min(CHUNK_FRAMES, num_frames)
    hm = group.create_array(
        "heatmaps", shape=heatmaps.shape, dtype="uint8", chunks=(chunk, *heatmaps.shape[1:]),
        compressors=_COMPRESSORS, dimension_names=("time", "channel", "row", "col"),
        attributes={"scale_factor": 1 / HEATMAP_SCALE, "valid_range": [0, HEATMAP_SCALE],
                    "description": "joint then limb Gaussian maps; value = stored * scale_factor"},
    )
    hm[...] = encode_heatmaps(heatmaps)
    kp = group.create_array(
        "keypoints", shape=keypoints.shape, dtype="float32", chunks=(min(1024, num_frames), *keypoints.shape[1:]),
        compressors=_COMPRESSORS, dimension_names=("time", "joint", "coord"),
        attributes={"coords": ["x (column)", "y (row)", "confidence"], "units": "heatmap pixels"},
    )
    kp[...] = keypoints.astype(np.float32)
    arrays = [hm, kp]
    if phases is not None:
        ph = group.create_array(
            "phases", shape=phases.shape, dtype="int16", chunks=(min(4096, num_frames),),
            compressors=_COMPRESSORS, dimension_names=("time",), fill_value=-1,
            attributes={"description": "per-frame phase label, -1 where unknown"},
        )
        ph[...] = phases.astype(np.int16)
        arrays.append(ph)
    if rgb is not None:
        im = group.create_array(
            "rgb", shape=rgb.shape, dtype="uint8", chunks=(chunk, *rgb.shape[1:]),
            compressors=_COMPRESSORS, dimension_names=("time", "channel", "row", "col"),
            attributes={"channels": ["red", "green", "blue"],
                        "description": "RGB frame cropped to the square around the pose crop box (rgb_crop), resized"},
        )
        im[...] = rgb
        arrays.append(im)
    group.attrs["complete"] = True
    return sum(int(a.nbytes_stored()) for a in arrays)


def remove_partial_writes(cache: str | Path) -> int:
    """Delete the temporary `*.partial` files a killed writer can leave (Zarr's local store writes a
    temporary file, then renames it). Only while holding the cache's write lock. Returns how many."""
    removed = 0
    for path in Path(cache).rglob("*.partial"):
        path.unlink(missing_ok=True)
        removed += 1
    return removed


def delete_video(cache: str | Path, dataset: str, video_id: str) -> None:
    dataset_group = zarr.open_group(Path(cache) / dataset, mode="r+")
    if video_id in dataset_group:
        del dataset_group[video_id]


def read_video(cache: str | Path, dataset: str, video_id: str) -> CachedVideo:
    """Read one complete video; raises CacheError if it is absent or incomplete."""
    dataset_group = _dataset_group(open_cache(cache), cache, dataset)
    try:
        group = dataset_group[video_id]
    except KeyError:
        raise CacheError(f"{cache}/{dataset}: no video {video_id!r}") from None
    if group.attrs.get("complete") is not True:
        raise CacheError(f"{cache}/{dataset}/{video_id}: incomplete (an interrupted run); run preprocessing again")
    heatmaps = decode_heatmaps(group["heatmaps"][...])
    phases = group["phases"][...] if "phases" in group else None
    rgb = group["rgb"][...] if "rgb" in group else None
    return CachedVideo(video_id, heatmaps, group["keypoints"][...], phases, dict(group.attrs), rgb=rgb)


def open_video_group(cache: str | Path, dataset: str, video_id: str) -> zarr.Group:
    """The raw Zarr group of one video, read-only (for inspection)."""
    return zarr.open_group(Path(cache) / dataset / video_id, mode="r")

"""The per-frame embeddings store (Zarr v3) written by `la2ds embed` (`models.embed.embed`).

    <out>.zarr/                   attrs: schema = "la2ds-embeddings/1", run_dir, checkpoint_epoch,
                                         model, where, dataset, action, cache, complete, ...
      <video_id>/                 attrs: action, split, n_frames, dim
        embeddings  (T, D) float32   frozen per-frame embeddings, dimension_names (time, feature)
        phases      (T,)  int16      copied from the cache (-1 where unknown)

`complete` on the root is false while the store is being written and true once every video is in.
Creating a store over an existing one replaces it; any other existing, non-empty path is refused
(so that a typo cannot wipe a heatmap cache).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import zarr

SCHEMA = "la2ds-embeddings/1"

__all__ = ["SCHEMA", "EmbeddedVideo", "create_store", "finish_store", "read_embeddings", "read_store_attrs",
           "write_embeddings"]


@dataclass
class EmbeddedVideo:
    video_id: str
    embeddings: np.ndarray  # (T, D) float32
    phases: np.ndarray | None  # (T,) int16
    attrs: dict[str, Any]


def _is_store(path: Path) -> bool:
    try:
        return zarr.open_group(path, mode="r").attrs.get("schema") == SCHEMA
    except Exception:  # not a Zarr group at all
        return False


def create_store(out: str | Path, attrs: dict[str, Any]) -> None:
    """Create an empty embeddings store at `out` with root attrs (plus schema, complete = false).

    An existing embeddings store there is replaced; any other non-empty file or folder raises
    FileExistsError."""
    out = Path(out)
    if out.exists() and not _is_store(out) and (out.is_file() or any(out.iterdir())):
        raise FileExistsError(f"{out} exists and is not an embeddings store ({SCHEMA}); refusing to overwrite it")
    root = zarr.open_group(out, mode="w", zarr_format=3)
    root.attrs.put({**attrs, "schema": SCHEMA, "complete": False})


def write_embeddings(
    out: str | Path,
    video_id: str,
    embeddings: np.ndarray,
    phases: np.ndarray | None,
    attrs: dict[str, Any],
) -> None:
    """Write one video's group: embeddings (T, D) float32, phases (T,) int16 (if given), attrs.
    The store must exist (`create_store`); an existing group of that video is replaced."""
    embeddings = np.ascontiguousarray(embeddings, dtype=np.float32)
    if embeddings.ndim != 2:
        raise ValueError(f"{video_id}: embeddings must be (T, D), got {embeddings.shape}")
    t, d = embeddings.shape
    root = zarr.open_group(Path(out), mode="r+")
    if root.attrs.get("schema") != SCHEMA:
        raise ValueError(f"{out}: not an embeddings store (create_store first)")
    group = root.create_group(video_id, overwrite=True)
    group.create_array("embeddings", data=embeddings, chunks=(max(min(t, 1024), 1), d),
                       dimension_names=("time", "feature"))
    if phases is not None:
        phases = np.asarray(phases)
        if phases.shape != (t,):
            raise ValueError(f"{video_id}: phases must be ({t},), got {phases.shape}")
        group.create_array("phases", data=phases.astype(np.int16), chunks=(max(t, 1),), dimension_names=("time",))
    group.attrs.put({**attrs, "n_frames": int(t), "dim": int(d)})


def finish_store(out: str | Path, attrs: dict[str, Any] | None = None) -> None:
    """Set complete = true (and any further root attrs) once every video is written."""
    root = zarr.open_group(Path(out), mode="r+")
    root.attrs.update({**(attrs or {}), "complete": True})


def read_store_attrs(out: str | Path) -> dict[str, Any]:
    root = zarr.open_group(Path(out), mode="r")
    if root.attrs.get("schema") != SCHEMA:
        raise ValueError(f"{out}: not an embeddings store ({SCHEMA})")
    return dict(root.attrs)


def read_embeddings(out: str | Path) -> dict[str, EmbeddedVideo]:
    """Every video of a store, sorted by id: video_id -> EmbeddedVideo."""
    root = zarr.open_group(Path(out), mode="r")
    if root.attrs.get("schema") != SCHEMA:
        raise ValueError(f"{out}: not an embeddings store ({SCHEMA})")
    videos = {}
    for name, group in sorted(root.groups()):
        arrays = dict(group.arrays())
        phases = arrays["phases"][...] if "phases" in arrays else None
        videos[name] = EmbeddedVideo(name, arrays["embeddings"][...], phases, dict(group.attrs))
    return videos

"""Look at a cache: a text description (tree, counts, shapes, dtypes, bytes, attrs, value ranges)
and a PNG montage of one video's heatmaps with the skeleton drawn on top."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from storage import cache as zcache


def _array_line(name: str, array) -> str:
    data = array[...]
    values = f"range [{data.min():.4g}, {data.max():.4g}]" if data.size else "empty"
    return (f"    {name:<10} {str(array.shape):<20} {str(array.dtype):<8} chunks {array.chunks} "
            f"stored {array.nbytes_stored():,} B of {array.nbytes:,} B  {values}")


def _video_lines(cache: Path, dataset: str, video_id: str, full: bool) -> list[str]:
    group = zcache.open_video_group(cache, dataset, video_id)
    attrs = dict(group.attrs)
    state = "complete" if attrs.get("complete") is True else "INCOMPLETE (invisible to readers)"
    lines = [f"  {video_id}: {attrs.get('n_frames')} frames, action {attrs.get('action')}, "
             f"split {attrs.get('split')}, {state}"]
    if full:
        lines += [f"    @{key}: {value}" for key, value in sorted(attrs.items())]
        lines += [_array_line(name, array) for name, array in sorted(group.arrays())]
    return lines


def describe(cache: str | Path, target: str | None = None) -> str:
    """Text report of the whole cache, one dataset ("penn_action") or one video ("penn_action/0001")."""
    cache = Path(cache)
    root = zcache.open_cache(cache)
    lines = [f"{cache}  schema {root.attrs.get('schema')}"]
    dataset, _, video = (target or "").partition("/")
    datasets = [dataset] if dataset else zcache.list_datasets(cache)
    for name in datasets:
        attrs = zcache.read_dataset_attrs(cache, name)
        statuses = zcache.video_statuses(cache, name)
        complete = [vid for vid, s in statuses.items() if s.complete]
        lines.append(f"{name}/  layout {attrs.get('layout')}, {len(attrs.get('channels', []))} channels "
                     f"({len(attrs.get('joints', []))} joints + {len(attrs.get('limbs', []))} limbs), "
                     f"size {attrs.get('size')}, sigma {attrs.get('sigma')}; "
                     f"{len(complete)} complete videos, {len(statuses) - len(complete)} incomplete")
        if dataset:
            lines += [f"  @{key}: {value}" for key, value in sorted(attrs.items())]
        if video:
            if video not in statuses:
                raise zcache.CacheError(f"{cache}/{name}: no video {video!r}")
            lines += _video_lines(cache, name, video, full=True)
        else:
            frames = sum(statuses[vid].n_frames for vid in complete)
            stored = _stored_bytes(cache / name)
            lines.append(f"  frames {frames:,}, stored {stored:,} B ({stored / max(frames, 1):.0f} B per frame)")
            shown = sorted(statuses)[:5 if not dataset else 20]
            for vid in shown:
                lines += _video_lines(cache, name, vid, full=False)
            if len(statuses) > len(shown):
                lines.append(f"  ... {len(statuses) - len(shown)} more")
    return "\n".join(lines)


def _stored_bytes(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())


def montage_png(cache: str | Path, dataset: str, video_id: str, out: str | Path, n_frames: int = 6) -> Path:
    """Save a montage of `n_frames` evenly spaced frames: joint maps (top row) and limb maps (bottom
    row), each summed over channels, with the cached skeleton drawn on top."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    video = zcache.read_video(cache, dataset, video_id)
    attrs = zcache.read_dataset_attrs(cache, dataset)
    num_joints = len(attrs["joints"])
    limbs = attrs["limbs"]
    frames = np.unique(np.linspace(0, video.heatmaps.shape[0] - 1, n_frames).round().astype(int))
    fig, axes = plt.subplots(2, len(frames), figsize=(2.2 * len(frames), 5.2), squeeze=False)
    for col, t in enumerate(frames):
        kp = video.keypoints[t]
        for row, (label, maps) in enumerate((("joints", video.heatmaps[t, :num_joints]),
                                             ("limbs", video.heatmaps[t, num_joints:]))):
            ax = axes[row, col]
            ax.imshow(np.clip(maps.sum(axis=0), 0, 1), cmap="magma", vmin=0, vmax=1, interpolation="nearest")
            for a, b in limbs:
                if kp[a, 2] > 0 and kp[b, 2] > 0:
                    ax.plot([kp[a, 0], kp[b, 0]], [kp[a, 1], kp[b, 1]], color="cyan", linewidth=0.8)
            seen = kp[:, 2] > 0
            ax.scatter(kp[seen, 0], kp[seen, 1], s=6, color="lime")
            ax.set_xticks([])
            ax.set_yticks([])
            ax.set_title(f"frame {t} {label}", fontsize=8)
    fig.suptitle(f"{dataset}/{video_id}  action {video.attrs.get('action')}  ({video.heatmaps.shape[0]} frames)", fontsize=9)
    fig.tight_layout()
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=100)
    plt.close(fig)
    return out

"""PNG reports of frozen per-frame embeddings: alignment, projection, retrieval (`la2ds evaluate --png`).

    from models.plots import write_report_pngs
    paths = write_report_pngs("runs/squat/emb.zarr", "cache.zarr", "runs/squat/report")

- `alignment_plot`: the squared Euclidean distance matrix between the frames of two videos, with the
  nearest-neighbour path (each frame i of video a -> its nearest frame of video b, the match
  Kendall's tau is computed on) drawn on top, and that pair's tau (`pipeline.metrics.kendall`) in
  the title. A well-aligned pair shows a monotone path along the dark valley of the matrix.
- `embedding_projection`: PCA (scikit-learn) of the per-frame embeddings of some videos of one action
  to 2D, in two panels: coloured by phase label (grey = unknown) and by normalised time t / (T - 1);
  each video's frames are joined in time order by a thin line.
- `retrieval_grid`: the skeleton of one query frame and the skeletons of its K nearest frames (squared
  Euclidean distance) among the frames of other videos, each titled with video id, frame and phase:
  green when the phase equals the query's, red when not, grey when unknown (the metric
  `FrameRetrieval` counts the share of green among labelled neighbours). Skeletons are the cache's
  grid keypoints (heatmap pixels, y = row, so the y axis points down), joints with c = 0 left out.

Every function writes one PNG (matplotlib's Agg canvas, no pyplot state, safe in worker threads),
creates the parent folder, returns the path, and raises ValueError on input it cannot draw (empty
videos, mismatched dimensions, out-of-range frames).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from scipy.spatial.distance import cdist

from pipeline.metrics import VideoEmbedding
from pipeline.metrics.kendall import tau_b_against_time
from pipeline.metrics.types import UNKNOWN_PHASE, group_by_action, single_action

__all__ = ["TEST_SPLITS", "alignment_plot", "embedding_projection", "nearest_frames", "retrieval_grid",
           "write_report_pngs"]

TEST_SPLITS = ("val", "test")  # the splits `pipeline.metrics.evaluate_all` treats as test videos
DPI = 100
SAME, DIFFERENT, UNKNOWN = "#1a7f37", "#cf222e", "#6e7781"  # title colours of the retrieval grid

KeypointLookup = Mapping[str, np.ndarray] | Callable[[str], np.ndarray]


def _figure(width: float, height: float):
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), dpi=DPI, layout="constrained")


def _save(fig, out: str | Path) -> Path:
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=DPI, format="png")
    return out


def _frames(name: str, emb: Any) -> np.ndarray:
    emb = np.asarray(emb, dtype=np.float64)
    if emb.ndim != 2:
        raise ValueError(f"{name}: embeddings must be (T, D), got shape {emb.shape}")
    if emb.shape[0] == 0 or emb.shape[1] == 0:
        raise ValueError(f"{name}: empty embeddings {emb.shape}: a video needs at least one frame")
    if not np.isfinite(emb).all():
        raise ValueError(f"{name}: embeddings contain NaN or infinite values")
    return emb


# ---------------------------------------------------------------------------------------------
# alignment


def alignment_plot(emb_a: np.ndarray, emb_b: np.ndarray, out: str | Path,
                   titles: Sequence[str] = ("video a", "video b")) -> Path:
    """Distance matrix (Ta, Tb) of two videos' frames with the nearest-neighbour path of a in b.

    emb_a (Ta, D), emb_b (Tb, D): per-frame embeddings; titles: the two videos' names (axis labels).
    Rows are frames of a, columns frames of b; the red line joins (nn(i), i) for i = 0..Ta-1.
    The title holds Kendall's tau of that path against time (NaN when undefined, e.g. Ta < 2)."""
    a, b = _frames(f"{titles[0]}", emb_a), _frames(f"{titles[1]}", emb_b)
    if a.shape[1] != b.shape[1]:
        raise ValueError(f"embedding dimensions differ: {a.shape[1]} ({titles[0]}) vs {b.shape[1]} ({titles[1]})")
    dist = cdist(a, b, "sqeuclidean")
    nn = dist.argmin(axis=1)
    tau = float(tau_b_against_time(nn[None])[0])
    rows = np.arange(len(a))

    fig = _figure(6.4, 5.6)
    ax = fig.add_subplot()
    image = ax.imshow(dist, cmap="viridis_r", aspect="auto", interpolation="nearest", origin="upper")
    fig.colorbar(image, ax=ax, label="squared distance")
    ax.plot(nn, rows, color="#e6194b", linewidth=0.8, alpha=0.5)
    ax.scatter(nn, rows, s=9, color="#e6194b", zorder=3, label="nearest frame of b for each frame of a")
    ax.set_xlim(-0.5, len(b) - 0.5)
    ax.set_ylim(len(a) - 0.5, -0.5)
    ax.set_xlabel(f"frame of {titles[1]} (b)")
    ax.set_ylabel(f"frame of {titles[0]} (a)")
    tau_text = "n/a" if math.isnan(tau) else f"{tau:.3f}"
    ax.set_title(f"{titles[0]} vs {titles[1]}: Kendall's tau = {tau_text}")
    ax.legend(loc="lower left", fontsize=8, framealpha=0.8)
    return _save(fig, out)


# ---------------------------------------------------------------------------------------------
# projection


def embedding_projection(videos: Sequence[VideoEmbedding], out: str | Path, title: str | None = None) -> Path:
    """PCA to 2D of the frames of `videos` (one action), coloured by phase (left) and by t/(T-1) (right).

    The PCA is fitted on all frames of all the videos together. Embeddings of one dimension are
    drawn on a zero second axis."""
    from sklearn.decomposition import PCA

    videos = list(videos)
    if not videos:
        raise ValueError("embedding_projection: no videos")
    single_action("embedding_projection", videos)
    feats = [_frames(v.video_id, v.embeddings) for v in videos]
    if len({f.shape[1] for f in feats}) > 1:
        raise ValueError(f"embedding dimensions differ between videos: {sorted({f.shape[1] for f in feats})}")
    stacked = np.concatenate(feats)
    n_components = min(2, stacked.shape[0], stacked.shape[1])
    pca = PCA(n_components=n_components).fit(stacked)
    xy = np.zeros((len(stacked), 2))
    xy[:, :n_components] = pca.transform(stacked)
    explained = list(pca.explained_variance_ratio_) + [0.0] * (2 - n_components)
    phases = np.concatenate([v.phases for v in videos])
    times = np.concatenate([np.linspace(0.0, 1.0, len(f)) if len(f) > 1 else np.zeros(1) for f in feats])
    bounds = np.cumsum([0] + [len(f) for f in feats])

    fig = _figure(11.0, 4.8)
    ax_phase, ax_time = fig.subplots(1, 2, sharex=True, sharey=True)
    for ax in (ax_phase, ax_time):
        for start, stop in zip(bounds[:-1], bounds[1:]):
            ax.plot(xy[start:stop, 0], xy[start:stop, 1], color="0.8", linewidth=0.5, zorder=1)
        ax.set_xlabel(f"PC 1 ({explained[0] * 100:.0f} % of variance)")
    ax_phase.set_ylabel(f"PC 2 ({explained[1] * 100:.0f} % of variance)")

    unknown = phases == UNKNOWN_PHASE
    if unknown.any():
        ax_phase.scatter(xy[unknown, 0], xy[unknown, 1], s=8, color="0.6", label="unknown", zorder=2)
    known = sorted(int(p) for p in np.unique(phases[~unknown]))
    cmap = _phase_colours(max(known, default=0) + 1)
    for phase in known:
        sel = phases == phase
        ax_phase.scatter(xy[sel, 0], xy[sel, 1], s=8, color=cmap[phase], label=f"phase {phase}", zorder=2)
    ax_phase.legend(fontsize=8, markerscale=1.5, loc="best", framealpha=0.8)
    ax_phase.set_title("coloured by phase")

    points = ax_time.scatter(xy[:, 0], xy[:, 1], s=8, c=times, cmap="viridis", vmin=0.0, vmax=1.0, zorder=2)
    fig.colorbar(points, ax=ax_time, label="t / (T - 1)")
    ax_time.set_title("coloured by normalised time")
    action = videos[0].action
    fig.suptitle(title or f"{action}: PCA of the per-frame embeddings of {len(videos)} videos ({len(stacked)} frames)")
    return _save(fig, out)


def _phase_colours(n: int) -> list:
    from matplotlib import colormaps

    cmap = colormaps["tab10" if n <= 10 else "tab20"]
    return [cmap(i % cmap.N) for i in range(max(n, 1))]


# ---------------------------------------------------------------------------------------------
# retrieval


def nearest_frames(query: VideoEmbedding, frame: int, candidates: Sequence[VideoEmbedding],
                   k: int = 5) -> list[tuple[VideoEmbedding, int, float]]:
    """The k nearest frames (squared Euclidean) of query's `frame` among the candidates' frames, nearest
    first (ties: first video, then first frame), as (video, frame, distance); the query's own video
    (same video_id) is never a candidate. Fewer than k when there are fewer candidate frames."""
    if k < 1:
        raise ValueError(f"k must be >= 1, got {k}")
    q = _frames(query.video_id, query.embeddings)
    if not 0 <= frame < len(q):
        raise ValueError(f"{query.video_id}: frame {frame} out of range (0..{len(q) - 1})")
    others = [v for v in candidates if v.video_id != query.video_id and len(v.embeddings)]
    if not others:
        raise ValueError(f"{query.video_id}: no candidate frames in other videos")
    feats = [_frames(v.video_id, v.embeddings) for v in others]
    if any(f.shape[1] != q.shape[1] for f in feats):
        raise ValueError("embedding dimensions of the candidates differ from the query's")
    dist = cdist(q[frame:frame + 1], np.concatenate(feats), "sqeuclidean")[0]
    owner = np.concatenate([np.full(len(f), i) for i, f in enumerate(feats)])
    index = np.concatenate([np.arange(len(f)) for f in feats])
    order = np.argsort(dist, kind="stable")[:k]
    return [(others[owner[j]], int(index[j]), float(dist[j])) for j in order]


def _keypoints_of(lookup: KeypointLookup, video_id: str) -> np.ndarray:
    try:
        kp = lookup(video_id) if callable(lookup) else lookup[video_id]
    except KeyError:
        raise ValueError(f"no keypoints for video {video_id!r}") from None
    kp = np.asarray(kp, dtype=np.float64)
    if kp.ndim != 3 or kp.shape[2] != 3:
        raise ValueError(f"{video_id}: keypoints must be (T, K, 3), got {kp.shape}")
    return kp


def _draw_skeleton(ax, keypoints: np.ndarray, limbs: np.ndarray, colour: str) -> None:
    """One frame's (K, 3) keypoints: limbs whose two joints are present, then the present joints."""
    present = keypoints[:, 2] > 0
    for a, b in limbs:
        if present[a] and present[b]:
            ax.plot(keypoints[[a, b], 0], keypoints[[a, b], 1], color=colour, linewidth=2.0, solid_capstyle="round")
    ax.scatter(keypoints[present, 0], keypoints[present, 1], s=14, color="black", zorder=3)


def retrieval_grid(query: VideoEmbedding, frame: int, candidates: Sequence[VideoEmbedding], keypoints: KeypointLookup,
                   limbs: Any, out: str | Path, k: int = 5, size: float | None = None) -> Path:
    """The skeleton of query's `frame` and those of its k nearest frames in other videos, in one row.

    candidates: videos searched (the query's own video is skipped; pass the other test videos of the
    action). keypoints: video_id -> (T, K, 3) grid keypoints (a mapping or a function, e.g.
    `lambda v: read_video(cache, dataset, v).keypoints`). limbs: (L, 2) joint index pairs (the
    dataset's `limbs` attr). size: the heatmap side (axis limits 0..size; default: fitted to the
    drawn skeletons). Titles: video id, frame, phase and distance; green = the query's phase,
    red = another phase, grey = unknown."""
    neighbours = nearest_frames(query, frame, candidates, k)
    limbs = np.asarray(limbs, dtype=np.int64).reshape(-1, 2)
    panels = [(query, frame, None)] + neighbours
    poses = []
    for video, t, _ in panels:
        kp = _keypoints_of(keypoints, video.video_id)
        if len(kp) != video.n_frames:
            raise ValueError(f"{video.video_id}: {len(kp)} keypoint frames but {video.n_frames} embeddings")
        if len(limbs) and (limbs.min() < 0 or limbs.max() >= kp.shape[1]):
            raise ValueError(f"limbs refer to joints outside 0..{kp.shape[1] - 1}")
        poses.append(kp[t])
    if size is not None:
        lo, hi = np.array([-0.5, -0.5]), np.array([size - 0.5, size - 0.5])
    else:
        drawn = np.concatenate([p[p[:, 2] > 0, :2] for p in poses] + [np.zeros((0, 2))])
        if len(drawn) == 0:
            lo, hi = np.zeros(2), np.ones(2)
        else:
            lo, hi = drawn.min(axis=0) - 1.0, drawn.max(axis=0) + 1.0
    query_phase = int(query.phases[frame])

    fig = _figure(2.3 * len(panels), 3.0)
    axes = np.atleast_1d(fig.subplots(1, len(panels)))
    for i, (ax, (video, t, distance), pose) in enumerate(zip(axes, panels, poses)):
        phase = int(video.phases[t])
        phase_text = "?" if phase == UNKNOWN_PHASE else str(phase)
        if i == 0:
            colour, heading = "black", f"query\n{video.video_id} f{t} phase {phase_text}"
        else:
            same = phase != UNKNOWN_PHASE and phase == query_phase
            colour = UNKNOWN if phase == UNKNOWN_PHASE or query_phase == UNKNOWN_PHASE else SAME if same else DIFFERENT
            heading = f"#{i} d={distance:.3g}\n{video.video_id} f{t} phase {phase_text}"
        _draw_skeleton(ax, pose, limbs, "#0969da" if i == 0 else colour)
        ax.set_title(heading, color=colour, fontsize=9)
        ax.set_xlim(lo[0], hi[0])
        ax.set_ylim(hi[1], lo[1])  # image rows: y grows downwards
        ax.set_aspect("equal")
        ax.set_xticks([])
        ax.set_yticks([])
        for spine in ax.spines.values():
            spine.set_color("black" if i == 0 else colour)
            spine.set_linewidth(2.0 if i == 0 else 1.0)
    fig.suptitle(f"{query.action}: {len(neighbours)} nearest frames of {query.video_id} frame {frame} "
                 "(green: same phase, red: other phase)", fontsize=10)
    return _save(fig, out)


# ---------------------------------------------------------------------------------------------
# the report


def write_report_pngs(embeddings_store: str | Path, cache: str | Path | None, out_dir: str | Path) -> list[Path]:
    """The report PNGs of the first action of an embeddings store (`la2ds embed` output), in out_dir:

    - alignment_<action>.png: `alignment_plot` of its first two test videos (split "val"/"test");
    - projection_<action>.png: `embedding_projection` of its test videos;
    - retrieval_<action>.png: `retrieval_grid` of the middle frame of its first test video among the
      other test videos, skeletons from the cache (default: the store's `cache` attr).

    The action's train videos stand in where it has no test video (the projection), and a plot that
    needs two videos is skipped with a warning when there is only one. Returns the paths written."""
    from models.evaluate import load_video_embeddings
    from storage.cache import read_dataset_attrs, read_video
    from storage.embeddings import read_store_attrs

    store = read_store_attrs(embeddings_store)
    cache = Path(cache if cache is not None else store["cache"])
    dataset = store["dataset"]
    groups = group_by_action(load_video_embeddings(embeddings_store))
    if not groups:
        raise ValueError(f"{embeddings_store}: no videos")
    action, group = next(iter(groups.items()))
    test = [v for v in group if v.split in TEST_SPLITS and v.n_frames > 0]
    videos = test or [v for v in group if v.n_frames > 0]
    if not videos:
        raise ValueError(f"{embeddings_store}: the videos of {action!r} have no frames")
    out_dir = Path(out_dir)
    written: list[Path] = []
    if len(videos) >= 2:
        a, b = videos[:2]
        written.append(alignment_plot(a.embeddings, b.embeddings, out_dir / f"alignment_{action}.png",
                                      titles=(a.video_id, b.video_id)))
    else:
        warnings.warn(f"{action}: one video only, no alignment plot", stacklevel=2)
    split_text = "test" if test else "all"
    written.append(embedding_projection(
        videos, out_dir / f"projection_{action}.png",
        title=f"{action} ({store.get('model')}, {split_text} videos): PCA of the per-frame embeddings"))
    if len(videos) >= 2:
        query = videos[0]
        attrs = read_dataset_attrs(cache, dataset)
        limbs, size = attrs["limbs"], attrs.get("size")
        keypoints = {v.video_id: read_video(cache, dataset, v.video_id).keypoints for v in videos}
        written.append(retrieval_grid(query, query.n_frames // 2, videos[1:], keypoints, limbs,
                                      out_dir / f"retrieval_{action}.png", k=5, size=size))
    else:
        warnings.warn(f"{action}: one video only, no retrieval grid", stacklevel=2)
    return written

"""Phase labels into the cache: one video's `phases` array, or a whole dataset's (published or DERIVED).

    summary = label_dataset("cache.zarr", "penn_action", derive=True)          # derived key events
    summary = label_dataset("cache.zarr", "penn_action", label_dir="labels/")  # published labels
    print(summary.text())

Contract (extends docs/cache.md, schema unchanged):
- `<video>/phases` (T,) int16, dimension_names ("time",), fill -1 (unknown), replaced as a whole.
- video attrs `phase_source`: "derived:key-events-v1" (pipeline/key_events.py: key events derived
  from the joints, NOT ground truth) or "published:<label dir>"; `phase_events`: the frames where a
  new phase starts. Derived labels also set `phase_event_names` (the rules' event names),
  `phase_events_found` (per event: False when a fallback placed it) and `phase_notes`.
- dataset attrs `phase_labels`: "derived key events (not ground truth)" or "published" (the last
  labelling run), and `phase_label_counts`: {phase_source: number of videos} over the dataset
  (videos whose phases came with the source, e.g. the synthetic generator, count as "source").
- Only complete video groups are labelled. Writing the array, then the attrs, is not atomic: a run
  interrupted in between leaves a complete video whose `phase_source` may be stale; running the
  labelling again repairs it.
- Re-running preprocessing rewrites a video only when its source or parameters changed, and that
  rewrite drops labels written here: label again afterwards.

Derivation reads the cached grid keypoints (x, y in heatmap pixels; only ratios matter) and the
video's `action`. Penn's placeholder joints are already missing there (c = 0, pipeline/sources/penn.py).
By default derivation does not replace labels that did not come from derivation (published labels,
or the source's own); `overwrite=True` does.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import zarr

from pipeline.key_events import PHASE_SOURCE, derive_phases, events_from_phases, has_rule
from pipeline.phase_labels import find_label_files, read_label_file
from storage import cache as zcache

DERIVED_NOTE = "derived key events (not ground truth)"
PUBLISHED_NOTE = "published"
_SOURCE_PREFIXES = ("derived:", "published:")


def write_phases(
    cache: str | Path,
    dataset: str,
    video_id: str,
    phases: np.ndarray,
    source: str,
    events: list[int] | None = None,
    extra_attrs: dict | None = None,
) -> None:
    """Write (or replace) the `phases` array of one complete cached video and its label attrs.

    source: "derived:key-events-v1" or "published:<dir>"; events: the frames where a new phase
    starts (default: where the labels change). Raises CacheError for an absent or incomplete video
    and ValueError for labels of the wrong length or type, or another kind of source.
    """
    if not source.startswith(_SOURCE_PREFIXES):
        raise ValueError(f"phase source {source!r}: expected 'derived:<rules>' or 'published:<dir>'")
    group = _video_group(cache, dataset, video_id, mode="r+")
    n_frames = int(group["keypoints"].shape[0])
    phases = np.asarray(phases)
    if phases.shape != (n_frames,):
        raise ValueError(f"{cache}/{dataset}/{video_id}: {phases.shape[0] if phases.ndim == 1 else phases.shape} "
                         f"phase labels for a video of {n_frames} frames")
    if phases.dtype.kind not in "iu" or (phases.size and (phases.min() < -1 or phases.max() > np.iinfo(np.int16).max)):
        raise ValueError(f"{cache}/{dataset}/{video_id}: phase labels must be integers in [-1, 32767], got {phases.dtype}")
    array = group.create_array(
        "phases", shape=(n_frames,), dtype="int16", chunks=(min(4096, n_frames),),
        compressors=zcache._COMPRESSORS, dimension_names=("time",), fill_value=-1, overwrite=True,
        attributes={"description": "per-frame phase label, -1 where unknown", "phase_source": source},
    )
    array[...] = phases.astype(np.int16)
    attrs = {"phase_source": source, "phase_events": [int(e) for e in (events if events is not None else events_from_phases(phases))]}
    group.attrs.update({**attrs, **(extra_attrs or {})})


@dataclass
class LabelSummary:
    """What `label_dataset` did. `labelled` / `skipped_*` hold video ids, `failed` id -> reason."""

    cache: str
    dataset: str
    mode: str  # "derived" or "published"
    total: int = 0
    labelled: list[str] = field(default_factory=list)
    skipped_no_rule: list[str] = field(default_factory=list)
    skipped_no_labels: list[str] = field(default_factory=list)
    skipped_has_labels: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)
    with_fallback: list[str] = field(default_factory=list)
    unmatched_label_files: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.failed

    def rows(self) -> list[tuple[str, str]]:
        rows = [("videos (complete)", str(self.total)), ("labelled", str(len(self.labelled)))]
        if self.mode == "derived":
            rows += [("  of which with fallback events", str(len(self.with_fallback))),
                     ("skipped: no rule for the action", _ids(self.skipped_no_rule)),
                     ("skipped: has non-derived labels", _ids(self.skipped_has_labels))]
        else:
            rows += [("skipped: no label file", _ids(self.skipped_no_labels)),
                     ("label files without a cached video", _ids(self.unmatched_label_files))]
        rows.append(("failed", str(len(self.failed))))
        rows += [(f"FAILED {vid}", reason) for vid, reason in sorted(self.failed.items())]
        rows += [("warning", w) for w in self.warnings]
        return rows

    def text(self) -> str:
        kind = DERIVED_NOTE if self.mode == "derived" else "published labels"
        width = max(len(what) for what, _ in self.rows())
        lines = [f"phase labels, {kind}: {self.cache} / {self.dataset}"]
        lines += [f"  {what:<{width}}  {value}" for what, value in self.rows()]
        return "\n".join(lines)


def _ids(ids: list[str], show: int = 8) -> str:
    if not ids:
        return "0"
    head = ", ".join(ids[:show]) + (", ..." if len(ids) > show else "")
    return f"{len(ids)} ({head})"


def label_dataset(
    cache: str | Path,
    dataset: str = "penn_action",
    *,
    derive: bool = True,
    label_dir: str | Path | None = None,
    overwrite: bool = False,
    actions: list[str] | None = None,
) -> LabelSummary:
    """Label every complete video of a cached dataset; one bad video fails alone (see the summary).

    label_dir given: published labels (pipeline/phase_labels.py layout), replacing any labels.
    Otherwise derive=True: derived key events (pipeline/key_events.py); videos whose action has no
    rule are skipped, and so are videos with non-derived labels unless `overwrite`.
    actions: only videos of these actions (default: all).
    Raises CacheError for a missing cache or dataset, PhaseLabelError for an unusable label_dir.
    """
    if label_dir is None and not derive:
        raise ValueError("nothing to do: give label_dir (published labels) or derive=True")
    mode = "published" if label_dir is not None else "derived"
    zcache.read_dataset_attrs(cache, dataset)  # CacheError if absent
    summary = LabelSummary(cache=str(cache), dataset=dataset, mode=mode)
    videos = zcache.list_videos(cache, dataset)
    files = find_label_files(label_dir) if label_dir is not None else {}
    for vid in videos:
        group = _video_group(cache, dataset, vid, mode="r")
        attrs = dict(group.attrs)
        if actions is not None and attrs.get("action") not in actions:
            continue
        summary.total += 1
        try:
            if mode == "published":
                _label_published(cache, dataset, vid, group, attrs, files, Path(label_dir), summary)
            else:
                _label_derived(cache, dataset, vid, group, attrs, overwrite, summary)
        except (ValueError, zcache.CacheError) as err:  # PhaseLabelError is a ValueError
            summary.failed[vid] = str(err)
    if mode == "published":
        summary.unmatched_label_files = sorted(set(files) - set(videos))
    if summary.labelled:
        _set_dataset_attrs(cache, dataset, mode, videos, label_dir)
    return summary


def _label_published(cache, dataset, vid, group, attrs, files, label_dir: Path, summary: LabelSummary) -> None:
    if vid not in files:
        summary.skipped_no_labels.append(vid)
        return
    label = files[vid]
    phases = read_label_file(label.path, int(group["keypoints"].shape[0]))
    if attrs.get("action") is not None and label.action != attrs["action"]:
        summary.warnings.append(f"{label.path}: under action {label.action!r}, the cached video is {attrs['action']!r}")
    write_phases(cache, dataset, vid, phases, f"published:{label_dir}")
    summary.labelled.append(vid)


def _label_derived(cache, dataset, vid, group, attrs, overwrite: bool, summary: LabelSummary) -> None:
    action = attrs.get("action")
    if not has_rule(action):
        summary.skipped_no_rule.append(vid)
        return
    existing = attrs.get("phase_source")
    has_other = "phases" in group and not (isinstance(existing, str) and existing.startswith("derived:"))
    if has_other and not overwrite:
        summary.skipped_has_labels.append(vid)
        return
    labels = derive_phases(action, np.asarray(group["keypoints"][...], dtype=np.float32))
    write_phases(cache, dataset, vid, labels.phases, PHASE_SOURCE, labels.events, {
        "phase_event_names": labels.rule_names,
        "phase_events_found": labels.found,
        "phase_notes": labels.notes,
    })
    summary.labelled.append(vid)
    if not labels.all_found:
        summary.with_fallback.append(vid)


def _set_dataset_attrs(cache, dataset, mode: str, videos: list[str], label_dir) -> None:
    counts: dict[str, int] = {}
    for vid in videos:
        group = _video_group(cache, dataset, vid, mode="r")
        if "phases" not in group:
            continue
        source = group.attrs.get("phase_source") or "source"
        counts[source] = counts.get(source, 0) + 1
    attrs = {"phase_labels": DERIVED_NOTE if mode == "derived" else PUBLISHED_NOTE, "phase_label_counts": counts}
    if mode == "published":
        attrs["phase_label_dir"] = str(label_dir)
    group = zarr.open_group(Path(cache) / dataset, mode="r+")
    group.attrs.update(attrs)


def _video_group(cache: str | Path, dataset: str, video_id: str, mode: str) -> zarr.Group:
    """A complete video's group; CacheError when the cache, dataset or video is absent or incomplete."""
    zcache.open_cache(cache)
    path = Path(cache) / dataset / video_id
    try:
        group = zarr.open_group(path, mode=mode)
    except FileNotFoundError:
        raise zcache.CacheError(f"{cache}/{dataset}: no video {video_id!r}") from None
    if group.attrs.get("complete") is not True:
        raise zcache.CacheError(f"{cache}/{dataset}/{video_id}: incomplete (an interrupted run); run preprocessing again")
    return group

"""Pose sources: each module has `discover(root) -> list[VideoRef]` and `load(ref, options) -> PoseSequence`."""

from __future__ import annotations

import importlib
from pathlib import Path

from pipeline.errors import SourceError
from pipeline.pose import PoseSequence
from pipeline.sources.base import SourceKind, SourceOptions, VideoRef, fingerprint

__all__ = ["SourceKind", "SourceOptions", "VideoRef", "fingerprint", "discover_videos", "load_video", "source_fingerprint"]


def _module(kind: SourceKind):
    return importlib.import_module(f"pipeline.sources.{SourceKind(kind).value}")


def discover_videos(kind: SourceKind | str, root: str | Path) -> list[VideoRef]:
    """The videos under `root`, sorted by id. Raises SourceError if root does not exist or holds none."""
    root = Path(root)
    if not root.exists():
        raise SourceError(root, "source path does not exist")
    refs = _module(SourceKind(kind)).discover(root)
    if not refs:
        raise SourceError(root, f"no {SourceKind(kind).value} videos found")
    ids = [r.video_id for r in refs]
    if len(set(ids)) != len(ids):
        raise SourceError(root, "two videos share one id")
    return sorted(refs, key=lambda r: r.video_id)


def load_video(ref: VideoRef, options: SourceOptions | None = None) -> PoseSequence:
    """Read one video. Bad input raises SourceError naming the file and the problem."""
    return _module(ref.kind).load(ref, options or SourceOptions())


def source_fingerprint(ref: VideoRef) -> str:
    """sha256 of everything a video is read from (a source may name extra files: `source_files(ref)`)."""
    files = getattr(_module(ref.kind), "source_files", None)
    return fingerprint(*(files(ref) if files else [ref.path]))

"""What every pose source shares: a reference to one video, source options, fingerprints."""

from __future__ import annotations

import hashlib
from enum import Enum
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field


# Bumped whenever a source reader's output changes for the same file (part of the cache's params hash).
READER_VERSION = "2"


class SourceKind(str, Enum):
    penn = "penn"              # Penn Action .mat annotation files
    openpose = "openpose"      # OpenPose JSON directories (one file per frame)
    projected = "projected"    # 3D skeleton arrays (.npy/.npz), orthographically projected to 2D
    h2o = "h2o"                # H2O-style hand pose text files (one per frame), projected to 2D
    synthetic = "synthetic"    # the synthetic generator's native .npz files (2D + phases)


class VideoRef(BaseModel):
    """One video of a source: small and picklable, what tasks pass around instead of arrays.

    path: the file (Penn .mat, .npy/.npz) or directory (OpenPose, H2O) holding the video.
    """

    model_config = ConfigDict(frozen=True)

    kind: SourceKind
    video_id: str
    path: str


class SourceOptions(BaseModel):
    """Options of the pose sources; each source reads the ones that concern it."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    layout: str | None = Field(
        None, description="skeleton layout name (openpose: body25 by default; projected: from the file or penn_action)"
    )
    occluded_confidence: float = Field(
        0.5, ge=0.0, le=1.0,
        description="Penn Action: confidence given to joints annotated as occluded (visible joints get 1.0)",
    )
    frame_size: tuple[int, int] = Field(
        (480, 480), description="projected/h2o (orthographic): (width, height) the projected skeleton is scaled to fill"
    )
    drop_axis: int = Field(2, ge=0, le=2, description="projected: the 3D axis dropped by the orthographic projection")
    yaw_degrees: float = Field(0.0, description="projected: rotation about the vertical (y) axis before projection")
    intrinsics: str | None = Field(None, description="h2o: camera intrinsics file (fx fy cx cy [w h]); orthographic if absent")


def fingerprint(*paths: str | Path) -> str:
    """sha256 over source files and directories (a directory: its files' sorted relative names and contents)."""
    digest = hashlib.sha256()
    for path in map(Path, paths):
        files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
        for file in files:
            digest.update(str(file.relative_to(path) if path.is_dir() else file.name).encode() + b"\0")
            digest.update(file.read_bytes())
    return digest.hexdigest()

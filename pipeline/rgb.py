"""RGB frames for the pose videos: read (OpenCV), crop with the pose crop box, resize, align in time.

Sources (`find_rgb_source(rgb_root, video_id)`, first that exists):
- a video file `rgb_root/<video_id>.mp4` or `rgb_root/<video_id>.avi` (decoded with cv2.VideoCapture);
- a frame folder `rgb_root/<video_id>/` (Penn Action style `frames/<video_id>/000001.jpg`): the image
  files (.jpg, .jpeg, .png, .bmp) ordered by the last run of digits in their name (then by name).
A video without a source when an RGB root is given fails (SourceError naming the paths looked for).

Frames are RGB (OpenCV's BGR is converted), (T, H, W, 3) uint8. Unreadable input (a file OpenCV
cannot open, no decodable frame, an unreadable image, images of different sizes) raises
`SourceError(path, problem)`; preprocessing then fails that video alone.

Crop (`crop_square`): the pose crop box [x0, y0, x1, y1] (source pixels, pixel centres at integers,
x = column; the box covers max(w, h) + 1 pixels along its longer side) is grown to a square of side
ceil((max(w, h) + 1) * (1 + 2 * margin)) pixels (margin 0.1 of the longer side on each side), centred
on the box centre (rounded to whole pixels), as an integer pixel box
[x0, y0, x1, y1] with x1, y1 exclusive (columns x0 .. x1 - 1, rows y0 .. y1 - 1). It may extend past
the frame: `crop_and_resize` pads with black there, then resizes the square to size x size with
cv2.INTER_AREA. A source pixel (x, y) lands at ((x - x0 + 0.5) * size / side - 0.5, same for y) in the
RGB crop.

Frame-count policy (`align_frames`, poses T frames, video F frames):
- F == T: used as is ("exact").
- |F - T| <= max(2, floor(2 % of T)): the first min(T, F) video frames are used and, when the video is
  shorter, its last frame is repeated to reach T; the attribute `rgb_frame_policy` says what was done
  (e.g. "padded: video has 98 frames, poses 100; last frame repeated 2 times").
- a larger mismatch: SourceError naming the video file and both counts. Never silently misaligned.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np

from pipeline.errors import SourceError

VIDEO_SUFFIXES = (".mp4", ".avi")
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp")
DEFAULT_SIZE = 64
DEFAULT_MARGIN = 0.1
# Bumped whenever the RGB output changes for the same inputs (part of the cache's params hash).
RGB_VERSION = "1"


def _cv2():
    import cv2

    return cv2


def find_rgb_source(rgb_root: str | Path, video_id: str) -> Path:
    """`rgb_root/<video_id>.mp4`, `.avi` or the frame folder `rgb_root/<video_id>/`; SourceError if none."""
    root = Path(rgb_root)
    for suffix in VIDEO_SUFFIXES:
        if (root / f"{video_id}{suffix}").is_file():
            return root / f"{video_id}{suffix}"
    if (root / video_id).is_dir():
        return root / video_id
    raise SourceError(root / video_id, f"no RGB source for video {video_id!r}: looked for "
                                       f"{video_id}.mp4, {video_id}.avi and the frame folder {video_id}/ in {root}")


def frame_files(folder: str | Path) -> list[Path]:
    """The image files of a frame folder, ordered by the last number in the name (then by name)."""
    folder = Path(folder)

    def key(path: Path) -> tuple[int, str]:
        numbers = re.findall(r"\d+", path.stem)
        return (int(numbers[-1]) if numbers else -1, path.name)

    return sorted((p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES), key=key)


def iter_frames(path: str | Path, max_frames: int | None = None) -> Iterator[np.ndarray]:
    """Yield (H, W, 3) uint8 RGB frames of a video file or frame folder, in order (see read_frames)."""
    cv2 = _cv2()
    path = Path(path)
    if not path.exists():
        raise SourceError(path, "RGB source does not exist")
    count = 0
    if path.is_dir():
        files = frame_files(path)
        if not files:
            raise SourceError(path, f"frame folder holds no images ({', '.join(IMAGE_SUFFIXES)})")
        shape = None
        for file in files[:max_frames] if max_frames is not None else files:
            image = cv2.imread(str(file), cv2.IMREAD_COLOR)
            if image is None:
                raise SourceError(file, "unreadable or corrupt image")
            if shape is not None and image.shape != shape:
                raise SourceError(file, f"frame of size {image.shape[1]}x{image.shape[0]}, the folder's first is "
                                        f"{shape[1]}x{shape[0]}")
            shape = image.shape
            yield cv2.cvtColor(image, cv2.COLOR_BGR2RGB)
        return
    if path.suffix.lower() not in VIDEO_SUFFIXES:
        raise SourceError(path, f"not a video file ({', '.join(VIDEO_SUFFIXES)}) or frame folder")
    capture = cv2.VideoCapture(str(path))
    try:
        if not capture.isOpened():
            raise SourceError(path, "unreadable or corrupt video file (OpenCV cannot open it)")
        while max_frames is None or count < max_frames:
            ok, frame = capture.read()
            if not ok or frame is None:
                break
            count += 1
            yield cv2.cvtColor(frame, cv2.COLOR_BGR2RGB)
    finally:
        capture.release()
    if count == 0:
        raise SourceError(path, "unreadable or corrupt video file (no frame could be decoded)")


def count_frames(path: str | Path) -> int:
    """Number of frames of a video file (decoded by grabbing every frame) or images of a frame folder."""
    path = Path(path)
    if path.is_dir():
        return len(frame_files(path))
    capture = _cv2().VideoCapture(str(path))
    count = 0
    try:
        while capture.isOpened() and capture.grab():
            count += 1
    finally:
        capture.release()
    return count


def read_frames(path: str | Path, max_frames: int | None = None) -> np.ndarray:
    """(T, H, W, 3) uint8 RGB frames of a video file (.mp4/.avi) or a frame folder; SourceError if unreadable."""
    frames = list(iter_frames(path, max_frames))
    return np.stack(frames)


def crop_square(box: Sequence[float], margin: float = DEFAULT_MARGIN) -> list[int]:
    """The pose crop box [x0, y0, x1, y1] -> an integer square pixel box [x0, y0, x1, y1] (x1, y1 exclusive).

    Side: ceil((max(w, h) + 1) * (1 + 2 margin)); centred on the box centre. May leave the frame.
    """
    bx0, by0, bx1, by1 = (float(v) for v in (box.as_list() if hasattr(box, "as_list") else box))
    if not all(math.isfinite(v) for v in (bx0, by0, bx1, by1)) or bx1 < bx0 or by1 < by0:
        raise ValueError(f"bad crop box {[bx0, by0, bx1, by1]}")
    side = max(1, math.ceil((max(bx1 - bx0, by1 - by0) + 1.0) * (1.0 + 2.0 * margin) - 1e-9))
    # pixels x0 .. x0 + side - 1 have their centre at x0 + (side - 1) / 2: put it nearest the box centre
    x0 = math.floor((bx0 + bx1) / 2.0 + 1.0 - side / 2.0 + 1e-9)
    y0 = math.floor((by0 + by1) / 2.0 + 1.0 - side / 2.0 + 1e-9)
    return [x0, y0, x0 + side, y0 + side]


def crop_frame(frame: np.ndarray, square: Sequence[int], size: int = DEFAULT_SIZE) -> np.ndarray:
    """One (H, W, 3) frame -> (3, size, size) uint8: the square crop (black outside the frame), resized."""
    cv2 = _cv2()
    x0, y0, x1, y1 = (int(v) for v in square)
    side = x1 - x0
    if side <= 0 or y1 - y0 != side:
        raise ValueError(f"not a square pixel box: {list(square)}")
    height, width = frame.shape[:2]
    canvas = np.zeros((side, side, 3), dtype=np.uint8)
    cx0, cy0, cx1, cy1 = max(x0, 0), max(y0, 0), min(x1, width), min(y1, height)
    if cx1 > cx0 and cy1 > cy0:
        canvas[cy0 - y0 : cy1 - y0, cx0 - x0 : cx1 - x0] = frame[cy0:cy1, cx0:cx1]
    resized = cv2.resize(canvas, (size, size), interpolation=cv2.INTER_AREA) if side != size else canvas
    return np.ascontiguousarray(resized.transpose(2, 0, 1))


def crop_and_resize(frames: np.ndarray | Sequence[np.ndarray], square: Sequence[int], size: int = DEFAULT_SIZE) -> np.ndarray:
    """(T, H, W, 3) uint8 frames -> (T, 3, size, size) uint8 crops of `square` (see crop_square)."""
    out = [crop_frame(frame, square, size) for frame in frames]
    if not out:
        return np.zeros((0, 3, size, size), dtype=np.uint8)
    return np.stack(out)


def frame_tolerance(n_poses: int) -> int:
    """Largest |video frames - pose frames| that is padded / truncated instead of failing."""
    return max(2, int(0.02 * n_poses))


def align_frames(rgb: np.ndarray, n_poses: int, source: str | Path) -> tuple[np.ndarray, str]:
    """(F, ...) RGB frames -> (n_poses, ...) and the policy applied; SourceError on a large mismatch."""
    n_video = int(rgb.shape[0])
    if n_video == n_poses:
        return rgb, "exact"
    if abs(n_video - n_poses) > frame_tolerance(n_poses) or n_video == 0:
        raise SourceError(source, f"frame count mismatch: video has {n_video} frames, poses have {n_poses} "
                                  f"(more than the tolerated {frame_tolerance(n_poses)}); not aligning them")
    if n_video > n_poses:
        return rgb[:n_poses], (f"truncated: video has {n_video} frames, poses {n_poses}; "
                               f"used the first {n_poses}")
    pad = np.repeat(rgb[-1:], n_poses - n_video, axis=0)
    return np.concatenate([rgb, pad]), (f"padded: video has {n_video} frames, poses {n_poses}; "
                                        f"last frame repeated {n_poses - n_video} times")


def load_rgb(path: str | Path, box: Sequence[float], n_poses: int, size: int = DEFAULT_SIZE,
             margin: float = DEFAULT_MARGIN) -> tuple[np.ndarray, dict]:
    """One video's cached RGB: (n_poses, 3, size, size) uint8 and the attrs describing it.

    Streams the frames (never holds the full-resolution video), crops each with the square around
    `box`, resizes, then applies the frame-count policy. Stops reading once the video is longer than
    any tolerated mismatch. attrs: rgb_source, rgb_crop, rgb_frames, rgb_frame_policy.
    """
    square = crop_square(box, margin)
    limit = n_poses + frame_tolerance(n_poses) + 1
    crops = [crop_frame(frame, square, size) for frame in iter_frames(path, max_frames=limit)]
    rgb = np.stack(crops)
    n_video = rgb.shape[0]
    if n_video == limit:  # longer than tolerated: count the rest for the error message
        n_video = count_frames(path)
        raise SourceError(path, f"frame count mismatch: video has {n_video} frames, poses have {n_poses} "
                                f"(more than the tolerated {frame_tolerance(n_poses)}); not aligning them")
    aligned, policy = align_frames(rgb, n_poses, path)
    attrs = {"rgb_source": str(Path(path).resolve()), "rgb_crop": list(square), "rgb_frames": int(n_video),
             "rgb_frame_policy": policy}
    return aligned, attrs

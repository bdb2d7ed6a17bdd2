"""How the cache stores heatmaps: dtype and codec candidates measured on real Penn Action videos.

    .venv/bin/python -m benchmarks.cache_codecs

Stores every 20th real video's float32 render with each candidate (chunks of 64 frames, one array
per video, as the cache does) and reports stored bytes per frame, write and read speed, and the
max abs error against the float32 render. The requirement: error within 1/255 = 3.9e-3.
The cache uses the first row (uint8, zstd 5, no shuffle).
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import numpy as np
import zarr
from zarr.codecs import BloscCodec

from benchmarks.common import penn_grid_sequences, print_table
from pipeline.heatmap_kernel import render_heatmaps_fast
from pipeline.layouts import PENN_ACTION
from storage.cache import encode_heatmaps


CANDIDATES = {
    "uint8, zstd 5, no shuffle (used)": ("uint8", "zstd", 5, "noshuffle", encode_heatmaps, 255.0),
    "uint8, zstd 5, bitshuffle": ("uint8", "zstd", 5, "bitshuffle", encode_heatmaps, 255.0),
    "uint8, lz4 5, bitshuffle": ("uint8", "lz4", 5, "bitshuffle", encode_heatmaps, 255.0),
    "float16, zstd 5, shuffle": ("float16", "zstd", 5, "shuffle", lambda m: m.astype(np.float16), 1.0),
    "float32, zstd 5, shuffle": ("float32", "zstd", 5, "shuffle", lambda m: m, 1.0),
}


def main() -> None:
    limbs = np.asarray(PENN_ACTION.limbs)
    maps = [render_heatmaps_fast(s, limbs) for s in penn_grid_sequences()[::20]]
    frames = sum(len(m) for m in maps)
    rows = []
    for name, (dtype, cname, level, shuffle, encode, scale) in CANDIDATES.items():
        with tempfile.TemporaryDirectory() as tmp:
            group = zarr.open_group(Path(tmp) / "c.zarr", mode="w")
            encoded = [encode(m) for m in maps]
            start = time.perf_counter()
            for i, data in enumerate(encoded):
                array = group.create_array(f"v{i}", shape=data.shape, dtype=dtype, chunks=(64, *data.shape[1:]),
                                           compressors=[BloscCodec(cname=cname, clevel=level, shuffle=shuffle)])
                array[...] = data
            write = time.perf_counter() - start
            start = time.perf_counter()
            back = [group[f"v{i}"][...] for i in range(len(maps))]
            read = time.perf_counter() - start
            stored = sum(p.stat().st_size for p in Path(tmp).rglob("*") if p.is_file())
        error = max(np.abs(b.astype(np.float32) / scale - m).max() for b, m in zip(back, maps))
        rows.append([name, f"{stored / frames:,.0f}", f"{frames / write:,.0f}", f"{frames / read:,.0f}",
                     f"{error:.1e}", f"{error * 255:.2f}"])
    print_table(f"Heatmap storage candidates, {len(maps)} real Penn Action videos, {frames:,} frames of 27x30x30",
                ["dtype, codec", "bytes/frame", "write frames/s", "read frames/s", "max abs error", "error / (1/255)"],
                rows)


if __name__ == "__main__":
    main()

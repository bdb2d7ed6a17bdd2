"""Serve every deployment from one long-running process (`la2ds serve`).

Default parameters come from the environment at serve time (absolute paths):
- LA2DS_CACHE: the Zarr cache (default .la2ds/cache.zarr under the current folder);
- PENN_ACTION_ROOT: a Penn Action folder (default .la2ds/demo/penn, where `make demo` writes synthetic data);
- LA2DS_DATA: folder of the other sources' default folders (default .la2ds/demo).
Every parameter can be overridden per run: prefect deployment run preprocess/penn -p source=/data/penn
"""

from __future__ import annotations

import os
from pathlib import Path

from prefect import serve

from flows.preprocess import preprocess


def _path(variable: str, default: str) -> str:
    return str(Path(os.environ.get(variable, default)).expanduser().resolve())


def deployments() -> list:
    cache = _path("LA2DS_CACHE", ".la2ds/cache.zarr")
    data = _path("LA2DS_DATA", ".la2ds/demo")
    sources = {
        "penn": _path("PENN_ACTION_ROOT", f"{data}/penn"),
        "openpose": f"{data}/openpose",
        "projected": f"{data}/projected",
        "synthetic": f"{data}/synthetic",
    }
    return [
        preprocess.to_deployment(
            name=kind, parameters={"kind": kind, "source": source, "cache": cache},
            enforce_parameter_schema=True, tags=["preprocess"],
            description=f"Fill the heatmap cache from {kind} poses (default source {source})",
        )
        for kind, source in sources.items()
    ]


def serve_all() -> None:
    serve(*deployments(), pause_on_shutdown=False)

"""Errors that name the input at fault."""

from __future__ import annotations

from pathlib import Path


class SourceError(ValueError):
    """Bad input: names the file (or directory) and the problem.

    `str(err)` reads "<path>: <problem>", which is what summaries and logs show.
    """

    def __init__(self, path: str | Path, problem: str):
        self.path = str(path)
        self.problem = problem
        super().__init__(f"{self.path}: {problem}")

    def __reduce__(self):  # picklable across Dask workers
        return (type(self), (self.path, self.problem))

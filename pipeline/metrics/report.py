"""All metrics of one action, of every action, and the report files (metrics.json, metrics.md).

A result of one action (`evaluate_action`) has exactly these keys:

    {"classification": {"0.1": a, "0.5": b, "1.0": c},   # accuracy, percent
     "progression": r2,                                    # mean R^2
     "kendalls_tau": tau,
     "ap": {"5": p5, "10": p10, "15": p15}}                # precision, 0..1

(the classification / ap keys follow `fractions` / `ks`). Undefined numbers are NaN in Python and
null in metrics.json. `evaluate_all` gives {action: result, ..., "mean": result}, where "mean" is
the mean of each number over the actions (NaNs skipped).
"""

from __future__ import annotations

import json
import math
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from .classification import PhaseClassification
from .kendall import KendallsTau
from .progression import PhaseProgression
from .retrieval import FrameRetrieval
from .types import VideoEmbedding, group_by_action

__all__ = ["MEAN", "evaluate_action", "evaluate_all", "mean_over_actions", "metrics_markdown", "to_jsonable",
           "write_report"]

MEAN = "mean"


def evaluate_action(
    train: list[VideoEmbedding],
    test: list[VideoEmbedding],
    fractions: tuple[float, ...] = (0.1, 0.5, 1.0),
    seed: int = 0,
    stride: int = 1,
    ks: tuple[int, ...] = (5, 10, 15),
    num_phases: int | None = None,
    standardize: bool = False,
) -> dict[str, Any]:
    """All four metrics for the train / test videos of one action (see the module docstring).
    standardize: scale embedding dimensions before the SVM (`PhaseClassification`; not the reference)."""
    metrics = [PhaseClassification(fractions, seed, standardize), PhaseProgression(num_phases), KendallsTau(stride),
               FrameRetrieval(ks)]
    return {m.name: m(train, test) for m in metrics}


def evaluate_all(
    videos: list[VideoEmbedding],
    train_splits: tuple[str, ...] = ("train",),
    test_splits: tuple[str, ...] = ("val", "test"),
    **kwargs: Any,
) -> dict[str, dict[str, Any]]:
    """{action: evaluate_action(train, test), ..., "mean": mean over actions}.

    Per action, train = videos whose split is in `train_splits`, test = those in `test_splits`
    (others are ignored). kwargs go to `evaluate_action`."""
    results: dict[str, dict[str, Any]] = {}
    for action, group in group_by_action(videos).items():
        if action == MEAN:
            raise ValueError(f"an action may not be called {MEAN!r}")
        train = [v for v in group if v.split in train_splits]
        test = [v for v in group if v.split in test_splits]
        results[action] = evaluate_action(train, test, **kwargs)
    results[MEAN] = mean_over_actions(list(results.values()))
    return results


def mean_over_actions(results: list[dict[str, Any]]) -> dict[str, Any]:
    """The mean of each number over per-action results of the same structure (NaN skipped)."""
    if not results:
        return {}

    def mean(values: list[Any]) -> Any:
        if isinstance(values[0], dict):
            return {key: mean([v[key] for v in values]) for key in values[0]}
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN -> NaN
            return float(np.nanmean(np.asarray(values, dtype=np.float64)))

    return mean(results)


def to_jsonable(value: Any) -> Any:
    """A copy with NaN / inf floats as None (strict JSON) and numpy scalars as Python numbers."""
    if isinstance(value, dict):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_jsonable(v) for v in value]
    if isinstance(value, (float, np.floating)):
        return float(value) if math.isfinite(value) else None
    if isinstance(value, np.integer):
        return int(value)
    return value


def _fmt(value: Any, digits: int) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "n/a"
    return f"{value:.{digits}f}"


def metrics_markdown(results: dict[str, dict[str, Any]], title: str = "Evaluation", note: str = "") -> str:
    """A Markdown table of `evaluate_all` results: one row per action, then the mean row.

    Columns: Class. 10/50/100 % (accuracy, percent), Progress R^2, Kendall's tau, AP@5/10/15
    (following the fractions / ks present). `note` becomes a line under the title
    (e.g. "phase labels: derived, not ground truth")."""
    actions = [a for a in results if a != MEAN]
    rows = actions + ([MEAN] if MEAN in results else [])
    if not rows:
        return f"## {title}\n\n{note}\n\n(no results)\n" if note else f"## {title}\n\n(no results)\n"
    first = results[rows[0]]
    fractions = list(first["classification"])
    ks = list(first["ap"])
    header = ([f"Class. {float(f) * 100:g} %" for f in fractions] + ["Progress R^2", "Kendall's tau"]
              + [f"AP@{k}" for k in ks])
    lines = [f"## {title}", ""]
    if note:
        lines += [note, ""]
    lines.append("| Action | " + " | ".join(header) + " |")
    lines.append("|---|" + "---:|" * len(header))
    for action in rows:
        r = results[action]
        cells = ([_fmt(r["classification"][f], 2) for f in fractions] + [_fmt(r["progression"], 3),
                 _fmt(r["kendalls_tau"], 3)] + [_fmt(r["ap"][k], 3) for k in ks])
        name = f"**{action}**" if action == MEAN else action
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def write_report(
    results: dict[str, dict[str, Any]],
    out_dir: str | Path,
    title: str = "Evaluation",
    note: str = "",
) -> tuple[Path, Path]:
    """Write out_dir/metrics.json (the results, NaN as null) and out_dir/metrics.md (the table).

    Returns (json path, markdown path)."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    json_path = out_dir / "metrics.json"
    md_path = out_dir / "metrics.md"
    json_path.write_text(json.dumps(to_jsonable(results), indent=2, allow_nan=False) + "\n")
    md_path.write_text(metrics_markdown(results, title, note))
    return json_path, md_path

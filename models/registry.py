"""A file-based model registry: which run is the champion of a training line, and why.

    <runs>/<name>/registry.json
    {"metric": "kendalls_tau",
     "champion": {"run": ".../20261204-103000", "score": 0.61, "metrics": {...}, "since": "..."} | null,
     "history": [{"run": ..., "score": ..., "champion_score": ..., "decision": "promoted" | "kept champion",
                  "reason": "...", "at": "..."}, ...]}

Every candidate is kept on disk and in the history, promoted or not. A candidate is promoted when
there is no champion yet, or when its score on the metric beats the champion's (higher is better
for every metric of the protocol). Scores are read from the "mean" row of metrics.json; a metric
path names nested values with dots: "kendalls_tau", "progression", "classification.1.0", "ap.5".
Written atomically (temporary file, then rename).
"""

from __future__ import annotations

import json
import math
import os
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from pydantic import BaseModel

REGISTRY_FILE = "registry.json"


class Decision(BaseModel):
    promoted: bool
    run: str
    score: float | None
    champion_run: str | None
    champion_score: float | None
    metric: str
    reason: str


def metric_value(metrics: dict[str, Any], metric: str) -> float | None:
    """The mean-over-actions value of `metric` ("kendalls_tau", "classification.1.0", "ap.5", ...)."""
    value: Any = metrics.get("mean", metrics)
    first, _, rest = metric.partition(".")
    value = value.get(first) if isinstance(value, dict) else None
    if rest and isinstance(value, dict):
        value = value.get(rest)
    if value is None and first not in metrics.get("mean", metrics):
        raise ValueError(f"unknown metric {metric!r}; e.g. kendalls_tau, progression, classification.1.0, ap.5")
    return None if value is None or (isinstance(value, float) and math.isnan(value)) else float(value)


def read_registry(line: str | Path) -> dict[str, Any]:
    path = Path(line) / REGISTRY_FILE
    return json.loads(path.read_text()) if path.exists() else {"champion": None, "history": []}


def _write_registry(line: Path, registry: dict[str, Any]) -> None:
    line.mkdir(parents=True, exist_ok=True)
    tmp = line / f".{REGISTRY_FILE}.tmp"
    tmp.write_text(json.dumps(registry, indent=2) + "\n")
    os.replace(tmp, line / REGISTRY_FILE)


def decide_and_record(line: str | Path, run: str | Path, metrics: dict[str, Any], metric: str = "kendalls_tau") -> Decision:
    """Compare a candidate run with the line's champion on `metric`, record the decision, promote if better."""
    line = Path(line)
    registry = read_registry(line)
    score = metric_value(metrics, metric)
    champion = registry.get("champion")
    champion_score = metric_value(champion["metrics"], metric) if champion else None
    if score is None:
        promoted, reason = False, f"the candidate has no {metric} score"
    elif champion is None:
        promoted, reason = True, "no champion yet"
    elif champion_score is None or score > champion_score:
        promoted, reason = True, f"{metric} {score:.4f} beats the champion's {champion_score}"
    else:
        promoted, reason = False, f"{metric} {score:.4f} does not beat the champion's {champion_score:.4f}"
    now = datetime.now(timezone.utc).isoformat(timespec="seconds")
    decision = Decision(promoted=promoted, run=str(run), score=score, champion_run=champion["run"] if champion else None,
                        champion_score=champion_score, metric=metric, reason=reason)
    registry["metric"] = metric
    registry["history"].append({**decision.model_dump(), "decision": "promoted" if promoted else "kept champion", "at": now})
    if promoted:
        registry["champion"] = {"run": str(run), "score": score, "metrics": metrics, "since": now}
    _write_registry(line, registry)
    return decision

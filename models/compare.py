"""`la2ds compare`: the untrained encoder, the coordinate baseline and LA2DS on one cache, one table.

    from models.compare import compare, compare_markdown
    results = compare("cache.zarr", "penn_action", "squat", "runs/compare", epochs=20, lr=1e-3)
    print(compare_markdown(results))

In one run, on the same cache, dataset and action, with the same TrainConfig
(`TrainConfig.for_dataset(dataset, ...)`: the paper's defaults, then `train_overrides`, the same
seed, so the untrained encoder is exactly the initialisation LA2DS is trained from):

    untrained   "Untrained"                 the LA2DS heatmap encoder, epochs = 0
    coords      "Coordinates (CASA-style)"  the coordinate baseline (model "coords"), `epochs` epochs
    la2ds       "LA2DS"                     the LA2DS heatmap network, `epochs` epochs

each is trained (`models.train.train`, OUT/<name>/run), embedded (`models.embed.embed`, encoder
output by default, OUT/<name>/embeddings.zarr) and evaluated (`models.evaluate.evaluate_embeddings`:
OUT/<name>/metrics.json and metrics.md, per action and the mean). The table has one row per method
and the columns of the paper's tables 5-7: phase classification with 10 / 50 / 100 % of the
training videos labelled (accuracy, %), phase progression (R^2), Kendall's tau, and frame retrieval
AP@5/10/15 (precision, 0..1, as in metrics.md), taken from each method's "mean" row (the mean over
actions; equal to the action's row when there is one action). The best value of each column is in
bold. Written to OUT/compare.json (NaN as null) and OUT/compare.md, with a line saying where the
phase labels came from (derived key events are never called ground truth).
"""

from __future__ import annotations

import json
import math
import sys
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from pipeline.metrics.report import MEAN, to_jsonable

__all__ = ["COLUMNS", "METHODS", "compare", "compare_markdown", "metric_rows"]

# key: (row label, model kind, trained?)
METHODS: dict[str, tuple[str, str, bool]] = {
    "untrained": ("Untrained", "la2ds", False),
    "coords": ("Coordinates (CASA-style)", "coords", True),
    "la2ds": ("LA2DS", "la2ds", True),
}

# (column header, path into one action's metrics, digits)
COLUMNS: tuple[tuple[str, tuple[str, ...], int], ...] = (
    ("Class. 10 %", ("classification", "0.1"), 2),
    ("Class. 50 %", ("classification", "0.5"), 2),
    ("Class. 100 %", ("classification", "1.0"), 2),
    ("Progress", ("progression",), 3),
    ("Kendall's tau", ("kendalls_tau",), 3),
    ("AP@5", ("ap", "5"), 3),
    ("AP@10", ("ap", "10"), 3),
    ("AP@15", ("ap", "15"), 3),
)


def _value(metrics: Mapping[str, Any], path: tuple[str, ...]) -> float:
    value: Any = metrics
    for key in path:
        value = value[key]
    return float("nan") if value is None else float(value)


def compare(
    cache: str | Path,
    dataset: str,
    action: str | None = None,
    out_dir: str | Path = "compare",
    epochs: int = 100,
    *,
    model_config: Mapping[str, Any] | None = None,
    where: Literal["encoder", "projection"] = "encoder",
    stride: int = 1,
    label_seed: int = 0,
    standardize: bool = False,
    png: bool = False,
    progress: bool = False,
    **train_overrides: Any,
) -> dict[str, Any]:
    """Train, embed and evaluate the three methods of METHODS; write OUT/compare.json and compare.md.

    cache, dataset, action: the Zarr cache, its dataset group and one action (None = every video of
    the dataset, one model for all; the table then shows the mean over actions).
    epochs: training epochs of the coordinate baseline and LA2DS (the untrained encoder has 0).
    model_config: ModelConfig fields for both networks (the coordinate baseline gets model="coords").
    train_overrides: further TrainConfig fields (batch_size, lr, max_frames, seed, device, ...).
    where / stride / label_seed / standardize: as `la2ds embed --where`, `la2ds evaluate --stride /
    --seed / --standardize`.
    png: also write each method's report PNGs (`models.plots.write_report_pngs`) into OUT/<name>/.

    Returns {"dataset", "action", "cache", "epochs", "row", "phase_labels", "columns",
    "methods": {name: {"label", "model", "epochs", "run_dir", "embeddings", "report", "final_loss",
    "train_seconds", "metrics" (the row shown), "results" (every action and the mean)}}}."""
    from models.train import TrainConfig

    cache = Path(cache)
    if not cache.exists():
        raise FileNotFoundError(f"{cache}: no cache here")
    if epochs < 1:
        raise ValueError(f"epochs must be >= 1 (the trained methods), got {epochs}")
    for reserved in ("cache", "dataset", "action", "out", "epochs", "model"):
        if reserved in train_overrides:
            raise ValueError(f"{reserved!r} is set by compare itself, not a train override")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    model_config = dict(model_config or {})
    model_config.pop("model", None)

    methods: dict[str, dict[str, Any]] = {}
    for name, (label, kind, trained) in METHODS.items():
        folder = out_dir / name
        n_epochs = epochs if trained else 0
        if progress:
            print(f"[compare] {label}: train {n_epochs} epochs, embed, evaluate -> {folder}", file=sys.stderr)
        config = TrainConfig.for_dataset(dataset, **{
            **train_overrides, "cache": cache, "action": action, "out": folder / "run", "epochs": n_epochs,
            "model": {**model_config, "model": kind},
        })
        methods[name] = {"label": label, "model": kind, "epochs": n_epochs, **run_row(
            config, folder, where=where, stride=stride, label_seed=label_seed, standardize=standardize, png=png,
            progress=progress)}

    report = {**report_header(cache, dataset, action, epochs), "methods": methods}
    write_table_report(out_dir, "compare", report, compare_markdown(report))
    return report


def run_row(config, folder: Path, *, where: str = "encoder", stride: int = 1, label_seed: int = 0,
            standardize: bool = False, png: bool = False, progress: bool = False) -> dict[str, Any]:
    """One row of a comparison table: train `config`, embed into FOLDER/embeddings.zarr, evaluate into
    FOLDER (metrics.json, metrics.md, PNGs if asked). Returns the row's run facts and metrics."""
    from models.embed import embed
    from models.evaluate import evaluate_embeddings
    from models.train import train

    started = time.perf_counter()
    result = train(config, progress=progress)
    seconds = time.perf_counter() - started
    emb = embed(result.run_dir, config.cache, folder / "embeddings.zarr", where=where, device=config.device,
                progress=progress)
    results = evaluate_embeddings(emb.out, folder, stride=stride, seed=label_seed, standardize=standardize)
    if png:
        from models.plots import write_report_pngs

        write_report_pngs(emb.out, config.cache, folder)
    row = config.action if config.action is not None and config.action in results else MEAN
    return {
        "run_dir": str(result.run_dir), "embeddings": str(emb.out), "report": str(folder / "metrics.md"),
        "final_loss": result.losses[-1] if result.losses else None, "train_seconds": seconds,
        "metrics": results[row], "results": results,
    }


def report_header(cache: Path, dataset: str, action: str | None, epochs: int) -> dict[str, Any]:
    """The fields every comparison report starts with (what was compared, on which labels)."""
    from models.evaluate import phase_label_note

    return {
        "dataset": dataset, "action": action, "cache": str(Path(cache).resolve()), "epochs": epochs,
        "row": action if action is not None else MEAN,
        "phase_labels": phase_label_note({"cache": str(cache), "dataset": dataset}),
        "columns": [header for header, _, _ in COLUMNS],
    }


def write_table_report(out_dir: Path, stem: str, report: dict[str, Any], markdown: str) -> None:
    """OUT/<stem>.json (NaN as null) and OUT/<stem>.md."""
    (out_dir / f"{stem}.json").write_text(json.dumps(to_jsonable(report), indent=2, allow_nan=False) + "\n")
    (out_dir / f"{stem}.md").write_text(markdown)


def metric_rows(first_header: str, rows: Mapping[str, Mapping[str, Any]]) -> list[str]:
    """Markdown table lines: one row per entry ({"label", "metrics"}), the COLUMNS, best of each column in bold."""
    values = {name: [_value(r["metrics"], path) for _, path, _ in COLUMNS] for name, r in rows.items()}
    best = []
    for col in range(len(COLUMNS)):
        finite = [v[col] for v in values.values() if math.isfinite(v[col])]
        best.append(max(finite) if finite else None)
    lines = [f"| {first_header} | " + " | ".join(header for header, _, _ in COLUMNS) + " |",
             "|---|" + "---:|" * len(COLUMNS)]
    for name, r in rows.items():
        cells = []
        for col, (_, _, digits) in enumerate(COLUMNS):
            v = values[name][col]
            text = f"{v:.{digits}f}" if math.isfinite(v) else "n/a"
            cells.append(f"**{text}**" if best[col] is not None and v == best[col] and len(rows) > 1 else text)
        lines.append(f"| {r['label']} | " + " | ".join(cells) + " |")
    return lines


def compare_markdown(report: Mapping[str, Any]) -> str:
    """The Markdown table of a `compare` result: one row per method, the best of each column in bold."""
    target = f"{report['dataset']}/{report['action']}" if report.get("action") else f"{report['dataset']} (all actions)"
    row = "the action's row" if report.get("action") else "the mean over actions"
    lines = [
        f"## Untrained vs coordinate baseline vs LA2DS: {target}", "",
        report.get("phase_labels", ""), "",
        f"Trained methods: {report['epochs']} epochs; untrained: the same initialisation, 0 epochs. Each row is "
        f"{row} of that method's metrics.json. Classification: accuracy %, 10/50/100 % of the training videos "
        "labelled; Progress: R^2; AP@K: precision 0..1.", "",
    ]
    return "\n".join(lines + metric_rows("Method", report["methods"])) + "\n"

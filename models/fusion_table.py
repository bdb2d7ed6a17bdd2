"""`la2ds modalities`: Pose, RGB and RGB+Pose (two-stage late fusion) on one cache, one table
(the shape of the paper's table 12).

    from models.fusion_table import modality_table
    report = modality_table("cache.zarr", "penn_action", "squat", "runs/modalities", epochs=20,
                            model_overrides={"dim": 64}, lr=1e-3)

With the same TrainConfig (`TrainConfig.for_dataset(dataset, ...)`: the paper's defaults, then
`train_overrides`, the same seed) for every row:

    pose      "Pose"      modality "pose", `epochs` epochs               (stage 1)
    rgb       "RGB"       modality "rgb", `epochs` epochs                (stage 1)
    rgb+pose  "RGB+Pose"  modality "rgb+pose", `fusion_epochs` epochs (default `epochs`), its two
                          encoders initialised from the pose and rgb runs (`init_from`; stage 2)

each trained (`models.train.train`, OUT/<name>/run), embedded (`models.embed.embed`, encoder output:
for RGB+Pose the fused features, OUT/<name>/embeddings.zarr) and evaluated
(`models.evaluate.evaluate_embeddings`, OUT/<name>/metrics.json and metrics.md). The table has the
columns of `models.compare.COLUMNS` (phase classification 10 / 50 / 100 %, progression, Kendall's
tau, AP@5/10/15), from each run's row for the action (or the mean over actions), best in bold;
written to OUT/modalities.json (NaN as null) and OUT/modalities.md. The cache needs RGB frames.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

__all__ = ["MODALITIES", "modality_markdown", "modality_table"]

MODALITIES: dict[str, str] = {"pose": "Pose", "rgb": "RGB", "rgb+pose": "RGB+Pose"}


def _folder(name: str) -> str:
    return name.replace("+", "_")


def modality_table(
    cache: str | Path,
    dataset: str,
    action: str | None,
    out_dir: str | Path,
    epochs: int = 100,
    model_overrides: Mapping[str, Any] | None = None,
    *,
    fusion_epochs: int | None = None,
    stride: int = 1,
    label_seed: int = 0,
    standardize: bool = False,
    progress: bool = False,
    **train_overrides: Any,
) -> dict[str, Any]:
    """Train, embed and evaluate Pose, RGB and RGB+Pose; write OUT/modalities.json and modalities.md.

    standardize: as `la2ds evaluate --standardize` (scale embedding dimensions before the SVM).
    model_overrides: ModelConfig fields for every network (modality is set per row).
    train_overrides: further TrainConfig fields (batch_size, lr, max_frames, seed, device, ...).
    Returns {"dataset", "action", "cache", "epochs", "fusion_epochs", "row", "phase_labels", "columns",
    "modalities": {name: {"label", "epochs", "run_dir", "init_from", "embeddings", "report", "final_loss",
    "train_seconds", "metrics" (the row shown), "results" (every action and the mean)}}}."""
    from models.compare import report_header, run_row, write_table_report
    from models.train import TrainConfig

    cache = Path(cache)
    if not cache.exists():
        raise FileNotFoundError(f"{cache}: no cache here")
    fusion_epochs = epochs if fusion_epochs is None else fusion_epochs
    if epochs < 1 or fusion_epochs < 1:
        raise ValueError(f"epochs must be >= 1, got {epochs} (fusion {fusion_epochs})")
    for reserved in ("cache", "dataset", "action", "out", "epochs", "model", "init_from"):
        if reserved in train_overrides:
            raise ValueError(f"{reserved!r} is set by modality_table itself, not a train override")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    model_overrides = {k: v for k, v in dict(model_overrides or {}).items() if k != "modality"}

    rows: dict[str, dict[str, Any]] = {}
    for name, label in MODALITIES.items():
        folder = out_dir / _folder(name)
        n_epochs = fusion_epochs if name == "rgb+pose" else epochs
        init_from = ({"pose": Path(rows["pose"]["run_dir"]), "rgb": Path(rows["rgb"]["run_dir"])}
                     if name == "rgb+pose" else None)
        if progress:
            print(f"[modalities] {label}: train {n_epochs} epochs"
                  f"{' from the pose and RGB runs' if init_from else ''}, embed, evaluate -> {folder}", file=sys.stderr)
        config = TrainConfig.for_dataset(dataset, **{
            **train_overrides, "cache": cache, "action": action, "out": folder / "run", "epochs": n_epochs,
            "model": {**model_overrides, "modality": name}, "init_from": init_from,
        })
        rows[name] = {
            "label": label, "epochs": n_epochs,
            "init_from": {k: str(v) for k, v in init_from.items()} if init_from else None,
            **run_row(config, folder, stride=stride, label_seed=label_seed, standardize=standardize, progress=progress),
        }

    report = {**report_header(cache, dataset, action, epochs), "fusion_epochs": fusion_epochs, "modalities": rows}
    write_table_report(out_dir, "modalities", report, modality_markdown(report))
    return report


def modality_markdown(report: Mapping[str, Any]) -> str:
    """The Markdown table of a `modality_table` result: rows Pose, RGB, RGB+Pose; best of each column in bold."""
    from models.compare import metric_rows

    target = f"{report['dataset']}/{report['action']}" if report.get("action") else f"{report['dataset']} (all actions)"
    lines = [
        f"## Pose vs RGB vs RGB+Pose: {target}", "",
        report.get("phase_labels", ""), "",
        f"Pose and RGB: {report['epochs']} epochs each (stage 1); RGB+Pose: late fusion, both encoders "
        f"initialised from those runs, {report['fusion_epochs']} epochs (stage 2). Embeddings: encoder output "
        "(fused features for RGB+Pose). Classification: accuracy %, 10/50/100 % of the training videos labelled; "
        "Progress: R^2; AP@K: precision 0..1.", "",
    ]
    return "\n".join(lines + metric_rows("Modality", report["modalities"])) + "\n"

"""`la2ds evaluate`: the field's metrics on frozen per-frame embeddings, written as metrics.json + metrics.md.

    from models.evaluate import evaluate_embeddings
    results = evaluate_embeddings("runs/squat/emb.zarr", "runs/squat/report")

Per action of the store (train split = labelled training videos, test/val = test videos): phase
classification (SVM, 10/50/100 % of the training videos), phase progression (R^2), Kendall's tau,
frame retrieval AP@5/10/15 (`pipeline.metrics`), plus their mean over actions. The table says
where the phase labels came from (derived key events are never called ground truth).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pipeline.metrics import VideoEmbedding, evaluate_all, write_report
from storage.cache import CacheError, read_dataset_attrs
from storage.embeddings import read_embeddings, read_store_attrs


def load_video_embeddings(embeddings: str | Path) -> list[VideoEmbedding]:
    """Every video of an embeddings store as metric inputs (embeddings (T, D), phases (T,))."""
    return [VideoEmbedding(v.video_id, v.attrs["action"], v.attrs["split"], v.embeddings, v.phases)
            for v in read_embeddings(embeddings).values()]


def phase_label_note(store_attrs: dict[str, Any]) -> str:
    """Where the phase labels came from, read from the cache the embeddings were made from."""
    try:
        attrs = read_dataset_attrs(store_attrs["cache"], store_attrs["dataset"])
    except (CacheError, KeyError, FileNotFoundError):
        return "phase labels: as copied from the cache (origin unknown)"
    return f"phase labels: {attrs.get('phase_labels', 'from the pose source (e.g. the synthetic generator)')}"


def evaluate_embeddings(embeddings: str | Path, out: str | Path, stride: int = 1, seed: int = 0,
                        standardize: bool = False) -> dict[str, Any]:
    """Evaluate a store written by `la2ds embed`; writes OUT/metrics.json and OUT/metrics.md.
    standardize: scale embedding dimensions before the SVM (an option; the reference code does not)."""
    store = read_store_attrs(embeddings)
    results = evaluate_all(load_video_embeddings(embeddings), stride=stride, seed=seed, standardize=standardize)
    title = (f"{store.get('model')} embeddings ({store.get('where')}, epoch {store.get('checkpoint_epoch')}) of "
             f"{store.get('dataset')}{'/' + store['action'] if store.get('action') else ''}")
    note = phase_label_note(store) + ("; SVM on standardised embeddings (not the reference protocol)" if standardize else "")
    write_report(results, out, title=title, note=note)
    return results


def report_text(out: str | Path) -> str:
    return (Path(out) / "metrics.md").read_text()


__all__ = ["evaluate_embeddings", "load_video_embeddings", "phase_label_note", "report_text"]

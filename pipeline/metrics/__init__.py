"""Evaluation metrics on frozen per-frame embeddings (TCC / CASA / CARL protocol).

One class per metric, each with `name` and `__call__(train, test)`:
  PhaseClassification -> {"0.1": acc %, "0.5": ..., "1.0": ...}
  PhaseProgression    -> mean R^2
  KendallsTau         -> mean tau (test only)
  FrameRetrieval      -> {"5": AP, "10": ..., "15": ...} (test only)
`report.evaluate_action` / `evaluate_all` run them all; `report.write_report` writes
metrics.json and metrics.md.
"""

from .classification import PhaseClassification, select_training_videos
from .kendall import KendallsTau
from .progression import PhaseProgression, progress_targets
from .report import evaluate_action, evaluate_all, metrics_markdown, write_report
from .retrieval import FrameRetrieval
from .types import VideoEmbedding

__all__ = ["FrameRetrieval", "KendallsTau", "PhaseClassification", "PhaseProgression", "VideoEmbedding",
           "evaluate_action", "evaluate_all", "metrics_markdown", "progress_targets", "select_training_videos",
           "write_report"]

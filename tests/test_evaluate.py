"""`la2ds evaluate` on embeddings of a real (synthetic-data) cache: report files, keys, value ranges."""

from __future__ import annotations

import json

import pytest

from la2ds.cli import main as cli_main
from pipeline.synth.writers import write_dataset
from storage.build import PreprocessConfig, build_cache


@pytest.fixture(scope="module")
def embeddings(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("evaluate")
    write_dataset(tmp / "src", "penn", actions=["squat", "jumping_jacks"], videos_per_action=7, seed=3)
    assert build_cache(PreprocessConfig(kind="penn", source=tmp / "src", cache=tmp / "cache.zarr", workers=1)).ok
    model = '{"dim": 32, "heads": 2, "spatial_layers": 1, "temporal_layers": 1, "mlp_dim": 64, "projection_dim": 16}'
    assert cli_main(["train", "--cache", str(tmp / "cache.zarr"), "--dataset", "penn_action", "--out", str(tmp / "run"),
                     "--epochs", "0", "--model-config", model, "--device", "cpu", "--quiet"]) == 0
    assert cli_main(["embed", "--run", str(tmp / "run"), "--cache", str(tmp / "cache.zarr"),
                     "--out", str(tmp / "emb.zarr"), "--device", "cpu"]) == 0
    return tmp / "emb.zarr"


def test_evaluate_writes_the_field_metrics_per_action_and_mean(embeddings, tmp_path, capsys):
    assert cli_main(["evaluate", "--embeddings", str(embeddings), "--out", str(tmp_path / "report")]) == 0
    results = json.loads((tmp_path / "report" / "metrics.json").read_text())
    assert set(results) == {"squat", "jumping_jacks", "mean"}
    for action, metrics in results.items():
        assert set(metrics) == {"classification", "progression", "kendalls_tau", "ap"}
        assert set(metrics["classification"]) == {"0.1", "0.5", "1.0"} and set(metrics["ap"]) == {"5", "10", "15"}
        assert all(0 <= acc <= 100 for acc in metrics["classification"].values())
        assert -1 <= metrics["kendalls_tau"] <= 1 and all(0 <= p <= 1 for p in metrics["ap"].values())
        assert metrics["progression"] <= 1
    # 3 and 4 phases (chance 33 % and 25 %): even untrained heatmap embeddings do better than chance
    assert results["mean"]["classification"]["1.0"] > 35
    table = capsys.readouterr().out
    assert "| squat |" in table and "| **mean** |" in table
    assert "phase labels: from the pose source" in table

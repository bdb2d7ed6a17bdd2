import json

import pytest

from models.registry import decide_and_record, metric_value, read_registry


def metrics(tau: float, acc: float = 50.0) -> dict:
    row = {"classification": {"0.1": acc, "0.5": acc, "1.0": acc}, "progression": 0.5, "kendalls_tau": tau,
           "ap": {"5": 0.5, "10": 0.5, "15": 0.5}}
    return {"squat": row, "mean": row}


def test_metric_paths_read_the_mean_row():
    m = metrics(0.4, acc=71.0)
    assert metric_value(m, "kendalls_tau") == 0.4
    assert metric_value(m, "classification.1.0") == 71.0 and metric_value(m, "ap.5") == 0.5
    with pytest.raises(ValueError, match="unknown metric"):
        metric_value(m, "accuracy")


def test_first_run_is_promoted_then_only_better_ones(tmp_path):
    line = tmp_path / "penn"
    first = decide_and_record(line, "run1", metrics(0.3))
    assert first.promoted and first.reason == "no champion yet"
    worse = decide_and_record(line, "run2", metrics(0.2))
    assert not worse.promoted and worse.champion_run == "run1" and "does not beat" in worse.reason
    better = decide_and_record(line, "run3", metrics(0.5))
    assert better.promoted and better.champion_score == 0.3
    registry = read_registry(line)
    assert registry["champion"]["run"] == "run3"
    assert [h["decision"] for h in registry["history"]] == ["promoted", "kept champion", "promoted"]
    assert json.loads((line / "registry.json").read_text()) == registry
    by_accuracy = decide_and_record(line, "run4", metrics(0.1, acc=99.0), metric="classification.1.0")
    assert by_accuracy.promoted  # the metric is a parameter


def test_candidate_without_score_is_not_promoted(tmp_path):
    decide_and_record(tmp_path, "run1", metrics(0.3))
    decision = decide_and_record(tmp_path, "run2", metrics(float("nan")))
    assert not decision.promoted and "no kendalls_tau score" in decision.reason

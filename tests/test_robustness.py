"""Robustness studies (models/robustness.py, `la2ds robustness`): missing keypoints (chains dropped at
test time) and noisy keypoints (clean / noisy training and test), LA2DS and the coordinate baseline,
on a small synthetic Penn-format cache with tiny models, on CPU."""

from __future__ import annotations

import contextlib
import io
import json
from pathlib import Path

import numpy as np
import pytest
import torch

from la2ds.cli import main as cli_main
from models.embed import embed
from models.evaluate import load_video_embeddings
from models.robustness import (
    CONDITIONS, _render_like_cache, corrupt_keypoints, missing_keypoint_embeddings, missing_keypoints, noisy_cache,
    noisy_keypoints,
)
from pipeline.heatmaps import render_heatmaps_torch
from pipeline.layouts import get_layout
from pipeline.metrics import PhaseClassification
from pipeline.synth.writers import write_dataset
from storage.build import PreprocessConfig, build_cache
from storage.cache import list_videos, read_dataset_attrs, read_video

DATASET = "penn_action"
TINY = {"dim": 32, "heads": 2, "spatial_layers": 1, "temporal_layers": 1, "cross_layers": 1, "mlp_dim": 64,
        "projection_dim": 16, "projection_hidden": 32}


@pytest.fixture(scope="module")
def cache(tmp_path_factory) -> Path:
    """8 synthetic squat videos (6 train, 2 test) in a Zarr cache."""
    tmp = tmp_path_factory.mktemp("robustness")
    write_dataset(tmp / "src", "penn", actions=["squat"], videos_per_action=8, seed=0)
    assert build_cache(PreprocessConfig(kind="penn", source=tmp / "src", cache=tmp / "cache.zarr", workers=1)).ok
    return tmp / "cache.zarr"


@pytest.fixture(scope="module")
def report(cache) -> tuple[Path, str]:
    """`la2ds robustness` with 1-epoch tiny models: (its output folder, what it printed)."""
    out = cache.parent / "robust"
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        code = cli_main(["robustness", "--cache", str(cache), "--dataset", DATASET, "--action", "squat",
                         "--out", str(out), "--epochs", "1", "--model-config", json.dumps(TINY), "--batch-size", "3",
                         "--lr", "1e-3", "--max-frames", "32", "--sigma", "1.0", "--device", "cpu", "--quiet"])
    assert code == 0
    return out, printed.getvalue()


def test_cli_prints_both_tables_and_writes_the_report_files(report):
    out, printed = report
    md = (out / "robustness.md").read_text()
    assert md in printed
    lines = md.splitlines()
    header = next(line for line in lines if line.startswith("| p |"))
    assert header == "| p | LA2DS 100 % | Coordinates 100 % | LA2DS 10 % | Coordinates 10 % |"
    rows = [line.split("|")[1].strip() for line in lines if line.startswith("| ") and not line.startswith("| p |")
            and not line.startswith("| Train")]
    assert rows == ["0", "0.25", "0.5", "1", "C->C", "C->N", "N->C", "N->N"]
    assert "| Train->Test | LA2DS | Coordinates |" in lines

    results = json.loads((out / "robustness.json").read_text())
    assert set(results) >= {"settings", "runs", "noisy_cache", "missing_keypoints", "noisy_keypoints"}
    for kind in ("la2ds", "coords"):
        missing, noisy = results["missing_keypoints"][kind], results["noisy_keypoints"][kind]
        assert list(missing) == ["0.0", "0.25", "0.5", "1.0"]
        assert list(noisy) == list(CONDITIONS)
        for accuracies in [*missing.values(), *noisy.values()]:
            assert set(accuracies) == {"0.1", "0.5", "1.0"}
            assert all(0 <= a <= 100 for a in accuracies.values())
        # both studies use the same clean run and the same clean SVM training: C->C is the p = 0 row
        assert noisy["C->C"] == missing["0.0"]
        for run in results["runs"][kind].values():
            assert (Path(run) / "checkpoint.pt").is_file()


@pytest.mark.parametrize("kind", ["la2ds", "coords"])
def test_p0_reproduces_the_clean_embeddings_and_accuracy_exactly(report, cache, kind, tmp_path):
    out, _ = report
    run = out / kind / "clean"
    embed(run, cache, tmp_path / "emb.zarr", device="cpu", progress=False)
    clean = {v.video_id: v for v in load_video_embeddings(tmp_path / "emb.zarr")}
    train = [v for v in clean.values() if v.split == "train"]
    test = [v for v in clean.values() if v.split == "test"]
    expected = PhaseClassification((0.1, 0.5, 1.0), seed=0)(train, test)

    got = missing_keypoints(run, cache, probabilities=(0,), seed=0, device="cpu")
    assert got == {0.0: expected}
    standardized = missing_keypoints(run, cache, probabilities=(0,), seed=0, standardize=True, device="cpu")
    assert standardized == {0.0: PhaseClassification((0.1, 0.5, 1.0), seed=0, standardize=True)(train, test)}
    train0, test0 = missing_keypoint_embeddings(run, cache, 0.0, seed=0, device="cpu")
    for v in [*train0, *test0]:
        assert np.array_equal(v.embeddings, clean[v.video_id].embeddings)
    assert json.loads((out / "robustness.json").read_text())["missing_keypoints"][kind]["0.0"] == expected


@pytest.mark.parametrize("kind", ["la2ds", "coords"])
def test_p1_drops_one_chain_per_frame_and_changes_the_test_embeddings(report, cache, kind):
    out, _ = report
    run = out / kind / "clean"
    train0, test0 = missing_keypoint_embeddings(run, cache, 0.0, seed=3, device="cpu")
    train1, test1 = missing_keypoint_embeddings(run, cache, 1.0, seed=3, device="cpu")
    for a, b in zip(train0, train1):  # the training videos stay clean (corruption at test time)
        assert np.array_equal(a.embeddings, b.embeddings)
    assert [v.video_id for v in test1] == [v.video_id for v in test0] and len(test1) == 2
    for a, b in zip(test0, test1):
        assert a.embeddings.shape == b.embeddings.shape
        changed = ~np.all(np.isclose(a.embeddings, b.embeddings, atol=1e-6), axis=1)
        assert changed.mean() > 0.9, f"{a.video_id}: only {changed.mean():.0%} of the frames changed"


def test_corrupted_keypoints_lack_exactly_one_chain_per_frame(cache):
    layout = get_layout(read_dataset_attrs(cache, DATASET)["layout"])
    chains = {name: set(joints) for name, joints in layout.chains.items()}
    attrs = read_dataset_attrs(cache, DATASET)
    for video_id in list_videos(cache, DATASET)[-2:]:
        video = read_video(cache, DATASET, video_id)
        clean = video.keypoints
        # corrupted frames are re-rendered as the cache renders them: a clean frame comes back as cached
        again = _render_like_cache(clean, layout, int(attrs["size"]), float(attrs["sigma"])).numpy()
        assert np.abs(again - video.heatmaps).max() <= 1 / 255 + 1e-6
        corrupted, dropped = corrupt_keypoints(clean, layout, 1.0, seed=0, video_id=video_id)
        assert corrupted.shape == clean.shape and all(d in chains for d in dropped)
        for t, name in enumerate(dropped):
            inside = sorted(chains[name])
            outside = [k for k in range(layout.num_joints) if k not in chains[name]]
            assert np.all(corrupted[t, inside] == 0)  # c = 0, x = y = 0
            assert np.array_equal(corrupted[t, outside], clean[t, outside])
        assert len(set(dropped)) > 1  # chains are drawn per frame
        # seeded, and the same stream for every p: frames hit at p = 0.5 are hit at p = 1 with the same chain
        again, dropped_again = corrupt_keypoints(clean, layout, 1.0, seed=0, video_id=video_id)
        assert np.array_equal(again, corrupted) and dropped_again == dropped
        half, dropped_half = corrupt_keypoints(clean, layout, 0.5, seed=0, video_id=video_id)
        hit = [t for t, d in enumerate(dropped_half) if d is not None]
        assert 0 < len(hit) < len(clean) and all(dropped_half[t] == dropped[t] for t in hit)
        assert np.array_equal(half[hit], corrupted[hit])
        untouched = [t for t in range(len(clean)) if t not in hit]
        assert np.array_equal(half[untouched], clean[untouched])


def test_noisy_cache_has_sigma_noise_and_matching_heatmaps(report, cache, tmp_path):
    out, _ = report
    for sigma, noisy in [(1.0, out / "noisy_cache.zarr"), (2.0, noisy_cache(cache, DATASET, tmp_path / "n2.zarr", 2.0, 7))]:
        assert list_videos(noisy, DATASET) == list_videos(cache, DATASET)
        attrs = read_dataset_attrs(noisy, DATASET)
        assert attrs["keypoint_noise"]["sigma"] == sigma and attrs["layout"] == "penn_action"
        limbs = np.asarray(get_layout(attrs["layout"]).limbs).reshape(-1, 2)
        diffs = []
        for video_id in list_videos(cache, DATASET):
            a, b = read_video(cache, DATASET, video_id), read_video(noisy, DATASET, video_id)
            present = a.keypoints[..., 2] > 0
            assert np.array_equal(a.keypoints[..., 2], b.keypoints[..., 2])  # confidences unchanged
            assert np.array_equal(a.keypoints[~present], b.keypoints[~present])  # missing joints stay missing
            diffs.append((b.keypoints[..., :2] - a.keypoints[..., :2])[present].ravel())
            assert np.array_equal(a.phases, b.phases) and a.attrs["split"] == b.attrs["split"]
            rendered = render_heatmaps_torch(torch.from_numpy(b.keypoints), limbs, size=int(attrs["size"]),
                                             sigma=float(attrs["sigma"])).numpy()
            assert np.abs(b.heatmaps - rendered).max() <= 1 / 255
            assert np.abs(b.heatmaps - a.heatmaps).max() > 0.1  # really re-rendered
        diffs = np.concatenate(diffs)
        assert abs(diffs.mean()) < 0.05 * sigma and abs(diffs.std() - sigma) < 0.05 * sigma

    # the same noise of the same videos is kept; another seed is written again
    marker = tmp_path / "n2.zarr" / DATASET / list_videos(cache, DATASET)[0] / "keypoints" / "zarr.json"
    noisy_cache(cache, DATASET, tmp_path / "n2.zarr", 2.0, 7, action="squat")
    assert read_dataset_attrs(tmp_path / "n2.zarr", DATASET)["keypoint_noise"]["action"] == "squat"
    before = marker.stat().st_mtime_ns
    noisy_cache(cache, DATASET, tmp_path / "n2.zarr", 2.0, 7, action="squat")
    assert marker.stat().st_mtime_ns == before
    noisy_cache(cache, DATASET, tmp_path / "n2.zarr", 2.0, 8, action="squat")
    assert marker.stat().st_mtime_ns != before


def test_noisy_keypoints_trains_clean_and_noisy_runs(cache, tmp_path):
    overrides = {"model": {**TINY, "model": "coords"}, "epochs": 1, "batch_size": 3, "lr": 1e-3, "max_frames": 32,
                 "device": "cpu"}
    results = noisy_keypoints(cache, DATASET, "squat", tmp_path / "noise", overrides, sigma=1.5, seed=1, device="cpu")
    assert list(results) == list(CONDITIONS)
    assert all(set(r) == {"0.1", "0.5", "1.0"} and all(0 <= a <= 100 for a in r.values()) for r in results.values())
    for name in ("clean", "noisy"):
        saved = json.loads((tmp_path / "noise" / name / "config.json").read_text())
        assert saved["model"]["model"] == "coords" and saved["action"] == "squat"
    assert Path(json.loads((tmp_path / "noise" / "noisy" / "config.json").read_text())["cache"]) == \
        tmp_path / "noise" / "noisy_cache.zarr"
    assert read_dataset_attrs(tmp_path / "noise" / "noisy_cache.zarr", DATASET)["keypoint_noise"]["sigma"] == 1.5

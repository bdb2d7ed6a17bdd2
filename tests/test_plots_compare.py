"""Report PNGs (`models.plots`, `la2ds evaluate --png`) and `la2ds compare` on a tiny synthetic cache."""

from __future__ import annotations

import json

import numpy as np
import pytest

from la2ds.cli import main as cli_main
from models.compare import COLUMNS, METHODS, compare_markdown
from models.plots import alignment_plot, embedding_projection, nearest_frames, retrieval_grid, write_report_pngs
from pipeline.metrics import VideoEmbedding
from pipeline.synth.writers import write_dataset
from storage.build import PreprocessConfig, build_cache
from storage.cache import read_dataset_attrs, read_video

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
TINY = '{"dim": 32, "heads": 2, "spatial_layers": 1, "temporal_layers": 1, "mlp_dim": 64, "projection_dim": 16}'
DATASET = "penn_action"


def assert_png(path, min_bytes: int = 5_000, max_bytes: int = 2_000_000) -> None:
    data = path.read_bytes()
    assert data[:8] == PNG_MAGIC, f"{path} is not a PNG"
    assert min_bytes < len(data) < max_bytes, f"{path}: {len(data)} bytes"
    from matplotlib.image import imread

    image = imread(path)
    assert image.shape[0] >= 200 and image.shape[1] >= 400 and image.std() > 0.01  # drawn, not blank


@pytest.fixture(scope="module")
def cache(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("plots")
    write_dataset(tmp / "src", "penn", actions=["squat"], videos_per_action=8, seed=0)
    assert build_cache(PreprocessConfig(kind="penn", source=tmp / "src", cache=tmp / "cache.zarr", workers=1)).ok
    return tmp / "cache.zarr"


@pytest.fixture(scope="module")
def compared(cache, tmp_path_factory):
    out = tmp_path_factory.mktemp("compare") / "cmp"
    code = cli_main(["compare", "--cache", str(cache), "--dataset", DATASET, "--action", "squat", "--out", str(out),
                     "--epochs", "2", "--batch-size", "4", "--max-frames", "48", "--model-config", TINY,
                     "--device", "cpu", "--quiet"])
    assert code == 0
    return out


@pytest.fixture(scope="module")
def videos(compared):
    from models.evaluate import load_video_embeddings

    return load_video_embeddings(compared / "la2ds" / "embeddings.zarr")


def _test_videos(videos):
    return [v for v in videos if v.split in ("val", "test")]


def test_compare_writes_three_methods_with_every_metric(compared, capsys):
    report = json.loads((compared / "compare.json").read_text())
    assert set(report["methods"]) == set(METHODS) == {"untrained", "coords", "la2ds"}
    assert report["action"] == "squat" and report["columns"] == [c for c, _, _ in COLUMNS]
    assert "phase labels" in report["phase_labels"]
    for name, method in report["methods"].items():
        assert method["epochs"] == (0 if name == "untrained" else 2)
        assert method["model"] == ("coords" if name == "coords" else "la2ds")
        metrics = method["metrics"]
        assert set(metrics) == {"classification", "progression", "kendalls_tau", "ap"}
        assert set(metrics["classification"]) == {"0.1", "0.5", "1.0"} and set(metrics["ap"]) == {"5", "10", "15"}
        assert all(0 <= a <= 100 for a in metrics["classification"].values())
        assert -1 <= metrics["kendalls_tau"] <= 1 and all(0 <= p <= 1 for p in metrics["ap"].values())
        assert metrics == method["results"]["squat"]
        assert (compared / name / "metrics.json").is_file() and (compared / name / "run" / "checkpoint.pt").is_file()
    md = (compared / "compare.md").read_text()
    rows = [line for line in md.splitlines() if line.startswith("| ") and not line.startswith("| Method")]
    assert [r.split("|")[1].strip() for r in rows] == ["Untrained", "Coordinates (CASA-style)", "LA2DS"]
    assert all(len(r.split("|")) == len(COLUMNS) + 3 for r in rows)
    assert "phase labels:" in md and "ground truth" not in md.replace("never called ground truth", "")
    assert md == compare_markdown(report)


def test_compare_rejects_a_missing_cache(tmp_path, capsys):
    assert cli_main(["compare", "--cache", str(tmp_path / "nope.zarr"), "--dataset", DATASET,
                     "--out", str(tmp_path / "o")]) == 2


def test_alignment_plot(videos, tmp_path):
    a, b = _test_videos(videos)[:2]
    path = alignment_plot(a.embeddings, b.embeddings, tmp_path / "sub" / "align.png", titles=(a.video_id, b.video_id))
    assert path == tmp_path / "sub" / "align.png"
    assert_png(path)
    with pytest.raises(ValueError, match="empty"):
        alignment_plot(np.zeros((0, 4)), b.embeddings, tmp_path / "x.png")
    with pytest.raises(ValueError, match="dimensions differ"):
        alignment_plot(a.embeddings, b.embeddings[:, :3], tmp_path / "x.png")
    with pytest.raises(ValueError, match=r"\(T, D\)"):
        alignment_plot(a.embeddings[0], b.embeddings, tmp_path / "x.png")
    assert not (tmp_path / "x.png").exists()


def test_embedding_projection(videos, tmp_path):
    path = embedding_projection(_test_videos(videos), tmp_path / "proj.png")
    assert_png(path)
    with pytest.raises(ValueError, match="no videos"):
        embedding_projection([], tmp_path / "x.png")
    empty = VideoEmbedding("e", "squat", "test", np.zeros((0, 32)), np.zeros(0))
    with pytest.raises(ValueError, match="empty"):
        embedding_projection([empty], tmp_path / "x.png")
    other = VideoEmbedding("o", "situp", "test", np.ones((3, 32)), np.zeros(3))
    with pytest.raises(ValueError, match="per action"):
        embedding_projection([videos[0], other], tmp_path / "x.png")


def test_retrieval_grid(videos, cache, tmp_path):
    test = _test_videos(videos)
    query, frame = test[0], test[0].n_frames // 2
    keypoints = {v.video_id: read_video(cache, DATASET, v.video_id).keypoints for v in videos}
    limbs = read_dataset_attrs(cache, DATASET)["limbs"]
    path = retrieval_grid(query, frame, videos, keypoints, limbs, tmp_path / "grid.png", k=5, size=30)
    assert_png(path)
    # the neighbours: k of them, nearest first, never from the query's own video
    found = nearest_frames(query, frame, videos, k=5)
    assert len(found) == 5 and all(v.video_id != query.video_id for v, _, _ in found)
    assert [d for _, _, d in found] == sorted(d for _, _, d in found)
    with pytest.raises(ValueError, match="out of range"):
        retrieval_grid(query, query.n_frames, videos, keypoints, limbs, tmp_path / "x.png")
    with pytest.raises(ValueError, match="no candidate"):
        retrieval_grid(query, frame, [query], keypoints, limbs, tmp_path / "x.png")
    with pytest.raises(ValueError, match="k must be"):
        retrieval_grid(query, frame, videos, keypoints, limbs, tmp_path / "x.png", k=0)
    with pytest.raises(ValueError, match="no keypoints"):
        retrieval_grid(query, frame, videos, {}, limbs, tmp_path / "x.png")
    assert not (tmp_path / "x.png").exists()


def test_write_report_pngs(compared, tmp_path):
    paths = write_report_pngs(compared / "coords" / "embeddings.zarr", None, tmp_path / "report")
    assert [p.name for p in paths] == ["alignment_squat.png", "projection_squat.png", "retrieval_squat.png"]
    for path in paths:
        assert path.parent == tmp_path / "report"
        assert_png(path)


def test_evaluate_writes_pngs_by_default_and_not_with_no_png(compared, tmp_path, capsys):
    emb = compared / "untrained" / "embeddings.zarr"
    assert cli_main(["evaluate", "--embeddings", str(emb), "--out", str(tmp_path / "on")]) == 0
    printed = capsys.readouterr().out
    pngs = sorted((tmp_path / "on").glob("*.png"))
    assert [p.name for p in pngs] == ["alignment_squat.png", "projection_squat.png", "retrieval_squat.png"]
    for png in pngs:
        assert_png(png)
        assert str(png) in printed
    assert cli_main(["evaluate", "--embeddings", str(emb), "--out", str(tmp_path / "off"), "--no-png"]) == 0
    assert (tmp_path / "off" / "metrics.json").is_file() and not list((tmp_path / "off").glob("*.png"))

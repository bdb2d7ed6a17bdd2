"""Phase labels into the cache: published labels (TCC / CARL layout), write_phases, label_dataset
(derived key events, not ground truth), and the derived rules over the real Penn Action videos."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
import zarr

from pipeline.key_events import NUM_PHASES, PHASE_SOURCE, derive_phases
from pipeline.phase_labels import PhaseLabelError, find_label_files, load_published_labels, read_label_file
from pipeline.sources import SourceKind, SourceOptions, VideoRef
from pipeline.sources import penn
from pipeline.synth.writers import write_dataset
from storage import cache as zcache
from storage.build import PreprocessConfig, build_cache
from storage.labels import DERIVED_NOTE, PUBLISHED_NOTE, label_dataset, write_phases

DATASET = "penn_action"


# ------------------------------------------------------------------ published labels on disk


def _write_labels(root: Path, entries: dict[tuple[str, str, str], np.ndarray]) -> Path:
    for (split, action, vid), labels in entries.items():
        (root / split / action).mkdir(parents=True, exist_ok=True)
        np.save(root / split / action / f"{vid}.npy", labels)
    return root


def test_published_layout_is_loaded(tmp_path):
    root = _write_labels(tmp_path / "labels", {
        ("train", "squat", "0001"): np.array([0, 0, 1, 1, 2, 3], dtype=np.int64),
        ("train", "bowl", "0002"): np.array([[0], [1], [1], [2]], dtype=np.int32),  # (T, 1)
        ("val", "squat", "0003"): np.array([0.0, 1.0, 1.0, -1.0]),  # whole floats, -1 unknown
    })
    (root / "train" / "README.txt").write_text("ignored")
    files = find_label_files(root)
    assert sorted(files) == ["0001", "0002", "0003"]
    assert (files["0002"].split, files["0002"].action) == ("train", "bowl")
    assert files["0003"].split == "val"
    labels = load_published_labels(root, lengths={"0001": 6, "0002": 4})
    assert labels["0001"].dtype == np.int16 and labels["0001"].tolist() == [0, 0, 1, 1, 2, 3]
    assert labels["0002"].shape == (4,) and labels["0003"].tolist() == [0, 1, 1, -1]


def test_length_mismatch_names_the_file(tmp_path):
    root = _write_labels(tmp_path / "labels", {("train", "squat", "0001"): np.zeros(5, dtype=np.int16)})
    with pytest.raises(PhaseLabelError, match=r"0001\.npy: 5 labels, but the cached video has 7 frames"):
        load_published_labels(root, lengths={"0001": 7})


@pytest.mark.parametrize("labels, message", [
    (np.array([0.0, 0.5]), "not all whole numbers"),
    (np.array(["a", "b"]), "expected integers"),
    (np.zeros((2, 3), dtype=int), "expected \\(T,\\)"),
    (np.array([0, -2]), "range over"),
])
def test_bad_label_files(tmp_path, labels, message):
    path = tmp_path / "0001.npy"
    np.save(path, labels)
    with pytest.raises(PhaseLabelError, match=message) as err:
        read_label_file(path)
    assert str(path) in str(err.value)


def test_bad_label_folders(tmp_path):
    with pytest.raises(PhaseLabelError, match="no such label folder"):
        find_label_files(tmp_path / "absent")
    (tmp_path / "flat").mkdir()
    with pytest.raises(PhaseLabelError, match=r"train/ nor val/"):
        find_label_files(tmp_path / "flat")
    root = _write_labels(tmp_path / "twice", {("train", "squat", "0001"): np.zeros(3, int),
                                              ("val", "squat", "0001"): np.zeros(3, int)})
    with pytest.raises(PhaseLabelError, match="second label file"):
        find_label_files(root)
    (root / "train" / "squat" / "0009.npy").write_bytes(b"not numpy")
    with pytest.raises(PhaseLabelError, match="unreadable"):
        read_label_file(root / "train" / "squat" / "0009.npy")


# ------------------------------------------------------------------ the cache


@pytest.fixture(scope="module")
def synthetic_cache(tmp_path_factory) -> tuple[Path, Path]:
    """(source folder, cache) of three synthetic squats in Penn format (their phases come with them)."""
    root = tmp_path_factory.mktemp("labels")
    source = root / "penn"
    write_dataset(source, "penn", actions=["squat"], videos_per_action=3)
    cache = root / "cache.zarr"
    summary = build_cache(PreprocessConfig(kind="penn", source=source, cache=cache, workers=1))
    assert summary.ok and summary.done == 3
    return source, cache


@pytest.fixture
def cache(synthetic_cache, tmp_path) -> Path:
    """A private copy of the synthetic cache (tests modify it)."""
    copy = tmp_path / "cache.zarr"
    shutil.copytree(synthetic_cache[1], copy)
    return copy


def test_write_phases_writes_and_replaces(cache):
    n = zcache.read_video(cache, DATASET, "0001").keypoints.shape[0]
    phases = (np.arange(n) * 4 // n).astype(np.int16)
    write_phases(cache, DATASET, "0001", phases, PHASE_SOURCE, events=[5, 9, 12])
    video = zcache.read_video(cache, DATASET, "0001")
    assert np.array_equal(video.phases, phases) and video.phases.dtype == np.int16
    assert video.attrs["phase_source"] == "derived:key-events-v1" and video.attrs["phase_events"] == [5, 9, 12]
    assert video.attrs["complete"] is True
    array = zarr.open_array(cache / DATASET / "0001" / "phases", mode="r")
    assert array.metadata.dimension_names == ("time",) and array.fill_value == -1
    assert array.attrs["phase_source"] == PHASE_SOURCE

    write_phases(cache, DATASET, "0001", np.full(n, 2), "published:/somewhere")  # replaced; events from the labels
    video = zcache.read_video(cache, DATASET, "0001")
    assert video.phases.tolist() == [2] * n and video.attrs["phase_events"] == []
    assert video.attrs["phase_source"] == "published:/somewhere"


def test_write_phases_refuses_bad_labels(cache):
    before = zcache.read_video(cache, DATASET, "0002")
    n = before.keypoints.shape[0]
    with pytest.raises(ValueError, match=f"{n + 1} phase labels for a video of {n} frames"):
        write_phases(cache, DATASET, "0002", np.zeros(n + 1, dtype=np.int16), PHASE_SOURCE)
    with pytest.raises(ValueError, match="integers"):
        write_phases(cache, DATASET, "0002", np.zeros(n) + 0.5, PHASE_SOURCE)
    with pytest.raises(ValueError, match="phase source"):
        write_phases(cache, DATASET, "0002", np.zeros(n, dtype=np.int16), "ground truth")
    assert np.array_equal(zcache.read_video(cache, DATASET, "0002").phases, before.phases)
    with pytest.raises(zcache.CacheError, match="no video"):
        write_phases(cache, DATASET, "9999", np.zeros(3, dtype=np.int16), PHASE_SOURCE)
    zarr.open_group(cache / DATASET / "0002", mode="r+").attrs["complete"] = False
    with pytest.raises(zcache.CacheError, match="incomplete"):
        write_phases(cache, DATASET, "0002", np.zeros(n, dtype=np.int16), PHASE_SOURCE)


def test_label_dataset_derived(cache):
    zarr.open_group(cache / DATASET / "0003", mode="r+").attrs["action"] = "strum_guitar"  # no rule
    summary = label_dataset(cache, DATASET, derive=True)
    # the synthetic videos came with their own phases: kept unless overwrite
    assert summary.skipped_has_labels == ["0001", "0002"] and summary.skipped_no_rule == ["0003"]
    assert not summary.labelled and summary.ok
    assert "phase_labels" not in zcache.read_dataset_attrs(cache, DATASET)

    summary = label_dataset(cache, DATASET, derive=True, overwrite=True)
    print("\n" + summary.text())
    assert summary.labelled == ["0001", "0002"] and summary.skipped_no_rule == ["0003"] and summary.ok
    assert "derived key events (not ground truth)" in summary.text()
    for vid in summary.labelled:
        video = zcache.read_video(cache, DATASET, vid)
        expected = derive_phases("squat", video.keypoints)
        assert np.array_equal(video.phases, expected.phases)
        assert video.attrs["phase_source"] == PHASE_SOURCE and video.attrs["phase_events"] == expected.events
        assert video.attrs["phase_event_names"] == ["hips at knees going down", "hips at floor", "hips at knees going up"]
        assert len(video.attrs["phase_events_found"]) == 3
        assert np.array_equal(np.unique(video.phases), np.arange(NUM_PHASES["squat"]))
    attrs = zcache.read_dataset_attrs(cache, DATASET)
    assert attrs["phase_labels"] == DERIVED_NOTE == "derived key events (not ground truth)"
    assert attrs["phase_label_counts"] == {PHASE_SOURCE: 2, "source": 1}
    assert attrs["layout"] == "penn_action"  # the preprocessing attrs are kept

    again = label_dataset(cache, DATASET)  # derived labels are replaced without asking
    assert again.labelled == ["0001", "0002"]


def test_label_dataset_published(cache, synthetic_cache, tmp_path):
    """The synthetic generator's labels, put in the published layout, go in the same way."""
    source = synthetic_cache[0]
    truth = {f"{i:04d}": np.load(source / "labels" / f"{i:04d}.phases.npy") for i in (1, 2, 3)}
    label_dir = _write_labels(tmp_path / "published", {
        ("train", "squat", "0001"): truth["0001"],
        ("val", "squat", "0002"): truth["0002"][:-1],  # one frame short
        ("val", "squat", "0042"): truth["0003"],  # no such cached video
    })
    summary = label_dataset(cache, DATASET, label_dir=label_dir)
    print("\n" + summary.text())
    assert summary.labelled == ["0001"] and summary.skipped_no_labels == ["0003"]
    assert summary.unmatched_label_files == ["0042"]
    assert list(summary.failed) == ["0002"] and "0002.npy" in summary.failed["0002"] and not summary.ok
    assert "FAILED 0002" in summary.text()
    video = zcache.read_video(cache, DATASET, "0001")
    assert np.array_equal(video.phases, truth["0001"])
    assert video.attrs["phase_source"] == f"published:{label_dir}"
    assert zcache.read_dataset_attrs(cache, DATASET)["phase_labels"] == PUBLISHED_NOTE

    with pytest.raises(ValueError, match="nothing to do"):
        label_dataset(cache, DATASET, derive=False)
    with pytest.raises(zcache.CacheError):
        label_dataset(cache, "no_such_dataset")


# ------------------------------------------------------------------ real Penn Action


def _load_penn(path: Path):
    seq = penn.load(VideoRef(kind=SourceKind.penn, video_id=path.stem, path=str(path)), SourceOptions())
    return seq, seq.keypoints  # placeholder joints are already missing (c = 0)


@pytest.mark.real_data
def test_derived_phases_on_real_penn_action(penn_labels):
    """Every squat and jumping_jacks video: all phases present in order, and all events found by
    their rules (no fallback), for >= 80 % of the videos."""
    counts: dict[str, list[int]] = {}
    for path in sorted(penn_labels.glob("*.mat")):
        seq, keypoints = _load_penn(path)
        if seq.action not in ("squat", "jumping_jacks"):
            continue
        labels = derive_phases(seq.action, keypoints)
        k = NUM_PHASES[seq.action]
        in_order = np.array_equal(np.unique(labels.phases), np.arange(k)) and bool(np.all(np.diff(labels.phases) >= 0))
        count = counts.setdefault(seq.action, [0, 0, 0])
        count[0] += 1
        count[1] += in_order
        count[2] += in_order and labels.all_found
    assert set(counts) == {"squat", "jumping_jacks"}
    for action, (n, in_order, found) in sorted(counts.items()):
        print(f"\n[derived key events, real Penn Action] {action}: {n} videos; all {NUM_PHASES[action]} phases "
              f"present in order: {in_order / n:.1%}; and every event found by its rule: {found / n:.1%}")
        assert in_order / n >= 0.8 and found / n >= 0.8


@pytest.mark.real_data
def test_label_dataset_on_a_real_penn_cache(penn_labels, tmp_path):
    """Real squats with Penn's placeholder joints (top-left corner): deriving from the cache's grid
    keypoints gives the events derived from the source pixels."""
    wanted = ["1659", "1664", "1680"]
    source = tmp_path / "penn" / "labels"
    source.mkdir(parents=True)
    for vid in wanted:
        shutil.copy(penn_labels / f"{vid}.mat", source)
    cache = tmp_path / "cache.zarr"
    assert build_cache(PreprocessConfig(kind="penn", source=source.parent, cache=cache, workers=1)).ok
    summary = label_dataset(cache, DATASET)
    assert summary.labelled == wanted and summary.ok
    for vid in wanted:
        seq, keypoints = _load_penn(source / f"{vid}.mat")
        assert (seq.keypoints[..., :2] <= 1).all(axis=-1).any()  # has placeholders
        expected = derive_phases(seq.action, keypoints)
        video = zcache.read_video(cache, DATASET, vid)
        assert video.attrs["phase_events"] == expected.events
        assert np.array_equal(video.phases, expected.phases)

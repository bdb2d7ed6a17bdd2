"""The torch datasets over the cache (storage/dataset.py), on a small cache built by the project's own tools."""

from __future__ import annotations

import pickle
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
import zarr

from pipeline.augment import AugmentConfig
from pipeline.layouts import PENN_ACTION
from pipeline.synth.writers import write_dataset
from storage import cache as zcache
from storage.build import PreprocessConfig, build_cache
from storage.dataset import (
    AlignmentPairs,
    CachedVideos,
    collate_pairs,
    collate_videos,
    heatmaps_to_float,
    make_loader,
    subsample_indices,
)

DATASET = "penn_action"
TEMPORAL_ONLY = AugmentConfig(temporal_p=1.0, position_p=0.0, rotation_p=0.0, flip_p=0.0)


@pytest.fixture(scope="module")
def cache(tmp_path_factory) -> Path:
    source = tmp_path_factory.mktemp("penn")
    write_dataset(source, "penn", actions=["squat", "lunge"], videos_per_action=3, seed=0)
    path = tmp_path_factory.mktemp("cache") / "c.zarr"
    summary = build_cache(PreprocessConfig(kind="penn", source=source, cache=path, workers=1))
    assert summary.ok and summary.done == 6
    return path


def test_filters_by_action_and_split(cache):
    every = CachedVideos(cache, DATASET)
    assert every.video_ids == zcache.list_videos(cache, DATASET) and len(every) == 6
    assert every.layout == PENN_ACTION and every.size == 30 and every.num_channels == 13 + 14

    squat = CachedVideos(cache, DATASET, action="squat")
    assert len(squat) == 3 and set(squat.actions) == {"squat"}
    train = CachedVideos(cache, DATASET, split="train")
    assert len(train) == 4 and set(train.splits) == {"train"}
    squat_test = CachedVideos(cache, DATASET, action="squat", split="test")
    assert len(squat_test) == 1
    for videos in (squat, train, squat_test):
        for vid, action, split in zip(videos.video_ids, videos.actions, videos.splits):
            attrs = zcache.read_video(cache, DATASET, vid).attrs
            assert (attrs["action"], attrs["split"]) == (action, split)
    assert set(squat.video_ids) | set(CachedVideos(cache, DATASET, action="lunge").video_ids) == set(every.video_ids)

    with pytest.raises(zcache.CacheError, match="no video of action 'jump'"):
        CachedVideos(cache, DATASET, action="jump")
    with pytest.raises(zcache.CacheError, match="no dataset"):
        CachedVideos(cache, "nope")


def test_items_equal_the_cache(cache):
    videos = CachedVideos(cache, DATASET)
    for i, vid in enumerate(videos.video_ids):
        item = videos[i]
        ref = zcache.read_video(cache, DATASET, vid)
        t = ref.heatmaps.shape[0]
        assert item["video_id"] == vid
        assert item["heatmaps"].dtype == torch.float32 and item["heatmaps"].shape == (t, 27, 30, 30)
        assert item["keypoints"].dtype == torch.float32 and item["keypoints"].shape == (t, 13, 3)
        assert item["phases"].dtype == torch.int64 and item["phases"].shape == (t,)
        np.testing.assert_array_equal(item["heatmaps"].numpy(), ref.heatmaps)
        np.testing.assert_array_equal(item["keypoints"].numpy(), ref.keypoints)
        np.testing.assert_array_equal(item["phases"].numpy(), ref.phases.astype(np.int64))
        assert 0.0 <= float(item["heatmaps"].min()) and float(item["heatmaps"].max()) <= 1.0
        assert (item["action"], item["split"]) == (ref.attrs["action"], ref.attrs["split"])
        assert (item["phases"] >= 0).any()  # synthetic videos carry phase labels
    # Pickling (what a spawned/forkserver worker receives) carries no Zarr object, even after use.
    clone = pickle.loads(pickle.dumps(videos))
    assert clone._handles == {} and clone.video_ids == videos.video_ids
    np.testing.assert_array_equal(clone[0]["heatmaps"].numpy(), videos[0]["heatmaps"].numpy())


def test_missing_phases_are_minus_one(cache, tmp_path):
    copy = tmp_path / "c.zarr"
    shutil.copytree(cache, copy)
    vid = zcache.list_videos(copy, DATASET)[0]
    del zarr.open_group(copy / DATASET / vid, mode="r+")["phases"]
    item = CachedVideos(copy, DATASET)[0]
    assert item["phases"].dtype == torch.int64 and (item["phases"] == -1).all()
    assert item["phases"].shape[0] == item["heatmaps"].shape[0]


def test_max_frames_takes_evenly_spaced_frames(cache):
    full = CachedVideos(cache, DATASET)
    short = CachedVideos(cache, DATASET, max_frames=10)
    for i in range(len(full)):
        a, b = full[i], short[i]
        t = a["heatmaps"].shape[0]
        index = np.unique(np.rint(np.linspace(0, t - 1, 10)).astype(np.int64))
        assert len(index) == 10 and index[0] == 0 and index[-1] == t - 1
        np.testing.assert_array_equal(b["frame_index"].numpy(), index)
        np.testing.assert_array_equal(b["heatmaps"].numpy(), a["heatmaps"].numpy()[index])
        np.testing.assert_array_equal(b["keypoints"].numpy(), a["keypoints"].numpy()[index])
        np.testing.assert_array_equal(b["phases"].numpy(), a["phases"].numpy()[index])
    # Videos no longer than max_frames are whole.
    whole = CachedVideos(cache, DATASET, max_frames=1000)[0]
    assert whole["heatmaps"].shape == full[0]["heatmaps"].shape
    np.testing.assert_array_equal(subsample_indices(5, 5), np.arange(5))
    np.testing.assert_array_equal(subsample_indices(7, 3), [0, 3, 6])


def test_pairs_ground_truth_with_temporal_augmentation_only(cache):
    videos = CachedVideos(cache, DATASET)
    pairs = AlignmentPairs(videos, TEMPORAL_ONLY, seed=1)
    assert len(pairs) == len(videos)
    subsampled = False
    for epoch in range(3):
        pairs.set_epoch(epoch)
        for i in range(len(pairs)):
            item, video = pairs[i], videos[i]
            m, n = video["heatmaps"].shape[0], item["aug_keypoints"].shape[0]
            assert item["video_id"] == video["video_id"]
            assert item["aug_keypoints"].dtype == torch.float32 and item["aug_keypoints"].shape == (n, 13, 3)
            assert item["gt_index"].dtype == torch.int64 and item["gt_index"].shape == (n,)
            gt = item["gt_index"].numpy()
            assert np.all(np.diff(gt) > 0) and gt[0] >= 0 and gt[-1] < m and n >= m // 2
            np.testing.assert_array_equal(item["heatmaps"].numpy(), video["heatmaps"].numpy())
            np.testing.assert_array_equal(item["keypoints"].numpy(), video["keypoints"].numpy())
            np.testing.assert_array_equal(item["aug_keypoints"].numpy(), item["keypoints"].numpy()[gt])
            subsampled |= n < m
    assert subsampled

    # Identity augmentation: S' = S.
    same = AlignmentPairs(videos, AugmentConfig.identity())[0]
    np.testing.assert_array_equal(same["aug_keypoints"].numpy(), same["keypoints"].numpy())
    np.testing.assert_array_equal(same["gt_index"].numpy(), np.arange(same["keypoints"].shape[0]))


def _augmentation(pairs: AlignmentPairs, i: int) -> tuple[np.ndarray, np.ndarray]:
    item = pairs[i]
    return item["aug_keypoints"].numpy(), item["gt_index"].numpy()


def _same(a, b) -> bool:
    return a[0].shape == b[0].shape and np.array_equal(a[0], b[0]) and np.array_equal(a[1], b[1])


def test_set_epoch_changes_the_augmentation_and_same_epoch_reproduces_it(cache):
    videos = CachedVideos(cache, DATASET, max_frames=40)
    config = AugmentConfig(temporal_p=1.0, position_p=1.0)
    pairs = AlignmentPairs(videos, config, seed=5)
    epoch0 = [_augmentation(pairs, i) for i in range(len(pairs))]
    pairs.set_epoch(1)
    epoch1 = [_augmentation(pairs, i) for i in range(len(pairs))]
    assert not any(_same(a, b) for a, b in zip(epoch0, epoch1))
    # Items differ from one another within an epoch too (seeded by index).
    assert not _same(epoch1[0], epoch1[1])

    again = AlignmentPairs(CachedVideos(cache, DATASET, max_frames=40), config, seed=5)
    again.set_epoch(1)
    assert all(_same(a, _augmentation(again, i)) for i, a in enumerate(epoch1))
    again.set_epoch(0)
    assert all(_same(a, _augmentation(again, i)) for i, a in enumerate(epoch0))
    # An (index, epoch) key is the item of that epoch, whatever the current one.
    assert _same(epoch1[2], (again[(2, 1)]["aug_keypoints"].numpy(), again[(2, 1)]["gt_index"].numpy()))
    # Another seed, other augmentations.
    other = AlignmentPairs(videos, config, seed=6)
    assert not any(_same(a, _augmentation(other, i)) for i, a in enumerate(epoch0))


def test_collate_pads_and_masks(cache):
    videos = CachedVideos(cache, DATASET)
    pairs = AlignmentPairs(videos, TEMPORAL_ONLY, seed=2)
    items = [pairs[i] for i in (0, 1, 2)]
    batch = collate_pairs(items)
    lengths = [it["heatmaps"].shape[0] for it in items]
    aug_lengths = [it["aug_keypoints"].shape[0] for it in items]
    m, n = max(lengths), max(aug_lengths)
    assert len(set(lengths)) > 1 and len(set(aug_lengths)) > 1  # real padding happens
    assert batch["heatmaps"].shape == (3, m, 27, 30, 30) and batch["heatmaps"].dtype == torch.float32
    assert batch["keypoints"].shape == (3, m, 13, 3)
    assert batch["aug_keypoints"].shape == (3, n, 13, 3)
    assert batch["mask"].shape == (3, m) and batch["mask"].dtype == torch.bool
    assert batch["aug_mask"].shape == (3, n) and batch["aug_mask"].dtype == torch.bool
    assert batch["gt_index"].shape == (3, n) and batch["gt_index"].dtype == torch.int64
    assert batch["video_ids"] == [it["video_id"] for it in items]
    assert batch["lengths"].tolist() == lengths and batch["aug_lengths"].tolist() == aug_lengths
    for b, it in enumerate(items):
        t, u = lengths[b], aug_lengths[b]
        assert batch["mask"][b].tolist() == [True] * t + [False] * (m - t)
        assert batch["aug_mask"][b].tolist() == [True] * u + [False] * (n - u)
        assert torch.equal(batch["heatmaps"][b, :t], it["heatmaps"]) and not batch["heatmaps"][b, t:].any()
        assert torch.equal(batch["keypoints"][b, :t], it["keypoints"]) and not batch["keypoints"][b, t:].any()
        assert torch.equal(batch["aug_keypoints"][b, :u], it["aug_keypoints"])
        assert not batch["aug_keypoints"][b, u:].any()  # padded joints: c = 0 (and x = y = 0)
        assert torch.equal(batch["gt_index"][b, :u], it["gt_index"]) and not batch["gt_index"][b, u:].any()

    vitems = [videos[i] for i in (0, 1, 2)]
    vbatch = collate_videos(vitems)
    assert vbatch["heatmaps"].shape == (3, m, 27, 30, 30) and vbatch["keypoints"].shape == (3, m, 13, 3)
    assert vbatch["phases"].shape == (3, m) and vbatch["phases"].dtype == torch.int64
    assert vbatch["video_ids"] == [it["video_id"] for it in vitems]
    for b, it in enumerate(vitems):
        t = lengths[b]
        assert vbatch["mask"][b].tolist() == [True] * t + [False] * (m - t)
        assert torch.equal(vbatch["phases"][b, :t], it["phases"]) and (vbatch["phases"][b, t:] == -1).all()
        assert torch.equal(vbatch["heatmaps"][b, :t], it["heatmaps"]) and not vbatch["heatmaps"][b, t:].any()


def _epochs(loader, pairs: AlignmentPairs | None, epochs: int) -> list[list[dict]]:
    out = []
    for epoch in range(epochs):
        if pairs is not None:
            pairs.set_epoch(epoch)
        out.append(list(loader))
    return out


def _assert_same_batches(a: list[list[dict]], b: list[list[dict]]) -> None:
    assert len(a) == len(b)
    for epoch_a, epoch_b in zip(a, b):
        assert len(epoch_a) == len(epoch_b)
        for x, y in zip(epoch_a, epoch_b):
            assert x.keys() == y.keys()
            for key in x:
                if isinstance(x[key], torch.Tensor):
                    assert torch.equal(x[key], y[key]), key
                else:
                    assert x[key] == y[key], key


def test_loader_with_workers_yields_the_same_batches(cache):
    def run(num_workers: int, context: str = "forkserver", epochs: int = 2):
        pairs = AlignmentPairs(CachedVideos(cache, DATASET, max_frames=32), AugmentConfig(), seed=3)
        loader = make_loader(pairs, batch_size=4, shuffle=True, num_workers=num_workers, seed=11,
                             multiprocessing_context=context)
        if num_workers:
            assert loader.persistent_workers and loader.multiprocessing_context.get_start_method() == context
        try:
            return _epochs(loader, pairs, epochs)
        finally:
            del loader

    serial = run(0)
    assert [len(e) for e in serial] == [2, 2]
    orders = [[vid for batch in epoch for vid in batch["video_ids"]] for epoch in serial]
    assert sorted(orders[0]) == sorted(orders[1]) == CachedVideos(cache, DATASET).video_ids
    assert orders[0] != orders[1]  # reshuffled per epoch
    _assert_same_batches(serial, run(0))  # reproducible
    _assert_same_batches(serial, run(2))  # forkserver workers, persistent across the 2 epochs
    _assert_same_batches(serial[:1], run(2, "spawn", epochs=1))
    with pytest.raises(ValueError, match="fork"):
        make_loader(AlignmentPairs(CachedVideos(cache, DATASET)), 2, False, num_workers=1, multiprocessing_context="fork")


def test_raw_heatmaps_are_the_stored_bytes_and_decode_to_the_same_batches(cache):
    videos = CachedVideos(cache, DATASET)
    raw = CachedVideos(cache, DATASET, raw_heatmaps=True)
    item = raw[1]
    assert item["heatmaps"].dtype == torch.uint8
    stored = zcache.open_video_group(cache, DATASET, raw.video_ids[1])["heatmaps"][...]
    np.testing.assert_array_equal(item["heatmaps"].numpy(), stored)
    assert torch.equal(heatmaps_to_float(item["heatmaps"]), videos[1]["heatmaps"])
    floats = collate_pairs([AlignmentPairs(videos, seed=4)[i] for i in range(4)])
    raws = collate_pairs([AlignmentPairs(raw, seed=4)[i] for i in range(4)])
    assert raws["heatmaps"].dtype == torch.uint8
    assert torch.equal(heatmaps_to_float(raws["heatmaps"]), floats["heatmaps"])
    assert heatmaps_to_float(floats["heatmaps"]) is floats["heatmaps"]
    for key in ("mask", "keypoints", "aug_keypoints", "aug_mask", "gt_index"):
        assert torch.equal(raws[key], floats[key]), key


def test_video_loader_keeps_order_without_shuffle(cache):
    videos = CachedVideos(cache, DATASET, split="train")
    batches = list(make_loader(videos, batch_size=3, shuffle=False, collate_fn=collate_videos))
    assert [vid for b in batches for vid in b["video_ids"]] == videos.video_ids
    assert batches[0]["phases"].dtype == torch.int64


def test_incomplete_videos_are_not_listed(cache, tmp_path):
    copy = tmp_path / "c.zarr"
    shutil.copytree(cache, copy)
    squat = CachedVideos(copy, DATASET, action="squat").video_ids
    zarr.open_group(copy / DATASET / squat[0], mode="r+").attrs["complete"] = False
    assert squat[0] not in zcache.list_videos(copy, DATASET)
    assert CachedVideos(copy, DATASET).video_ids == zcache.list_videos(copy, DATASET)
    assert CachedVideos(copy, DATASET, action="squat").video_ids == squat[1:]
    assert len(CachedVideos(copy, DATASET)) == 5

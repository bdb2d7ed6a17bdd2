"""RGB + pose fusion (issue 6, model and training): the RGB encoder, late fusion, RGB items and their
augmentation, init_from (two-stage training), and train -> embed -> evaluate for every modality on a
tiny synthetic cache with RGB frames. Tiny models, CPU."""

from __future__ import annotations

import inspect
import json
from pathlib import Path

import numpy as np
import pytest
import torch

from models.checkpoint import load_checkpoint, save_checkpoint
from models.config import ModelConfig
from models.network import AlignmentNet, RGBEncoder
from models.train import TrainConfig, load_encoder_weights, train, train_two_stage
from pipeline.augment import AugmentConfig, rgb_jitter
from storage import cache as zcache
from storage.dataset import AlignmentPairs, CachedVideos, collate_pairs, collate_videos

DATASET = "penn_action"
TINY = dict(dim=16, heads=2, spatial_layers=1, temporal_layers=1, cross_layers=1, mlp_dim=32, projection_dim=8,
            projection_hidden=16, max_frames=32, dropout=0.0)


def tiny(modality: str = "pose", **overrides) -> ModelConfig:
    return ModelConfig(**{**TINY, "modality": modality, "rgb_size": 32, "rgb_patch": 8, **overrides})


def rgb_supported() -> bool:
    return "rgb" in inspect.signature(zcache.write_video).parameters


needs_rgb_cache = pytest.mark.skipif(not rgb_supported(), reason="storage.cache.write_video has no rgb= yet "
                                     "(the RGB cache of issue 6 has not landed)")


# --- network -----------------------------------------------------------------------------------


def test_config_defaults_unchanged():
    config = ModelConfig()
    assert (config.modality, config.rgb_size, config.rgb_patch, config.rgb_grid) == ("pose", 64, 16, 4)
    keys = set(AlignmentNet(tiny()).state_dict())
    assert not any(k.startswith(("rgb_encoder.", "fuse.")) for k in keys) and any(k.startswith("encoder.") for k in keys)
    with pytest.raises(ValueError, match="rgb_patch"):
        ModelConfig(rgb_size=64, rgb_patch=10)


def test_rgb_encoder_shapes_and_padding_invariance():
    torch.manual_seed(0)
    encoder = RGBEncoder(tiny("rgb")).eval()
    assert encoder.grid == 4 and encoder.patch_embed.in_features == 3 * 8 * 8
    rgb = torch.randint(0, 256, (2, 6, 3, 32, 32), dtype=torch.uint8)
    mask = torch.ones(2, 6, dtype=torch.bool)
    mask[1, 4:] = False
    with torch.no_grad():
        h = encoder(rgb, mask)
        assert h.shape == (2, 6, 16)
        assert torch.all(h[1, 4:] == 0)
        alone = encoder(rgb[1:, :4], None)  # the padded sequence on its own
        torch.testing.assert_close(h[1, :4], alone[0], atol=1e-5, rtol=1e-5)
        garbage = rgb.clone()
        garbage[1, 4:] = 255 - garbage[1, 4:]  # whatever is in the padding does not matter
        torch.testing.assert_close(encoder(garbage, mask), h)
        torch.testing.assert_close(encoder(rgb.float() / 255, mask), h, atol=1e-5, rtol=1e-5)  # uint8 == [0, 1]
    with pytest.raises(ValueError, match="32x32"):
        encoder(torch.zeros(1, 2, 3, 16, 16), None)


def test_fusion_forward_backward_reaches_both_encoders():
    torch.manual_seed(0)
    config = tiny("rgb+pose")
    model = AlignmentNet(config)
    assert model.fuse.in_features == 2 * config.dim and model.fuse.out_features == config.dim
    b, m, n = 2, 7, 5
    x1 = {"pose": torch.rand(b, m, 25, 30, 30), "rgb": torch.randint(0, 256, (b, m, 3, 32, 32), dtype=torch.uint8)}
    x2 = {"pose": torch.rand(b, n, 25, 30, 30), "rgb": torch.randint(0, 256, (b, n, 3, 32, 32), dtype=torch.uint8)}
    mask1 = torch.ones(b, m, dtype=torch.bool)
    mask1[0, 5:] = False
    from models.loss import alignment_loss

    z1, z2 = model(x1, mask1, x2, None)
    assert z1.shape == (b, m, config.out_dim) and z2.shape == (b, n, config.out_dim)
    gt = torch.sort(torch.randint(0, 5, (b, n)), dim=1).values
    loss, _ = alignment_loss(z1, z2, gt, mask1, None, config.temperature)
    loss.backward()
    for module in (model.encoder.patch_embed, model.rgb_encoder.patch_embed, model.fuse, model.head.net[0]):
        assert module.weight.grad is not None and module.weight.grad.abs().sum() > 0
    # a (pose, rgb) tuple is the same input; embeddings are the fused features (dim)
    model.eval()
    e = model.embed(x1, mask1)
    assert e.shape == (b, m, config.dim) and torch.all(e[0, 5:] == 0)
    torch.testing.assert_close(model.embed((x1["pose"], x1["rgb"]), mask1), e)
    with pytest.raises(TypeError, match="rgb\\+pose"):
        model.embed(x1["pose"], None)
    with pytest.raises(ValueError, match="RGB input"):
        model.embed({"pose": x1["pose"]}, None)
    # modality "rgb": only the RGB encoder, plain tensor or {"rgb": ...}
    rgb_model = AlignmentNet(tiny("rgb")).eval()
    assert rgb_model.encoder is None and rgb_model.fuse is None
    torch.testing.assert_close(rgb_model.embed(x1["rgb"]), rgb_model.embed({"rgb": x1["rgb"]}))


def _fake_run(run_dir: Path, model_config: ModelConfig, seed: int, tmp: Path) -> AlignmentNet:
    torch.manual_seed(seed)
    model = AlignmentNet(model_config)
    optimizer = torch.optim.Adam(model.parameters())
    scheduler = torch.optim.lr_scheduler.MultiStepLR(optimizer, milestones=[1])
    config = TrainConfig(cache=tmp, dataset=DATASET, out=run_dir, model=model_config, max_frames=16)
    save_checkpoint(run_dir, model=model, optimizer=optimizer, scheduler=scheduler, epoch=1, step=1,
                    config=config.model_dump(mode="json"), history=[1.0])
    return model


def test_init_from_loads_encoder_weights_exactly(tmp_path):
    pose = _fake_run(tmp_path / "pose", tiny("pose"), 1, tmp_path)
    rgb = _fake_run(tmp_path / "rgb", tiny("rgb"), 2, tmp_path)
    torch.manual_seed(3)
    fusion = AlignmentNet(tiny("rgb+pose"))
    fuse_before = fusion.fuse.weight.detach().clone()
    loaded = load_encoder_weights(fusion, {"pose": tmp_path / "pose", "rgb": tmp_path / "rgb"})
    assert set(loaded) == {"pose", "rgb"}
    for (name, a), (_, b) in zip(fusion.encoder.state_dict().items(), pose.encoder.state_dict().items()):
        assert torch.equal(a, b), name
    for (name, a), (_, b) in zip(fusion.rgb_encoder.state_dict().items(), rgb.rgb_encoder.state_dict().items()):
        assert torch.equal(a, b), name
    assert torch.equal(fusion.fuse.weight, fuse_before)  # the fusion layer starts fresh
    # a pose-only model can take the pose encoder of a fused run (same names)
    load_encoder_weights(AlignmentNet(tiny("pose")), {"pose": tmp_path / "pose"})
    _fake_run(tmp_path / "wide", tiny("rgb", dim=32), 4, tmp_path)
    with pytest.raises(ValueError, match="dim"):
        load_encoder_weights(fusion, {"rgb": tmp_path / "wide"})
    with pytest.raises(ValueError, match="no rgb encoder"):
        load_encoder_weights(fusion, {"rgb": tmp_path / "pose"})
    with pytest.raises(ValueError, match="no rgb encoder"):
        TrainConfig(cache=tmp_path, dataset=DATASET, out=tmp_path, model=tiny("pose"), max_frames=16,
                    init_from={"rgb": tmp_path})


# --- dataset: RGB items and their augmentation --------------------------------------------------


def test_rgb_jitter_ranges():
    rng = np.random.default_rng(0)
    flat = np.full((3, 3, 4, 4), 100, dtype=np.uint8)
    halves = np.zeros((3, 3, 4, 4), dtype=np.uint8)
    halves[..., :2] = 80
    halves[..., 2:] = 160
    for _ in range(200):
        out, p = rgb_jitter(flat, rng, 0.2, 0.3)
        assert -0.2 <= p["brightness"] <= 0.2 and 0.7 <= p["contrast"] <= 1.3
        # a flat image: contrast does nothing, brightness shifts every value
        assert np.all(np.abs(out.astype(int) - round(100 + 255 * p["brightness"])) <= 1)
        out, p = rgb_jitter(halves, rng, 0.2, 0.3)
        spread = out[..., 2:].astype(int).mean() - out[..., :2].astype(int).mean()
        assert abs(spread - 80 * p["contrast"]) <= 1.5
    same, p = rgb_jitter(halves, rng, 0.0, 0.0)
    assert np.array_equal(same, halves) and p == {"brightness": 0.0, "contrast": 1.0}


@pytest.fixture(scope="module")
def asymmetric_cache(tmp_path_factory) -> Path:
    """Hand-written cache (storage.cache) of 3 videos: every joint in the left third of the grid, RGB
    frames bright on the left half, dark on the right; frame t's RGB carries t in pixel [0, 0, 0]."""
    if not rgb_supported():
        pytest.skip("storage.cache.write_video has no rgb= yet (the RGB cache of issue 6 has not landed)")
    path = tmp_path_factory.mktemp("asym") / "c.zarr"
    zcache.write_dataset_attrs(path, DATASET, {"layout": "penn_action", "size": 30, "sigma": 1.0, "rgb_size": 16})
    rng = np.random.default_rng(0)
    for v, length in enumerate((12, 9, 15)):
        keypoints = np.zeros((length, 13, 3), dtype=np.float32)
        keypoints[..., 0] = rng.uniform(2, 9, (length, 13))
        keypoints[..., 1] = rng.uniform(2, 27, (length, 13))
        keypoints[..., 2] = 1.0
        rgb = np.zeros((length, 3, 16, 16), dtype=np.uint8)
        rgb[..., :8] = 200
        rgb[..., 8:] = 20
        rgb[:, 1, 15, 0] = np.arange(length)  # a frame tag (bottom-left, bright side)
        heatmaps = np.zeros((length, 27, 30, 30), dtype=np.float32)
        zcache.write_video(path, DATASET, f"{v:04d}", heatmaps, keypoints, np.zeros(length, np.int16),
                           {"action": "squat", "split": "train", "n_frames": length}, rgb=rgb)
    return path


def test_rgb_items_follow_the_cache(asymmetric_cache):
    videos = CachedVideos(asymmetric_cache, DATASET, rgb=True)
    assert videos.rgb_size == 16 and "rgb=True" in repr(videos)
    item = videos[0]
    assert item["rgb"].dtype == torch.uint8 and item["rgb"].shape == (12, 3, 16, 16)
    assert np.array_equal(item["rgb"].numpy(), zcache.read_video(asymmetric_cache, DATASET, "0000").rgb)
    sub = CachedVideos(asymmetric_cache, DATASET, rgb=True, max_frames=5)[0]
    assert np.array_equal(sub["rgb"][:, 1, 15, 0].numpy(), sub["frame_index"].numpy())
    assert "rgb" not in CachedVideos(asymmetric_cache, DATASET)[0]
    batch = collate_videos([videos[0], videos[1]])
    assert batch["rgb"].shape == (2, 12, 3, 16, 16) and torch.all(batch["rgb"][1, 9:] == 0)


@pytest.mark.parametrize("flip_p", [0.0, 1.0])
def test_aug_rgb_follows_gt_index_and_the_pose_flip(asymmetric_cache, flip_p):
    config = AugmentConfig(temporal_p=1.0, position_p=0.0, rotation_p=0.0, flip_p=flip_p, brightness=0.0, contrast=0.0)
    pairs = AlignmentPairs(CachedVideos(asymmetric_cache, DATASET, rgb=True), config, seed=3)
    plain = AlignmentPairs(CachedVideos(asymmetric_cache, DATASET), config, seed=3)
    for i in range(len(pairs)):
        item = pairs[i]
        assert torch.equal(item["aug_keypoints"], plain[i]["aug_keypoints"])  # RGB changes nothing on the pose side
        gt = item["gt_index"].numpy()
        aug = item["aug_rgb"].numpy()
        assert aug.shape == (len(gt), 3, 16, 16) and item["flipped"] is bool(flip_p)
        expected = item["rgb"].numpy()[gt]
        if flip_p:
            expected = expected[..., ::-1]
        assert np.array_equal(aug, expected)
        tag = aug[:, 1, 15, 15 if flip_p else 0]
        assert np.array_equal(tag, gt)  # frame j of S' is frame gt[j] of S
        # the bright half of the image is on the side of the skeleton
        x = item["aug_keypoints"][..., 0].mean(dim=1).numpy()
        left_bright = aug[:, 0, :, :8].mean(axis=(1, 2)) > aug[:, 0, :, 8:].mean(axis=(1, 2))
        assert np.all((x < 15) == left_bright) and np.all(left_bright != bool(flip_p))


def test_aug_rgb_jitter_is_drawn_per_item_within_range(asymmetric_cache):
    config = AugmentConfig(temporal_p=0.0, position_p=0.0, rotation_p=0.0, flip_p=0.0)  # default jitter 0.2 / 0.2
    pairs = AlignmentPairs(CachedVideos(asymmetric_cache, DATASET, rgb=True), config, seed=0)
    seen = []
    for epoch in range(6):
        pairs.set_epoch(epoch)
        for i in range(len(pairs)):
            item = pairs[i]
            p = item["rgb_jitter"]
            assert -0.2 <= p["brightness"] <= 0.2 and 0.8 <= p["contrast"] <= 1.2
            expected, _ = rgb_jitter(item["rgb"].numpy(), np.random.default_rng(0), 0.0, 0.0)
            x = expected.astype(np.float32) / 255
            want = np.rint(np.clip((x - x.mean()) * p["contrast"] + x.mean() + p["brightness"], 0, 1) * 255)
            assert np.abs(item["aug_rgb"].numpy().astype(int) - want).max() <= 1
            seen.append(p["brightness"])
    assert len(set(seen)) == len(seen)  # a fresh draw per (epoch, item)
    batch = collate_pairs([pairs[0], pairs[1]])
    assert batch["rgb"].shape == (2, 12, 3, 16, 16) and batch["aug_rgb"].dtype == torch.uint8
    assert torch.all(batch["aug_rgb"][1, 9:] == 0) and batch["aug_mask"][1].sum() == 9


def test_missing_rgb_is_a_clear_error(tmp_path):
    path = tmp_path / "c.zarr"
    zcache.write_dataset_attrs(path, DATASET, {"layout": "penn_action", "size": 30})
    zcache.write_video(path, DATASET, "0000", np.zeros((4, 27, 30, 30), np.float32), np.zeros((4, 13, 3), np.float32),
                       None, {"action": "squat", "split": "train", "n_frames": 4})
    with pytest.raises(zcache.CacheError, match="no RGB frames"):
        CachedVideos(path, DATASET, rgb=True)[0]


# --- end to end on a synthetic cache with RGB ---------------------------------------------------


@pytest.fixture(scope="module")
def rgb_cache(tmp_path_factory) -> Path:
    if not rgb_supported():
        pytest.skip("storage.cache.write_video has no rgb= yet (the RGB cache of issue 6 has not landed)")
    from pipeline.synth.writers import write_dataset
    from storage.build import PreprocessConfig, build_cache

    if "rgb" not in inspect.signature(write_dataset).parameters:
        pytest.skip("pipeline.synth.writers.write_dataset has no rgb= yet")
    tmp = tmp_path_factory.mktemp("rgb_cache")
    write_dataset(tmp, "penn", actions=["squat"], videos_per_action=6, seed=0, rgb=True)
    summary = build_cache(PreprocessConfig(kind="penn", source=tmp, cache=tmp / "c.zarr", rgb_root=tmp / "frames",
                                           workers=1))
    assert summary.ok and summary.done == 6
    return tmp / "c.zarr"


def _config(cache: Path, out: Path, modality: str, **overrides) -> TrainConfig:
    model = {**TINY, "modality": modality}
    base = dict(cache=cache, out=out, model=model, epochs=1, batch_size=2, lr=1e-3, max_frames=16, milestones=(),
                device="cpu")
    return TrainConfig.for_dataset(DATASET, **{**base, **overrides})


def test_train_two_stage_embed_evaluate(rgb_cache, tmp_path):
    from models.embed import embed
    from models.evaluate import evaluate_embeddings
    from storage.embeddings import read_embeddings, read_store_attrs

    # stage 1 (pose, rgb) and stage 2 (rgb+pose from those two) in one call
    runs = train_two_stage(_config(rgb_cache, tmp_path / "fused", "rgb+pose"), progress=False)
    pose_run, rgb_run, fused = runs["pose"], runs["rgb"], runs["rgb+pose"]
    assert (pose_run.run_dir, rgb_run.run_dir) == (tmp_path / "fused-pose", tmp_path / "fused-rgb")
    assert [r.config.model.modality for r in runs.values()] == ["pose", "rgb", "rgb+pose"]
    assert rgb_run.config.model.rgb_size == 64  # from the cache
    assert len(rgb_run.losses) == 1 and np.isfinite(rgb_run.losses[0])
    init = {"pose": pose_run.run_dir, "rgb": rgb_run.run_dir}

    # epochs 0: the saved fused model holds exactly the stage-1 encoders
    start = train(_config(rgb_cache, tmp_path / "fused0", "rgb+pose", epochs=0, init_from=init), progress=False)
    fused0 = load_checkpoint(start.run_dir)["model"]
    for run, prefix in ((pose_run, "encoder."), (rgb_run, "rgb_encoder.")):
        source = load_checkpoint(run.run_dir)["model"]
        keys = [k for k in source if k.startswith(prefix)]
        assert keys and all(torch.equal(fused0[k], source[k]) for k in keys)
    assert load_checkpoint(start.run_dir)["extra"]["init_from"]["rgb"] == str(rgb_run.run_dir.resolve())

    assert np.isfinite(fused.losses[0])
    saved = json.loads((fused.run_dir / "config.json").read_text())
    assert saved["model"]["modality"] == "rgb+pose" and set(saved["init_from"]) == {"pose", "rgb"}

    for run in (fused,):  # (the RGB-only run is embedded and evaluated by the modalities table below)
        emb = embed(run.run_dir, rgb_cache, tmp_path / f"{run.run_dir.name}.zarr", device="cpu", progress=False)
        assert emb.videos == 6 and emb.dim == 16
        assert read_store_attrs(emb.out)["modality"] == run.config.model.modality
        first = next(iter(read_embeddings(emb.out).values()))
        assert np.isfinite(first.embeddings).all()
        results = evaluate_embeddings(emb.out, tmp_path / f"{run.run_dir.name}-report")
        assert "squat" in results and (tmp_path / f"{run.run_dir.name}-report" / "metrics.md").is_file()


def test_cli_modality_flags_and_modalities_table(rgb_cache, tmp_path):
    from la2ds.cli import main

    model = json.dumps({**TINY, "max_frames": 16})
    common = ["--cache", str(rgb_cache), "--dataset", DATASET, "--batch-size", "3", "--lr", "1e-3",
              "--device", "cpu", "--model-config", model]
    assert main(["train", *common, "--epochs", "0", "--out", str(tmp_path / "rgb"), "--modality", "rgb", "--max-frames", "16",
                 "--quiet"]) == 0
    assert main(["train", *common, "--epochs", "0", "--out", str(tmp_path / "fused"), "--modality", "rgb+pose", "--max-frames", "16",
                 "--init-rgb", str(tmp_path / "rgb"), "--quiet"]) == 0
    saved = json.loads((tmp_path / "fused" / "config.json").read_text())
    assert saved["model"]["modality"] == "rgb+pose" and saved["init_from"] == {"rgb": str(tmp_path / "rgb")}

    out = tmp_path / "table"
    assert main(["modalities", *common, "--epochs", "1", "--out", str(out), "--max-frames", "16", "--quiet"]) == 0
    report = json.loads((out / "modalities.json").read_text())
    assert list(report["modalities"]) == ["pose", "rgb", "rgb+pose"]
    assert report["modalities"]["rgb+pose"]["init_from"] == {
        "pose": report["modalities"]["pose"]["run_dir"], "rgb": report["modalities"]["rgb"]["run_dir"]}
    table = (out / "modalities.md").read_text()
    for row in ("| Pose |", "| RGB |", "| RGB+Pose |", "Class. 10 %", "Kendall's tau", "AP@15"):
        assert row in table

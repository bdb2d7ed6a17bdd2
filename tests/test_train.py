"""Training, checkpoints, resume, embeddings and the `train` / `embed` commands (models/), on a small
synthetic Penn-format cache with a tiny model, on CPU."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import numpy as np
import pydantic
import pytest
import torch
from scipy.stats import kendalltau

from models.checkpoint import load_checkpoint, load_model
from models.config import ModelConfig
from models.embed import embed
from models.network import AlignmentNet
from models.train import PAPER_DEFAULTS, TrainConfig, seed_everything, train
from pipeline.synth.writers import write_dataset
from storage.build import PreprocessConfig, build_cache
from storage.cache import read_video
from storage.embeddings import read_embeddings, read_store_attrs

DATASET = "penn_action"
EPOCHS = 20  # of the learning run (8 videos, batch 2: 4 steps per epoch)


def tiny_model(kind: str = "la2ds", **overrides) -> ModelConfig:
    base = dict(model=kind, dim=32, heads=2, spatial_layers=1, temporal_layers=1, cross_layers=1, mlp_dim=64,
                projection_dim=32, projection_hidden=32, max_frames=128, dropout=0.1)
    return ModelConfig(**{**base, **overrides})


@pytest.fixture(scope="module")
def cache(tmp_path_factory) -> Path:
    """Synthetic squat videos (Penn Action format) -> Zarr cache: 12 videos, 8 train + 4 test."""
    tmp = tmp_path_factory.mktemp("train_cache")
    write_dataset(tmp / "src", "penn", actions=["squat"], videos_per_action=12, seed=0)
    summary = build_cache(PreprocessConfig(kind="penn", source=tmp / "src" / "labels", cache=tmp / "cache.zarr", workers=1))
    assert summary.ok and summary.done == 12
    return tmp / "cache.zarr"


def config(cache: Path, out: Path, **overrides) -> TrainConfig:
    base = dict(cache=cache, out=out, model=tiny_model(), epochs=2, batch_size=3, lr=1e-3, max_frames=24,
                milestones=(), device="cpu")
    return TrainConfig.for_dataset(DATASET, **{**base, **overrides})


def nn_tau(a: np.ndarray, b: np.ndarray) -> float:
    """Kendall's tau of nearest-neighbour alignment: frame i of a -> argmin_j ||a_i - b_j||^2."""
    d = ((a[:, None, :] - b[None, :, :]) ** 2).sum(-1)
    tau = kendalltau(np.arange(len(a)), d.argmin(axis=1)).statistic
    return 0.0 if np.isnan(tau) else float(tau)


def pair_tau(a: np.ndarray, b: np.ndarray) -> float:
    return (nn_tau(a, b) + nn_tau(b, a)) / 2


# --- config ------------------------------------------------------------------------------------


def test_config_paper_defaults_and_overrides(tmp_path):
    penn = TrainConfig.for_dataset("penn_action", cache=tmp_path, out=tmp_path)
    assert (penn.batch_size, penn.lr, penn.temperature, penn.weight_decay) == (64, 3e-3, 0.1, 1e-5)
    h2o = TrainConfig.for_dataset("h2o", cache=tmp_path, out=tmp_path)
    ikea = TrainConfig.for_dataset("ikea_asm", cache=tmp_path, out=tmp_path, lr=1e-2)
    assert (h2o.batch_size, h2o.lr) == (32, 3e-4)
    assert (ikea.batch_size, ikea.lr) == (4, 1e-2)  # every value overridable
    assert set(PAPER_DEFAULTS) == {"penn_action", "h2o", "ikea_asm"}
    # temperature and model.temperature are one setting
    assert TrainConfig.for_dataset("penn", cache=tmp_path, out=tmp_path, temperature=0.2).model.temperature == 0.2
    assert TrainConfig(cache=tmp_path, dataset="x", out=tmp_path, model={"temperature": 0.3}).temperature == 0.3
    again = TrainConfig.model_validate_json(penn.model_dump_json())
    assert again == penn
    with pytest.raises(pydantic.ValidationError):  # subsampling beyond the position encodings
        TrainConfig(cache=tmp_path, dataset="x", out=tmp_path, max_frames=600)
    with pytest.raises(pydantic.ValidationError):
        TrainConfig(cache=tmp_path, dataset="x", out=tmp_path, milestones=(5, 3))
    with pytest.raises(pydantic.ValidationError):
        TrainConfig(cache=tmp_path, dataset="x", out=tmp_path, bogus=1)


# --- training ----------------------------------------------------------------------------------


def test_epochs_zero_writes_the_untrained_model(cache, tmp_path):
    cfg = config(cache, tmp_path / "run", epochs=0, seed=3)
    result = train(cfg, progress=False)
    assert result.losses == [] and result.steps == 0
    state = load_checkpoint(tmp_path / "run")
    assert state["epoch"] == 0 and state["history"] == []
    assert json.loads((tmp_path / "run" / "config.json").read_text())["epochs"] == 0
    # exactly the seeded initialisation, with the model config resolved from the cache's layout
    model, _ = load_model(tmp_path / "run")
    assert (model.config.num_joints, model.config.num_limbs) == (13, 14)
    seed_everything(3)
    fresh = AlignmentNet(model.config)
    for (name, p), q in zip(fresh.state_dict().items(), model.state_dict().values()):
        assert torch.equal(p, q), name


@pytest.fixture(scope="module")
def trained(cache, tmp_path_factory):
    """The learning run: untrained baseline (epochs 0) and a trained model of the same seed, on the
    8 training videos, whole videos (no subsampling), dropout 0."""
    out = tmp_path_factory.mktemp("runs") / "squat"
    cfg = config(cache, out, model=tiny_model(dropout=0.0), epochs=0, batch_size=2, lr=3e-3, max_frames=None,
                 seed=0)
    train(cfg, progress=False)
    baseline = embed(out, cache, out / "baseline.zarr", progress=False)
    result = train(cfg.model_copy(update={"epochs": EPOCHS}), progress=False, resume=True)
    return out, cfg, result, baseline


def test_training_writes_checkpoint_config_and_logs(trained):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    out, cfg, result, _ = trained
    assert result.checkpoint == out / "checkpoint.pt" and result.checkpoint.is_file()
    assert TrainConfig.model_validate_json((out / "config.json").read_text()).epochs == EPOCHS
    state = load_checkpoint(out)
    assert state["epoch"] == EPOCHS and len(state["history"]) == EPOCHS and state["step"] == result.steps == EPOCHS * 4
    assert set(state) >= {"model", "optimizer", "scheduler", "rng", "config", "history"}
    events = list((out / "tb").glob("events.out.tfevents.*"))
    assert events
    acc = EventAccumulator(str(out / "tb"), size_guidance={"scalars": 0, "images": 0}).Reload()
    tags = acc.Tags()
    assert {"loss/step", "loss/epoch", "lr", "grad_norm/step", "grad_norm/epoch"} <= set(tags["scalars"])
    assert len(acc.Scalars("loss/step")) == EPOCHS * 4 and len(acc.Scalars("loss/epoch")) == EPOCHS
    assert "similarity" in tags["images"] and len(acc.Images("similarity")) == EPOCHS


def test_loss_goes_down(trained):
    _, _, result, _ = trained
    losses = result.losses
    assert all(np.isfinite(losses))
    assert np.mean(losses[-3:]) < 0.25 * np.mean(losses[:2]), losses


def test_alignment_of_held_out_videos_improves(trained, cache):
    """Kendall's tau of nearest-neighbour alignment between two test videos (never trained on): the
    trained encoder's embeddings align them far better than the untrained model's. Also over every
    pair of the 4 test videos (a weaker, less noisy criterion)."""
    out, _, _, _ = trained
    embed(out, cache, out / "trained.zarr", progress=False)
    before = read_embeddings(out / "baseline.zarr")
    after = read_embeddings(out / "trained.zarr")
    test_ids = [vid for vid, v in after.items() if v.attrs["split"] == "test"]
    assert len(test_ids) == 4
    a, b = test_ids[:2]
    tau_before = pair_tau(before[a].embeddings, before[b].embeddings)
    tau_after = pair_tau(after[a].embeddings, after[b].embeddings)
    pairs = list(itertools.combinations(test_ids, 2))
    mean_before = np.mean([pair_tau(before[x].embeddings, before[y].embeddings) for x, y in pairs])
    mean_after = np.mean([pair_tau(after[x].embeddings, after[y].embeddings) for x, y in pairs])
    print(f"Kendall's tau, test videos {a} / {b}: untrained {tau_before:.3f}, trained {tau_after:.3f}; "
          f"mean over the {len(pairs)} test pairs: {mean_before:.3f} -> {mean_after:.3f}")
    assert tau_after > tau_before + 0.3 and tau_after > 0.5, (tau_before, tau_after)
    assert mean_after > mean_before + 0.15, (mean_before, mean_after)


def test_embed_writes_every_video_whole_with_phases(trained, cache):
    out, _, _, _ = trained
    result = embed(out, cache, out / "emb.zarr", where="encoder", progress=False)
    store = read_embeddings(out / "emb.zarr")
    assert result.videos == len(store) == 12
    for video_id, video in store.items():
        cached = read_video(cache, DATASET, video_id)
        t = cached.heatmaps.shape[0]
        assert video.embeddings.shape == (t, 32) and video.embeddings.dtype == np.float32
        np.testing.assert_array_equal(video.phases, cached.phases)
        assert video.attrs["action"] == "squat" and video.attrs["split"] == cached.attrs["split"]
    root = read_store_attrs(out / "emb.zarr")
    assert root["checkpoint_epoch"] == EPOCHS and root["model"] == "la2ds" and root["where"] == "encoder"
    assert root["complete"] is True and root["run_dir"] == str(out.resolve())
    # the same model through load_model gives the same numbers
    model, _ = load_model(out)
    first = next(iter(store))
    x = torch.from_numpy(read_video(cache, DATASET, first).heatmaps)[None]
    np.testing.assert_allclose(model.embed(x)[0].numpy(), store[first].embeddings, rtol=1e-5, atol=1e-5)
    projected = embed(out, cache, out / "proj.zarr", where="projection", progress=False)
    assert projected.dim == 32 and read_store_attrs(out / "proj.zarr")["where"] == "projection"


def test_embed_covers_videos_longer_than_the_model_in_interleaved_passes(cache, tmp_path):
    train(config(cache, tmp_path / "run", epochs=0, max_frames=16, model=tiny_model(max_frames=40)), progress=False)
    result = embed(tmp_path / "run", cache, tmp_path / "emb.zarr", progress=False)
    video = read_video(cache, DATASET, "0001")
    assert video.heatmaps.shape[0] > 40  # longer than the model's position encodings
    embedded = read_embeddings(tmp_path / "emb.zarr")["0001"]
    assert embedded.embeddings.shape == (video.heatmaps.shape[0], 32) and result.videos == 12
    model, _ = load_model(tmp_path / "run", torch.device("cpu"))
    x = torch.from_numpy(video.heatmaps)
    passes = -(-x.shape[0] // 16)
    with torch.inference_mode():
        for offset in (0, passes - 1):  # each pass embeds every passes-th frame, as training subsamples
            expected = model.embed(x[offset::passes][None], None)[0].numpy()
            np.testing.assert_allclose(embedded.embeddings[offset::passes], expected, atol=1e-5)


def test_embed_refuses_to_overwrite_other_data(trained, cache, tmp_path):
    out, _, _, _ = trained
    with pytest.raises(FileExistsError):
        embed(out, cache, cache, progress=False)  # the heatmap cache itself
    assert read_video(cache, DATASET, "0001").heatmaps.size  # untouched


def test_resume_is_exact(cache, tmp_path):
    """2 epochs in one go == 1 epoch, then resume for 1 more: identical weights and optimiser state."""
    straight = train(config(cache, tmp_path / "a", epochs=2, milestones=(1,)), progress=False)
    train(config(cache, tmp_path / "b", epochs=1, milestones=(1,)), progress=False)
    resumed = train(config(cache, tmp_path / "b", epochs=2, milestones=(1,)), progress=False, resume=True)
    assert resumed.losses == straight.losses and resumed.steps == straight.steps
    a, b = load_checkpoint(tmp_path / "a"), load_checkpoint(tmp_path / "b")
    assert a["epoch"] == b["epoch"] == 2
    for name, p in a["model"].items():
        assert torch.equal(p, b["model"][name]), name
    for sa, sb in zip(a["optimizer"]["state"].values(), b["optimizer"]["state"].values()):
        assert all(torch.equal(sa[k], sb[k]) for k in sa)
    assert a["scheduler"] == b["scheduler"] and a["scheduler"]["last_epoch"] == 2
    # resuming under a different training config is refused; epochs / device / workers may change
    with pytest.raises(ValueError, match="lr"):
        train(config(cache, tmp_path / "b", epochs=3, milestones=(1,), lr=0.1), progress=False, resume=True)
    with pytest.raises(FileNotFoundError):
        train(config(cache, tmp_path / "none", epochs=1), progress=False, resume=True)


def test_worker_processes_train_the_same(cache, tmp_path):
    """Data loading in worker processes (forkserver) gives the same batches, hence the same run."""
    in_process = train(config(cache, tmp_path / "w0", epochs=2, num_workers=0), progress=False)
    workers = train(config(cache, tmp_path / "w2", epochs=2, num_workers=2), progress=False)
    assert workers.losses == in_process.losses


def test_coords_model_trains(cache, tmp_path):
    result = train(config(cache, tmp_path / "coords", model=tiny_model("coords"), epochs=3, lr=3e-3), progress=False)
    assert len(result.losses) == 3 and all(np.isfinite(result.losses))
    model, state = load_model(tmp_path / "coords")
    assert model.config.model == "coords" and state["epoch"] == 3
    emb = embed(tmp_path / "coords", cache, tmp_path / "coords.zarr", progress=False)
    assert emb.videos == 12 and emb.dim == 32


def test_cli_train_embed_resume(cache, tmp_path):
    from la2ds.cli import main

    run = tmp_path / "cli_run"
    model = json.dumps({"dim": 32, "heads": 2, "spatial_layers": 1, "temporal_layers": 1, "mlp_dim": 64,
                        "projection_dim": 16, "projection_hidden": 32, "max_frames": 128})
    args = ["train", "--cache", str(cache), "--dataset", DATASET, "--action", "squat", "--out", str(run),
            "--epochs", "1", "--batch-size", "6", "--lr", "1e-3", "--max-frames", "16", "--device", "cpu",
            "--model-config", model, "--seed", "1", "--quiet"]
    assert main(args) == 0
    saved = TrainConfig.model_validate_json((run / "config.json").read_text())
    assert (saved.action, saved.batch_size, saved.max_frames, saved.seed, saved.model.projection_dim) == ("squat", 6, 16, 1, 16)
    assert main(args) == 2  # a fresh run over an existing checkpoint: refused unless --overwrite
    assert main(["train", "--out", str(run), "--resume", "--epochs", "2", "--quiet"]) == 0
    assert load_checkpoint(run)["epoch"] == 2
    assert main(["embed", "--run", str(run), "--cache", str(cache), "--out", str(tmp_path / "e.zarr"),
                 "--where", "projection", "--quiet"]) == 0
    store = read_embeddings(tmp_path / "e.zarr")
    assert len(store) == 12 and all(v.embeddings.shape[1] == 16 for v in store.values())
    assert main(["train", "--cache", str(tmp_path / "missing.zarr"), "--dataset", DATASET, "--out", str(tmp_path / "x")]) == 2
    assert main(["embed", "--run", str(tmp_path / "nothing"), "--cache", str(cache), "--out", str(tmp_path / "y.zarr")]) == 2

"""`la2ds`: one command line over the same functions the Prefect flows call.

    la2ds synth --out DIR [--format penn|projected|openpose|synthetic]
    la2ds preprocess {penn,openpose,projected,h2o,synthetic} --source DIR --cache PATH [...]
    la2ds inspect CACHE [DATASET[/VIDEO]] [--png FILE]
    la2ds train --cache PATH --dataset NAME [--action A] --out RUN_DIR [--epochs N] [--model la2ds|coords] [--modality pose|rgb|rgb+pose] [...]
    la2ds embed --run RUN_DIR --cache PATH --out EMB.zarr [--where encoder|projection]
    la2ds evaluate --embeddings EMB.zarr --out REPORT_DIR [--no-png]
    la2ds compare --cache PATH --dataset NAME [--action A] --out DIR [--epochs N] [...]
    la2ds modalities --cache PATH --dataset NAME [--action A] --out DIR [--epochs N] [--model-config JSON]
    la2ds label penn --cache PATH [--labels LABEL_DIR]
    la2ds robustness --cache PATH --dataset NAME [--action A] --out DIR [--epochs N] [--sigma S] [...]
    la2ds serve

Exit codes: 0 success; 1 some videos failed (the summary lists them); 2 bad arguments or input.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def _preprocess(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from pipeline.heatmaps import HeatmapSettings
    from pipeline.sources import SourceOptions
    from storage.build import PreprocessConfig, build_cache

    options = {
        key: value for key, value in {
            "layout": args.layout, "occluded_confidence": args.occluded_confidence,
            "frame_size": tuple(args.frame_size) if args.frame_size else None, "drop_axis": args.drop_axis,
            "yaw_degrees": args.yaw, "intrinsics": args.intrinsics,
        }.items() if value is not None
    }
    config = PreprocessConfig(
        kind=args.kind, source=args.source, cache=args.cache, dataset=args.dataset,
        heatmaps=HeatmapSettings(size=args.size, sigma=args.sigma, margin=args.margin),
        source_options=SourceOptions(**options), workers=args.workers,
        scheduler_address=args.scheduler, force=args.force, videos_per_task=args.videos_per_task,
        rgb_root=args.rgb, rgb_size=args.rgb_size,
    )
    bar = None

    def on_plan(todo: int, skipped: int) -> None:
        nonlocal bar
        if todo == 0:
            print(f"nothing to do: all {skipped} videos are cached with the same sources and parameters", file=sys.stderr)
        else:
            print(f"{todo} videos to process, {skipped} cached and unchanged", file=sys.stderr)
            bar = tqdm(total=todo, unit="video", file=sys.stderr, disable=args.quiet)

    def on_outcomes(outcomes) -> None:
        if bar is not None:
            bar.update(len(outcomes))
            for outcome in outcomes:
                if outcome.status == "failed":
                    bar.write(f"FAILED {outcome.error}", file=sys.stderr)

    summary = build_cache(config, on_outcomes=on_outcomes, on_plan=on_plan,
                          on_wait=lambda message: print(message, file=sys.stderr))
    if bar is not None:
        bar.close()
    print(summary.text())
    print(f"look at it: la2ds inspect {config.cache} {config.dataset_name}")
    return 0 if summary.ok else 1


def _synth(args: argparse.Namespace) -> int:
    from pipeline.synth.writers import write_dataset

    written = write_dataset(args.out, args.format, actions=args.actions, videos_per_action=args.videos_per_action,
                            seed=args.seed, rgb=args.rgb)
    print(f"wrote {len(written)} synthetic videos ({args.format} format) to {args.out}")
    return 0


def _inspect(args: argparse.Namespace) -> int:
    from storage.inspect import describe, montage_png

    print(describe(args.cache, args.target))
    if args.png:
        dataset, _, video = (args.target or "").partition("/")
        if not video:
            raise ValueError("--png needs a video: la2ds inspect CACHE DATASET/VIDEO --png FILE")
        print(f"montage written to {montage_png(args.cache, dataset, video, args.png, n_frames=args.frames)}")
    return 0


def _train(args: argparse.Namespace) -> int:
    import json

    from models.checkpoint import CHECKPOINT_NAME, CONFIG_NAME
    from models.config import parse_model_config
    from models.train import TrainConfig, train

    run_dir = Path(args.out)
    model_overrides = parse_model_config(args.model_config)
    if args.model:
        model_overrides["model"] = args.model
    if args.modality:
        model_overrides["modality"] = args.modality
    overrides = {
        key: value for key, value in {
            "cache": args.cache, "action": args.action, "epochs": args.epochs, "batch_size": args.batch_size,
            "lr": args.lr, "weight_decay": args.weight_decay, "gamma": args.gamma, "temperature": args.temperature,
            "grad_clip": args.grad_clip, "device": args.device, "seed": args.seed, "num_workers": args.workers,
            "amp": args.amp, "split": args.split,
            "milestones": tuple(args.milestones) if args.milestones is not None else None,
        }.items() if value is not None
    }
    if args.max_frames is not None:
        overrides["max_frames"] = None if args.max_frames <= 0 else args.max_frames
    if args.all_splits:
        overrides["split"] = None
    init_from = {kind: run for kind, run in (("pose", args.init_pose), ("rgb", args.init_rgb)) if run is not None}
    if init_from:
        overrides["init_from"] = init_from

    if args.resume:
        saved_file = run_dir / CONFIG_NAME
        if not (run_dir / CHECKPOINT_NAME).is_file() or not saved_file.is_file():
            print(f"la2ds: error: nothing to resume in {run_dir} (no {CHECKPOINT_NAME} / {CONFIG_NAME})", file=sys.stderr)
            return 2
        saved = json.loads(saved_file.read_text())
        if args.dataset is not None:
            saved["dataset"] = args.dataset
        model = {**saved["model"], **model_overrides}
        config = TrainConfig.model_validate({**saved, **overrides, "model": model, "out": run_dir})
    else:
        if args.cache is None or args.dataset is None:
            print("la2ds: error: train needs --cache and --dataset (or --resume with an existing --out)", file=sys.stderr)
            return 2
        _require_cache(args.cache)
        if model_overrides:
            overrides["model"] = model_overrides
        config = TrainConfig.for_dataset(args.dataset, out=run_dir, **overrides)
    try:
        result = train(config, progress=not args.quiet, resume=args.resume, overwrite=args.overwrite)
    except (FileExistsError, FileNotFoundError) as exc:
        print(f"la2ds: error: {exc}", file=sys.stderr)
        return 2
    if result.losses:
        print(f"trained {result.epoch} epochs ({result.steps} steps) on {result.device}: loss "
              f"{result.losses[0]:.4g} (epoch 1) -> {result.losses[-1]:.4g} (epoch {len(result.losses)})")
    else:
        print("epochs 0: wrote the initialised, untrained model (the baseline)")
    print(f"checkpoint: {result.checkpoint}")
    print(f"logs: tensorboard --logdir {result.run_dir / 'tb'}")
    return 0


def _embed(args: argparse.Namespace) -> int:
    from models.embed import embed

    try:
        result = embed(args.run, args.cache, args.out, where=args.where, device=args.device, progress=not args.quiet)
    except (FileExistsError, FileNotFoundError) as exc:
        print(f"la2ds: error: {exc}", file=sys.stderr)
        return 2
    print(f"wrote {result.videos} videos ({result.frames} frames, dim {result.dim}) of the epoch-{result.epoch} "
          f"model to {result.out}")
    return 0


def _evaluate(args: argparse.Namespace) -> int:
    from models.evaluate import evaluate_embeddings, report_text

    evaluate_embeddings(args.embeddings, args.out, stride=args.stride, seed=args.seed, standardize=args.standardize)
    print(report_text(args.out))
    print(f"written: {args.out}/metrics.json, {args.out}/metrics.md")
    if args.png:
        from models.plots import write_report_pngs
        from storage.embeddings import read_store_attrs

        for path in write_report_pngs(args.embeddings, read_store_attrs(args.embeddings)["cache"], args.out):
            print(f"png: {path}")
    return 0


def _require_cache(cache: Path) -> None:
    """CacheError (exit 2 with the reason) unless CACHE is a la2ds cache of this schema."""
    from storage.cache import open_cache

    open_cache(cache)


def _training_overrides(args: argparse.Namespace) -> dict:
    """TrainConfig fields given on the command line of compare / modalities (others keep their defaults)."""
    overrides = {key: value for key, value in {
        "batch_size": args.batch_size, "lr": args.lr, "seed": args.seed, "device": args.device,
    }.items() if value is not None}
    if args.max_frames is not None:
        overrides["max_frames"] = None if args.max_frames <= 0 else args.max_frames
    return overrides


def _compare(args: argparse.Namespace) -> int:
    from models.compare import compare, compare_markdown
    from models.config import parse_model_config

    _require_cache(args.cache)
    overrides = _training_overrides(args)
    report = compare(args.cache, args.dataset, args.action, args.out, epochs=args.epochs,
                     model_config=parse_model_config(args.model_config), where=args.where, stride=args.stride,
                     standardize=args.standardize, png=args.png, progress=not args.quiet, **overrides)
    print(compare_markdown(report))
    print(f"written: {args.out}/compare.json, {args.out}/compare.md (per method: {args.out}/<method>/metrics.md)")
    return 0


def _modalities(args: argparse.Namespace) -> int:
    from models.config import parse_model_config
    from models.fusion_table import modality_markdown, modality_table

    _require_cache(args.cache)
    overrides = _training_overrides(args)
    report = modality_table(args.cache, args.dataset, args.action, args.out, epochs=args.epochs,
                            model_overrides=parse_model_config(args.model_config), fusion_epochs=args.fusion_epochs,
                            standardize=args.standardize, progress=not args.quiet, **overrides)
    print(modality_markdown(report))
    print(f"written: {args.out}/modalities.json, {args.out}/modalities.md")
    return 0


def _label(args: argparse.Namespace) -> int:
    from storage.labels import label_dataset

    summary = label_dataset(args.cache, args.dataset, label_dir=args.labels, overwrite=args.overwrite)
    print(summary.text())
    return 0 if summary.ok else 1


def _robustness(args: argparse.Namespace) -> int:
    from models.config import parse_model_config
    from models.robustness import report_markdown, robustness_report

    model_config = parse_model_config(args.model_config)
    _require_cache(args.cache)
    report = robustness_report(
        args.cache, args.dataset, args.action, args.out, epochs=args.epochs, model_config=model_config,
        batch_size=args.batch_size, lr=args.lr, max_frames=None if args.max_frames <= 0 else args.max_frames,
        sigma=args.sigma, seed=args.seed, standardize=args.standardize, device=args.device, progress=not args.quiet,
    )
    print(report_markdown(report))
    print(f"written: {args.out}/robustness.json, {args.out}/robustness.md")
    return 0


def _serve(args: argparse.Namespace) -> int:
    from flows.serve import serve_all

    serve_all(tuple(args.flows))
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="la2ds", description="LA2DS: 2D skeleton heatmaps, cached in Zarr, for temporal alignment.")
    sub = parser.add_subparsers(dest="command", required=True)

    pre = sub.add_parser("preprocess", help="poses -> 30x30 joint+limb heatmaps in the Zarr cache")
    pre.add_argument("kind", choices=["penn", "openpose", "projected", "h2o", "synthetic"])
    pre.add_argument("--source", required=True, type=Path, help="source folder or file")
    pre.add_argument("--cache", required=True, type=Path, help="Zarr cache path (created if missing)")
    pre.add_argument("--dataset", help="dataset group name (default: penn_action for penn, else the source folder name)")
    pre.add_argument("--sigma", type=float, default=1.0, help="Gaussian sigma in heatmap pixels (default 1.0)")
    pre.add_argument("--size", type=int, default=30, help="heatmap side (default 30)")
    pre.add_argument("--margin", type=float, default=1.0, help="heatmap pixels around the crop box (default 1.0)")
    pre.add_argument("--workers", type=int, default=2, help="local Dask worker processes (default 2)")
    pre.add_argument("--scheduler", help="address of an existing Dask scheduler, e.g. tcp://127.0.0.1:8786")
    pre.add_argument("--force", action="store_true", help="redo every video, cached or not")
    pre.add_argument("--videos-per-task", type=int, default=16)
    pre.add_argument("--layout", help="skeleton layout (openpose: body25 by default; projected: from the file)")
    pre.add_argument("--occluded-confidence", type=float, help="Penn Action: confidence of occluded joints (default 0.5)")
    pre.add_argument("--frame-size", type=int, nargs=2, metavar=("W", "H"), help="projected/h2o frame size")
    pre.add_argument("--drop-axis", type=int, choices=[0, 1, 2], help="projected: 3D axis dropped (default 2)")
    pre.add_argument("--yaw", type=float, help="projected: degrees of rotation about the vertical axis")
    pre.add_argument("--intrinsics", help="h2o: camera intrinsics file (perspective projection)")
    pre.add_argument("--rgb", type=Path, help="also cache RGB crops from DIR/<video_id>.mp4|.avi or DIR/<video_id>/ frames")
    pre.add_argument("--rgb-size", type=int, default=64, help="side of the cached RGB crops (default 64)")
    pre.add_argument("--quiet", action="store_true", help="no progress bar")
    pre.set_defaults(func=_preprocess)

    synth = sub.add_parser("synth", help="generate synthetic motion data with phase labels")
    synth.add_argument("--out", required=True, type=Path)
    synth.add_argument("--format", default="penn", choices=["penn", "projected", "openpose", "synthetic"])
    synth.add_argument("--actions", nargs="*", help="subset of actions (default: all)")
    synth.add_argument("--videos-per-action", type=int, default=8)
    synth.add_argument("--seed", type=int, default=0)
    synth.add_argument("--rgb", action="store_true", help="also render RGB videos of the skeletons (penn: OUT/frames/)")
    synth.set_defaults(func=_synth)

    ins = sub.add_parser("inspect", help="describe a cache; --png renders a video's heatmaps")
    ins.add_argument("cache", type=Path)
    ins.add_argument("target", nargs="?", help="DATASET or DATASET/VIDEO")
    ins.add_argument("--png", type=Path, help="write a montage of DATASET/VIDEO's heatmaps to this PNG")
    ins.add_argument("--frames", type=int, default=6, help="frames in the montage (default 6)")
    ins.set_defaults(func=_inspect)

    tr = sub.add_parser("train", help="self-supervised alignment training on a cached dataset")
    tr.add_argument("--cache", type=Path, help="Zarr cache path")
    tr.add_argument("--dataset", help="dataset group of the cache, e.g. penn_action (sets the paper's defaults)")
    tr.add_argument("--action", help="train on this action only (default: every video of the dataset)")
    tr.add_argument("--out", required=True, type=Path, help="run directory: checkpoint.pt, config.json, tb/")
    tr.add_argument("--epochs", type=int, help="epochs (default 100); 0 writes the untrained model")
    tr.add_argument("--model", choices=["la2ds", "coords"], help="heatmap network (default) or coordinate baseline")
    tr.add_argument("--model-config", help="JSON object (or file) of ModelConfig fields, e.g. '{\"dim\": 96}'")
    tr.add_argument("--batch-size", type=int, help="pairs per batch (paper default per dataset)")
    tr.add_argument("--lr", type=float, help="Adam learning rate (paper default per dataset)")
    tr.add_argument("--weight-decay", type=float, help="Adam weight decay (default 1e-5)")
    tr.add_argument("--milestones", type=int, nargs="*", help="MultiStepLR epochs (default 60 80)")
    tr.add_argument("--gamma", type=float, help="MultiStepLR factor (default 0.1)")
    tr.add_argument("--temperature", type=float, help="lambda of the soft matching (default 0.1)")
    tr.add_argument("--grad-clip", type=float, help="clip the gradient norm to this (default: no clipping)")
    tr.add_argument("--split", help="train on this split (default train)")
    tr.add_argument("--all-splits", action="store_true", help="train on every split")
    tr.add_argument("--device", choices=["auto", "cpu", "cuda"], help="default auto: CUDA when present")
    tr.add_argument("--amp", action=argparse.BooleanOptionalAction, default=None,
                    help="bf16 autocast (default: on CUDA only)")
    tr.add_argument("--resume", action="store_true", help="continue from OUT/checkpoint.pt (its config)")
    tr.add_argument("--overwrite", action="store_true", help="start afresh over an existing checkpoint")
    tr.add_argument("--seed", type=int, help="default 0")
    tr.add_argument("--max-frames", type=int, help="subsample longer videos to this many frames (default 128; 0 = none)")
    tr.add_argument("--workers", type=int, help="data loader worker processes (default 0)")
    tr.add_argument("--quiet", action="store_true", help="no progress bar")
    tr.add_argument("--modality", choices=["pose", "rgb", "rgb+pose"],
                    help="pose heatmaps (default), cached RGB frames, or both (late fusion)")
    tr.add_argument("--init-pose", type=Path, metavar="RUN", help="start the pose encoder from this run (stage 2)")
    tr.add_argument("--init-rgb", type=Path, metavar="RUN", help="start the RGB encoder from this run (stage 2)")
    tr.set_defaults(func=_train)

    emb = sub.add_parser("embed", help="frozen per-frame embeddings of every video of a run's dataset/action")
    emb.add_argument("--run", required=True, type=Path, help="run directory (checkpoint.pt)")
    emb.add_argument("--cache", required=True, type=Path, help="Zarr cache path")
    emb.add_argument("--out", required=True, type=Path, help="embeddings Zarr store to write (e.g. emb.zarr)")
    emb.add_argument("--where", choices=["encoder", "projection"], default="encoder",
                     help="encoder output (default, before the projection head) or projected")
    emb.add_argument("--device", choices=["auto", "cpu", "cuda"], default="auto")
    emb.add_argument("--quiet", action="store_true", help="no progress bar")
    emb.set_defaults(func=_embed)

    ev = sub.add_parser("evaluate", help="phase classification, progression, Kendall's tau, AP@K of embeddings")
    ev.add_argument("--embeddings", required=True, type=Path, help="store written by la2ds embed")
    ev.add_argument("--out", required=True, type=Path, help="report folder: metrics.json, metrics.md")
    ev.add_argument("--stride", type=int, default=1, help="Kendall's tau frame stride (default 1)")
    ev.add_argument("--seed", type=int, default=0, help="choice of the labelled training videos")
    ev.add_argument("--standardize", action="store_true",
                    help="scale embedding dimensions before the SVM (not the reference protocol; see docs)")
    ev.add_argument("--png", action=argparse.BooleanOptionalAction, default=True,
                    help="also write alignment / projection / retrieval PNGs of the first action (default on)")
    ev.set_defaults(func=_evaluate)

    cmp_ = sub.add_parser("compare", help="untrained encoder vs coordinate baseline vs LA2DS on one cache, one table")
    cmp_.add_argument("--cache", required=True, type=Path, help="Zarr cache path")
    cmp_.add_argument("--dataset", required=True, help="dataset group of the cache, e.g. penn_action")
    cmp_.add_argument("--action", help="one action (default: every video of the dataset; the table shows the mean)")
    cmp_.add_argument("--out", required=True, type=Path, help="folder: <method>/run, embeddings, metrics; compare.json/.md")
    cmp_.add_argument("--epochs", type=int, default=100, help="epochs of the trained methods (default 100)")
    cmp_.add_argument("--batch-size", type=int, help="pairs per batch (paper default per dataset)")
    cmp_.add_argument("--lr", type=float, help="Adam learning rate (paper default per dataset)")
    cmp_.add_argument("--max-frames", type=int, help="subsample longer videos to this many frames (default 128; 0 = none)")
    cmp_.add_argument("--model-config", help="JSON object (or file) of ModelConfig fields for both networks")
    cmp_.add_argument("--where", choices=["encoder", "projection"], default="encoder", help="embedding taken (default encoder)")
    cmp_.add_argument("--stride", type=int, default=1, help="Kendall's tau frame stride (default 1)")
    cmp_.add_argument("--seed", type=int, help="training seed (default 0)")
    cmp_.add_argument("--device", choices=["auto", "cpu", "cuda"], help="default auto: CUDA when present")
    cmp_.add_argument("--standardize", action="store_true",
                      help="scale embedding dimensions before the SVM (not the reference protocol; see README)")
    cmp_.add_argument("--png", action=argparse.BooleanOptionalAction, default=False,
                      help="also write each method's report PNGs into OUT/<method>/ (default off)")
    cmp_.add_argument("--quiet", action="store_true", help="no progress output")
    cmp_.set_defaults(func=_compare)

    mod = sub.add_parser("modalities", help="Pose vs RGB vs RGB+Pose (two-stage fusion) on one cache, one table")
    mod.add_argument("--cache", required=True, type=Path, help="Zarr cache path (with RGB frames)")
    mod.add_argument("--dataset", required=True, help="dataset group of the cache, e.g. penn_action")
    mod.add_argument("--action", help="one action (default: every video of the dataset)")
    mod.add_argument("--out", required=True, type=Path, help="folder: <modality>/run, embeddings, metrics; modalities.json/.md")
    mod.add_argument("--epochs", type=int, default=100, help="epochs of the pose and RGB runs (default 100)")
    mod.add_argument("--fusion-epochs", type=int, help="epochs of the fused run (default: --epochs)")
    mod.add_argument("--model-config", help="JSON object (or file) of ModelConfig fields for every network")
    mod.add_argument("--batch-size", type=int, help="pairs per batch (paper default per dataset)")
    mod.add_argument("--lr", type=float, help="Adam learning rate (paper default per dataset)")
    mod.add_argument("--max-frames", type=int, help="subsample longer videos to this many frames (default 128; 0 = none)")
    mod.add_argument("--seed", type=int, help="training seed (default 0)")
    mod.add_argument("--device", choices=["auto", "cpu", "cuda"], help="default auto: CUDA when present")
    mod.add_argument("--quiet", action="store_true", help="no progress output")
    mod.add_argument("--standardize", action="store_true",
                     help="scale embedding dimensions before the SVM (not the reference protocol; see README)")
    mod.set_defaults(func=_modalities)

    lab = sub.add_parser("label", help="per-frame phase labels into the cache: derived key events or published labels")
    lab.add_argument("source", choices=["penn"], help="the dataset family (Penn Action key events)")
    lab.add_argument("--cache", required=True, type=Path)
    lab.add_argument("--dataset", default="penn_action")
    lab.add_argument("--labels", type=Path, help="published labels LABEL_DIR/{train,val}/{action}/{video}.npy "
                     "(default: derive key events from the joint trajectories; named 'derived', not ground truth)")
    lab.add_argument("--overwrite", action="store_true", help="replace labels the videos already have")
    lab.set_defaults(func=_label)

    rob = sub.add_parser("robustness", help="missing / noisy keypoint robustness of LA2DS and the coordinate baseline")
    rob.add_argument("--cache", required=True, type=Path, help="Zarr cache path")
    rob.add_argument("--dataset", required=True, help="dataset group of the cache, e.g. penn_action")
    rob.add_argument("--action", help="one action (default: every video of the dataset)")
    rob.add_argument("--out", required=True, type=Path, help="folder: runs, noisy cache copy, robustness.json/.md")
    rob.add_argument("--epochs", type=int, default=100, help="training epochs of every run (default 100)")
    rob.add_argument("--model-config", help="JSON object (or file) of ModelConfig fields for both models")
    rob.add_argument("--batch-size", type=int, help="pairs per batch (paper default per dataset)")
    rob.add_argument("--lr", type=float, help="Adam learning rate (paper default per dataset)")
    rob.add_argument("--max-frames", type=int, default=128, help="training subsample length (default 128; 0 = none)")
    rob.add_argument("--sigma", type=float, default=1.0, help="keypoint noise sigma, heatmap pixels (default 1.0)")
    rob.add_argument("--seed", type=int, default=0, help="seed of the dropped chains and of the noise")
    rob.add_argument("--standardize", action="store_true",
                     help="scale embedding dimensions before the SVM (not the reference protocol)")
    rob.add_argument("--device", choices=["auto", "cpu", "cuda"], default="auto")
    rob.add_argument("--quiet", action="store_true", help="no progress output")
    rob.set_defaults(func=_robustness)

    srv = sub.add_parser("serve", help="serve every Prefect deployment from this process")
    srv.add_argument("--flows", nargs="+", default=["preprocess", "train", "evaluate", "retrain"],
                     choices=["preprocess", "train", "evaluate", "retrain"], help="serve only these flows' deployments")
    srv.set_defaults(func=_serve)
    return parser


def main(argv: list[str] | None = None) -> int:
    from pipeline.errors import SourceError
    from storage.cache import CacheError

    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except (SourceError, CacheError, ValueError) as exc:
        print(f"la2ds: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())

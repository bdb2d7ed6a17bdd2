"""`la2ds`: one command line over the same functions the Prefect flows call.

    la2ds synth --out DIR [--format penn|projected|openpose|synthetic]
    la2ds preprocess {penn,openpose,projected,h2o,synthetic} --source DIR --cache PATH [...]
    la2ds inspect CACHE [DATASET[/VIDEO]] [--png FILE]
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

    summary = build_cache(config, on_outcomes=on_outcomes, on_plan=on_plan)
    if bar is not None:
        bar.close()
    print(summary.text())
    print(f"look at it: la2ds inspect {config.cache} {config.dataset_name}")
    return 0 if summary.ok else 1


def _synth(args: argparse.Namespace) -> int:
    from pipeline.synth.writers import write_dataset

    written = write_dataset(args.out, args.format, actions=args.actions, videos_per_action=args.videos_per_action,
                            seed=args.seed)
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


def _serve(args: argparse.Namespace) -> int:
    from flows.serve import serve_all

    serve_all()
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
    pre.add_argument("--quiet", action="store_true", help="no progress bar")
    pre.set_defaults(func=_preprocess)

    synth = sub.add_parser("synth", help="generate synthetic motion data with phase labels")
    synth.add_argument("--out", required=True, type=Path)
    synth.add_argument("--format", default="penn", choices=["penn", "projected", "openpose", "synthetic"])
    synth.add_argument("--actions", nargs="*", help="subset of actions (default: all)")
    synth.add_argument("--videos-per-action", type=int, default=8)
    synth.add_argument("--seed", type=int, default=0)
    synth.set_defaults(func=_synth)

    ins = sub.add_parser("inspect", help="describe a cache; --png renders a video's heatmaps")
    ins.add_argument("cache", type=Path)
    ins.add_argument("target", nargs="?", help="DATASET or DATASET/VIDEO")
    ins.add_argument("--png", type=Path, help="write a montage of DATASET/VIDEO's heatmaps to this PNG")
    ins.add_argument("--frames", type=int, default=6, help="frames in the montage (default 6)")
    ins.set_defaults(func=_inspect)

    srv = sub.add_parser("serve", help="serve every Prefect deployment from this process")
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

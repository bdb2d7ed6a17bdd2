#!/usr/bin/env bash
# `make demo`: local Prefect server (SQLite under .la2ds/prefect), the serving process, synthetic
# Penn-format data unless PENN_ACTION_ROOT points to a real Penn Action folder, then the chain:
# preprocess/penn, a short train/penn on one action (DEMO_ACTION, default squat; DEMO_EPOCHS,
# default 10), evaluate/penn. Prints where the cache and the report are. Stops everything it started.
set -euo pipefail
set -m  # background jobs get their own process group, so they can be stopped cleanly
cd "$(dirname "$0")/.."
BIN=.venv/bin
STATE=${LA2DS_STATE:-.la2ds}
PORT=${LA2DS_PREFECT_PORT:-4200}
export PREFECT_HOME=${PREFECT_HOME:-$PWD/$STATE/prefect}
export PREFECT_API_URL=http://127.0.0.1:$PORT/api
export PREFECT_SERVER_ANALYTICS_ENABLED=false
export PREFECT_RUNNER_POLL_FREQUENCY=2
export LA2DS_CACHE=${LA2DS_CACHE:-$PWD/$STATE/cache.zarr}
export LA2DS_DATA=$PWD/$STATE/demo
export LA2DS_RUNS=${LA2DS_RUNS:-$PWD/$STATE/runs}
ACTION=${DEMO_ACTION:-squat}
EPOCHS=${DEMO_EPOCHS:-10}
mkdir -p "$STATE" "$LA2DS_DATA"

if [[ -z "${PENN_ACTION_ROOT:-}" ]]; then
  export PENN_ACTION_ROOT=$LA2DS_DATA/penn
  if [[ ! -f $PENN_ACTION_ROOT/manifest.json ]]; then
    echo "== generating synthetic Penn-format data in $PENN_ACTION_ROOT (set PENN_ACTION_ROOT for real data)"
    $BIN/la2ds synth --out "$PENN_ACTION_ROOT" --format penn --videos-per-action 12
  fi
fi

serve_pid=""
cleanup() {
  [[ -n $serve_pid ]] && kill -INT -- "-$serve_pid" 2>/dev/null && wait "$serve_pid" 2>/dev/null || true
  $BIN/prefect server stop >/dev/null 2>&1 || true
}
trap cleanup EXIT

echo "== starting the Prefect server on 127.0.0.1:$PORT (state in $PREFECT_HOME)"
$BIN/prefect server start --host 127.0.0.1 --port "$PORT" --background >/dev/null
$BIN/prefect server status --wait --timeout 120 >/dev/null

echo "== serving the deployments (log: $STATE/serve.log)"
$BIN/la2ds serve >"$STATE/serve.log" 2>&1 &
serve_pid=$!
for _ in $(seq 60); do
  $BIN/prefect deployment inspect preprocess/penn >/dev/null 2>&1 && break
  sleep 1
done

echo "== prefect deployment run preprocess/penn --watch"
$BIN/prefect deployment run preprocess/penn --watch

echo "== prefect deployment run train/penn (action $ACTION, $EPOCHS epochs, a CPU-sized demo run) --watch"
$BIN/prefect deployment run train/penn -p action="$ACTION" -p epochs="$EPOCHS" -p max_frames=32 -p batch_size=2 \
  -p lr=0.001 --watch

echo "== prefect deployment run evaluate/penn --watch"
$BIN/prefect deployment run evaluate/penn --watch
cat "$LA2DS_RUNS/penn/report/metrics.md"

echo "== the cache"
$BIN/la2ds inspect "$LA2DS_CACHE"
first=$($BIN/python -c "import sys; from storage.cache import list_videos; print(list_videos(sys.argv[1], 'penn_action')[0])" "$LA2DS_CACHE")
$BIN/la2ds inspect "$LA2DS_CACHE" "penn_action/$first" --png "$STATE/montage.png" | tail -n 1
cat <<MSG

Done. The evaluation report: $LA2DS_RUNS/penn/report/metrics.md (and metrics.json)
The trained model: $LA2DS_RUNS/penn/checkpoint.pt (TensorBoard logs in $LA2DS_RUNS/penn/tb)
Look at the cache:
  $BIN/la2ds inspect $LA2DS_CACHE penn_action/$first --png montage.png
  $BIN/python -c "import zarr; zarr.open_group('$LA2DS_CACHE', mode='r').tree()"
MSG

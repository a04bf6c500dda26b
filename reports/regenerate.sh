#!/usr/bin/env bash
# Regenerates everything in reports/ from real runs of the built-in adapters on the embedded sample
# (36 real COCO val2017 images). Nothing in reports/ is edited by hand.
#
#   bash reports/regenerate.sh            # leaderboard + baselines (about 2 hours on 2 CPU cores)
#
# Needs both real models: mediapipe and yolo11n-pose (see README: Quick start and YOLO11n-pose).
# Runs go to reports/runs/ (results.json, samples.parquet, matches/, the clean predictions;
# caches are deleted to keep the folder small).
#
# A small-scale trial of the whole script (every run on the first N images, searches of 40
# queries) into another folder, leaving reports/ alone:
#
#   POSEBENCH_REGEN_OUT=/tmp/reports-trial POSEBENCH_REGEN_LIMIT=2 bash reports/regenerate.sh
#
# POSEBENCH_REGEN_STRESS_LIMIT=N runs the stress suites (COCO-C, occlusion, low light) on the first
# N images only (the clean runs and the baselines keep all 36); the report's table titles show
# the image count of every suite. POSEBENCH_REGEN_EXAMINE=0 keeps the failure-search runs already
# in reports/runs/ instead of running them again.
set -euo pipefail
cd "$(dirname "$0")/.."
out=${POSEBENCH_REGEN_OUT:-reports}
limit=()
budget=600
if [ -n "${POSEBENCH_REGEN_LIMIT:-}" ]; then
    limit=(--limit "$POSEBENCH_REGEN_LIMIT")
    budget=40
fi
stress_limit=()
if [ -n "${POSEBENCH_REGEN_STRESS_LIMIT:-}" ]; then
    stress_limit=(--limit "$POSEBENCH_REGEN_STRESS_LIMIT")
fi
runs=$out/runs
if [ "${POSEBENCH_REGEN_EXAMINE:-1}" = 0 ]; then  # keep the failure searches already there
    find "$runs" -mindepth 1 -maxdepth 1 ! -name "*-examine" -exec rm -rf {} +
else
    rm -rf "$runs"
fi
rm -rf "$out/baseline" "$out/baseline-yolo11n-pose"
mkdir -p "$runs"
run() {  # name, then posebench run arguments
    local name=$1; shift
    local t0=$SECONDS
    posebench run --no-progress --output "$runs/$name" "${limit[@]}" "$@" > /dev/null
    rm -rf "$runs/$name/cache"
    # keep only the clean predictions: the report draws its example images from them, and
    # top-down runs on detected people take their boxes from them (--boxes RUN)
    find "$runs/$name/predictions" -name "*.npz" ! -name "clean.npz" -delete
    echo "$name: $((SECONDS - t0)) s" >&2
}
examine() {  # name, then posebench examine arguments
    local name=$1; shift
    [ "${POSEBENCH_REGEN_EXAMINE:-1}" = 0 ] && return 0
    local t0=$SECONDS
    posebench examine --budget "$budget" --size 160 --threshold auto \
        --output "$runs/$name" "$@" > /dev/null
    echo "$name: $((SECONDS - t0)) s" >&2
}
# the CI baselines: exactly what `posebench demo` computes, for each real model
posebench demo --output "$out/baseline" --ci 1000 --no-progress > /dev/null
posebench demo --adapter yolo11n-pose --output "$out/baseline-yolo11n-pose" --ci 1000 \
    --no-progress > /dev/null
rm -rf "$out"/baseline*/cache "$out"/baseline*/predictions

# --- real models, clean. GT person boxes (top-down on GT boxes: their own table)
run mediapipe-topdown --adapter mediapipe --suite demo
# detected people (ranked together): bottom-up YOLO11n-pose, BlazePose on the whole image, and
# BlazePose top-down on YOLO11n-pose's boxes
run yolo11n-pose --adapter yolo11n-pose --suite demo
run mediapipe-fullimage --adapter mediapipe --adapter-arg mode=full-image --suite demo
run mediapipe-on-yolo11n-pose-boxes --adapter mediapipe --suite demo --boxes "$runs/yolo11n-pose"

# --- real models under stress on the embedded sample (COCO-C, occlusion, low light). BlazePose
# top-down on GT boxes, and both models finding people themselves (no boxes from clean images
# leak into a stressed one)
for suite in coco-c occlusion lowlight; do
    run "mediapipe-$suite" --adapter mediapipe --suite "$suite" --dataset coco-sample \
        --boxes gt --ci 200 "${stress_limit[@]}"
    run "yolo11n-pose-$suite" --adapter yolo11n-pose --suite "$suite" --dataset coco-sample \
        --boxes gt --ci 200 "${stress_limit[@]}"
    run "mediapipe-fullimage-$suite" --adapter mediapipe --adapter-arg mode=full-image \
        --suite "$suite" --dataset coco-sample --boxes gt --ci 200 "${stress_limit[@]}"
done

# --- failure searches of both real models on the default anny body
examine mediapipe-examine --adapter mediapipe
examine yolo11n-pose-examine --adapter yolo11n-pose

# --- calibrated fakes (the ground truth, perturbed): their own tables in the report
run oracle --adapter oracle --suite demo
run jitter-0.02 --adapter jitter --adapter-arg noise=0.02 --suite demo
run jitter-0.05 --adapter jitter --adapter-arg noise=0.05 --adapter-arg miss=0.1 \
    --adapter-arg false_positives=0.5 --suite demo
run jitter-coco-c --adapter jitter --adapter-arg noise=0.02 --suite coco-c --dataset coco-sample \
    --boxes gt --ci 200 "${stress_limit[@]}"

title="posebench on the embedded COCO val2017 sample"
posebench report "$runs"/* --output "$out/leaderboard.md" --format md --title "$title"
posebench report "$runs"/* --output "$out/leaderboard.html" --format html --title "$title"
posebench report "$runs"/* --output "$out/leaderboard.json" --format json
echo "wrote $out/leaderboard.{md,html,json}, $out/baseline, $out/baseline-yolo11n-pose and $out/runs"

#!/usr/bin/env bash
# Regenerates everything in reports/ from real runs of the built-in adapters on the embedded sample
# (36 real COCO val2017 images). Nothing in reports/ is edited by hand.
#
#   bash reports/regenerate.sh            # leaderboard + baseline (a few minutes on 2 CPU cores)
#
# Needs mediapipe (see DEVELOPERS.md). Runs go to reports/runs/ (results.json, samples.parquet,
# matches/, the clean predictions; caches are deleted to keep the folder small).
set -euo pipefail
cd "$(dirname "$0")/.."
runs=reports/runs
rm -rf "$runs" reports/baseline
mkdir -p "$runs"
run() {  # name, then posebench run arguments
    local name=$1; shift
    posebench run --no-progress --output "$runs/$name" "$@" > /dev/null
    rm -rf "$runs/$name/cache"
    # keep only the clean predictions: the report draws its example images from them
    find "$runs/$name/predictions" -name "*.npz" ! -name "clean.npz" -delete
}
# the CI baseline: exactly what `posebench demo` computes
posebench demo --output reports/baseline --ci 1000 --no-progress > /dev/null
rm -rf reports/baseline/cache reports/baseline/predictions
# the leaderboard: clean accuracy of every built-in adapter that runs offline here
run mediapipe-topdown --adapter mediapipe --suite demo
run mediapipe-fullimage --adapter mediapipe --adapter-arg mode=full-image --suite demo
run oracle --adapter oracle --suite demo
run jitter-0.02 --adapter jitter --adapter-arg noise=0.02 --suite demo
run jitter-0.05 --adapter jitter --adapter-arg noise=0.05 --adapter-arg miss=0.1 \
    --adapter-arg false_positives=0.5 --suite demo
# robustness of the real model on the embedded sample
run mediapipe-coco-c --adapter mediapipe --suite coco-c --dataset coco-sample --boxes gt --ci 200
run mediapipe-occlusion --adapter mediapipe --suite occlusion --dataset coco-sample --ci 200
run mediapipe-lowlight --adapter mediapipe --suite lowlight --dataset coco-sample --ci 200
run jitter-coco-c --adapter jitter --adapter-arg noise=0.02 --suite coco-c --dataset coco-sample \
    --boxes gt --ci 200
# a failure search of the real model on the shipped mannequin body
posebench examine --adapter mediapipe --budget 600 --size 160 --threshold auto \
    --output "$runs/mediapipe-examine" > /dev/null
posebench report "$runs"/* --output reports/leaderboard.md --format md \
    --title "posebench on the embedded COCO val2017 sample"
posebench report "$runs"/* --output reports/leaderboard.html --format html \
    --title "posebench on the embedded COCO val2017 sample"
posebench report "$runs"/* --output reports/leaderboard.json --format json
echo "wrote reports/leaderboard.{md,html,json}, reports/baseline and reports/runs"

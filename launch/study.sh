#!/usr/bin/env bash
# The reference study of the large-batch generalization gap on Fashion-MNIST, on 2 ranks:
# MLP 784-128-10, SGD momentum 0.9 (lr 0.01 at batch 64), global batches 64 .. 8192, rules
# none / linear+warmup / sqrt+warmup / LARS (lars+linear+warmup from 0.1), 3 seeds, 10 epochs
# each (96 runs), steps to 0.85 test accuracy, sharpness at eps 1e-3; then the HTML report.
#   launch/study.sh [extra ddp sweep arguments]     -> runs/study/report.html
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
# The report comes from the same ddp as the sweep (DDP overrides both, as for launch/local.sh).
ddp=${DDP:-$here/.build/release/ddp}
export DDP=$ddp
out=${STUDY_OUT:-$here/runs/study}
# sweep.json is written before the first run ends, results.csv after: either means a study is there.
if [ -e "$out/results.csv" ] || [ -e "$out/sweep.json" ]; then
  echo "launch/study.sh: $out already holds a study; set STUDY_OUT, remove it, or continue it with ddp sweep --resume $out" >&2
  exit 1
fi
"$here/launch/local.sh" 2 sweep \
  --global-batch 64,128,256,512,1024,2048,4096,8192 \
  --rules none,linear+warmup,sqrt+warmup,lars \
  --seeds 1,2,3 --budget epochs:10 --warmup-epochs 2 \
  --batch-per-rank 256 --target 0.85 --evals-per-epoch 2 --sharpness 1e-3 \
  --out "$out" "$@"
"$ddp" report "$out"
# The main pictures as standalone SVG files (README's docs/study/ holds this machine's copy).
python3 "$here/launch/extract_figures.py" "$out/report.html" "$out/figures" \
  test-acc-vs-batch gap-vs-batch steps-to-target-vs-batch gns-vs-batch sharpness-vs-batch

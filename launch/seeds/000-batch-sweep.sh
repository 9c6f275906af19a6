#!/usr/bin/env bash
# Seed 000: the same CNN with Adam at batch 32, 128, 512, 2048 for 10 epochs each, then the
# plot of validation accuracy against batch size (runs/seeds/000-sweep.svg).
set -euo pipefail
source "$(dirname "$0")/common.sh"
epochs=${EPOCHS:-10}
for batch in 32 128 512 2048; do
  run "000-sweep-$batch" 2 --model cnn --optimizer adam --epochs "$epochs" --global-batch "$batch" --batch-per-rank 256
done
python3 "$(dirname "$0")/plot_accuracy_vs_batch.py" "$out/000-sweep.svg" "$out"/000-sweep-*/summary.json
echo "plot: $out/000-sweep.svg"

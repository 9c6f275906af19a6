#!/usr/bin/env bash
# Seed 003: random data (1000 x 20, labels 0/1), Dense 64 ReLU + 2-way softmax head (the sigmoid's
# equivalent), Adam lr 0.001, 20 epochs: batch 32; batch 256; batch 256 with 5 epochs of warmup
# from lr / 5 (the article's Keras schedule, per step here rather than per epoch).
set -euo pipefail
source "$(dirname "$0")/common.sh"
common=(--data synthetic-binary --model fc64-fc2 --optimizer adam --lr 0.001 --epochs 20 --seed 42)
run 003-batch-32 2 "${common[@]}" --global-batch 32
run 003-batch-256 2 "${common[@]}" --global-batch 256
run 003-batch-256-warmup 2 "${common[@]}" --global-batch 256 --warmup-epochs 5 --warmup-start-lr 0.0002

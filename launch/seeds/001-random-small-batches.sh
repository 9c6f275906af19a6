#!/usr/bin/env bash
# Seed 001: random data (100 x 10, labels 0/1), a 10-16-2 network, plain SGD for 50 epochs:
# batch 8 at lr 0.01, batch 32 at lr 0.1 (the larger batch given a larger rate), batch 1 at lr 0.005.
set -euo pipefail
source "$(dirname "$0")/common.sh"
common=(--data synthetic-binary:100x10 --model fc16-fc2 --momentum 0 --epochs 50 --seed 42)
run 001-batch-8 1 "${common[@]}" --batch-per-rank 8 --lr 0.01
run 001-batch-32 2 "${common[@]}" --global-batch 32 --lr 0.1
run 001-batch-1 1 "${common[@]}" --batch-per-rank 1 --lr 0.005

#!/usr/bin/env bash
# Seed 002: the MLP 784-128-10 with plain SGD at lr 0.01 for 10 epochs, at batch 1 (online
# learning, one rank: 60000 steps an epoch), 32 and 512 (2 ranks).
set -euo pipefail
source "$(dirname "$0")/common.sh"
epochs=${EPOCHS:-10}
common=(--model mlp --hidden 128 --momentum 0 --lr 0.01 --epochs "$epochs")
run 002-batch-1 1 "${common[@]}" --batch-per-rank 1
run 002-batch-32 2 "${common[@]}" --global-batch 32
run 002-batch-512 2 "${common[@]}" --global-batch 512

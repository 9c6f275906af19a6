#!/usr/bin/env bash
# Seed 000: the Keras CNN (Conv2D 32 3x3 ReLU, MaxPool 2, Flatten, Dense 10, Adam) for 10 epochs,
# trained in ONE batch of all 60000 images (full-batch gradient descent: 10 steps, reached by
# accumulation in bounded memory) and in batches of 32, on 2 ranks.
set -euo pipefail
source "$(dirname "$0")/common.sh"
epochs=${EPOCHS:-10}
run 000-full-batch 2 --model cnn --optimizer adam --epochs "$epochs" --global-batch 60000 --batch-per-rank 500
run 000-batch-32 2 --model cnn --optimizer adam --epochs "$epochs" --global-batch 32

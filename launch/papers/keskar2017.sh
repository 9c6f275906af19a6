#!/usr/bin/env bash
# Keskar et al. 2017, "On Large-Batch Training for Deep Learning: Generalization Gap and Sharp
# Minima", Tables 2-4 for network F1 (keskar-f1: 5 x [fc512, BN, ReLU]), on Fashion-MNIST (MNIST
# is not on these machines): Adam at lr 0.001, small batch 256 vs large batch 6000 (10% of the
# training set), trained until the training loss stops improving, several seeds; then the train and
# test accuracy, and the sharpness at eps 1e-3 with A = I (Table 3) and with a random 100-dimensional
# subspace (Table 4). One mpirun launch for the sweep, then the report with its "paper" table.
#   launch/papers/keskar2017.sh [--quick] [extra ddp sweep arguments]
#     full:    seeds 1-5 (Keskar's 5 starting points), plateau:5:100, sharpness over 10000 samples
#     --quick: seeds 1-3, plateau:2:6 (stop after 2 epochs without a 0.1% gain, at most 6),
#              sharpness over 2000 samples in 5 ascent steps (25 minutes here on 2 shared cores)
# -> runs/papers/keskar2017[-quick]/report.html (PAPER_OUT overrides the folder).
set -euo pipefail
paper=keskar2017
source "$(dirname "$0")/common.sh"
if [ "$quick" = 1 ]; then
  budget=(--seeds 1,2,3 --budget plateau:2:6 --sharpness-samples 2000 --sharpness-steps 5)
else
  budget=(--seeds 1,2,3,4,5 --budget plateau:5:100 --sharpness-samples 10000 --sharpness-steps 10)
fi
# Batch 6000 on 2 ranks is 3000 per rank in one micro-batch, so BatchNorm's statistics are over
# 3000 samples (half the large batch), against 128 for the small batch.
"$here/launch/local.sh" 2 sweep \
  --model keskar-f1 --optimizer adam --lr 0.001 --reference-batch 256 --rules none \
  --global-batch 256,6000 --batch-per-rank 3000 --eval-batch 1000 \
  --sharpness 1e-3 --sharpness-subspace 100 \
  "${budget[@]}" --out "$out" "$@"
"$ddp" report "$out"
echo "keskar2017: $(( $(date +%s) - start )) s on $(nproc) cores -> $out/report.html"

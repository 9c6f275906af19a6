#!/usr/bin/env bash
# Hoffer, Hubara & Soudry 2017, "Train longer, generalize better", Table 1 for network F1
# (keskar-f1) on Fashion-MNIST: their F1 recipe (eladhoffer/bigBatch: SGD lr 0.1, momentum 0.9,
# weight decay 1e-4, lr / 10 at fixed epochs) at a small batch and a large one, then the three
# remedies applied one on top of the other at the large batch:
#   +LR   lr x sqrt(B / b)                         (rule sqrt, reference batch b)
#   +GBN  ghost batch normalization over 128       (rule part +gb128)
#   +RA   regime adaptation: every epoch count and decay epoch x B / b, equal steps (+regime)
# One mpirun launch runs the whole grid (the remedies only at the large batch); then the report.
#   launch/papers/hoffer2017.sh [--quick] [extra ddp sweep arguments]
#     full:    b 128, B 4096 (their MNIST pair), 40 epochs, decay at 10, 20, 30, seeds 1-3
#     --quick: b 256, B 1024, 1 epoch, decay at 0.75, seeds 1-3 (+RA: 4 epochs at B; 8 epochs a
#              seed, 24 in all: about 8 minutes on 2 quiet cores, 160 s a seed; longer under load)
# -> runs/papers/hoffer2017[-quick]/report.html (PAPER_OUT overrides the folder).
set -euo pipefail
paper=hoffer2017
source "$(dirname "$0")/common.sh"
if [ "$quick" = 1 ]; then
  small=256 large=1024
  plan=(--seeds 1,2,3 --budget epochs:1 --decay-epochs 0.75)
else
  small=128 large=4096
  plan=(--seeds 1,2,3 --budget epochs:40 --decay-epochs 10,20,30)
fi
# The large batch is one micro-batch of B/2 per rank, so without +gb128 BatchNorm's statistics are
# over B/2 samples; with it, over 128.
"$here/launch/local.sh" 2 sweep \
  --model keskar-f1 --optimizer sgd --lr 0.1 --momentum 0.9 --weight-decay 1e-4 --decay step \
  --reference-batch "$small" --global-batch "$small,$large" --batch-per-rank $(( large / 2 )) --eval-batch 1000 \
  --rules none,sqrt,sqrt+gb128,sqrt+gb128+regime --remedies-above-smallest-only \
  --sharpness 1e-3 --sharpness-samples 2000 --sharpness-steps 5 \
  "${plan[@]}" --out "$out" "$@"
"$ddp" report "$out"
echo "hoffer2017: $(( $(date +%s) - start )) s on $(nproc) cores -> $out/report.html"

#!/usr/bin/env bash
# The benchmark record behind BENCHMARKS.md: ddp bench and the PyTorch DDP (gloo) twin, back to
# back on this machine, MLP and CNN, 2 ranks and 1, plus the kernel-set and BLAS-thread checks.
#   bash bench/run.sh [OUTDIR]     (default bench/results/<timestamp>; needs a release build and,
#                                   for the PyTorch columns, bash bench/pytorch/setup.sh)
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
out=${1:-$here/bench/results/$(date +%Y%m%d-%H%M%S)}
mkdir -p "$out"
py=$here/bench/pytorch/.venv/bin/python
local_sh=$here/launch/local.sh
steps=${STEPS:-200}

ddp() { # NAME RANKS [bench args]
  local name=$1 ranks=$2; shift 2
  echo "== ddp $name"; "$local_sh" "$ranks" bench --steps "$steps" --out "$out/ddp-$name.json" "$@"
}
torch() { # NAME RANKS MODEL BATCHES
  [ -x "$py" ] || { echo "== torch $1: skipped (run bash bench/pytorch/setup.sh)"; return 0; }
  echo "== torch $1"; "$py" "$here/bench/pytorch/ddp_bench.py" --ranks "$2" --model "$3" --batch-per-rank "$4" \
    --steps "$steps" --warmup 20 --out "$out/torch-$1.json"
}

{
  ddp mlp-2 2 --batches 32,128,512 --scaling
  torch mlp-2 2 mlp 32,128,512
  ddp cnn-2 2 --model cnn --optimizer adam --batches 32,128 --scaling
  torch cnn-2 2 cnn 32,128
  ddp mlp-1 1 --batches 32,128,512
  torch mlp-1 1 mlp 32,128,512
  ddp cnn-1 1 --model cnn --optimizer adam --batches 32,128
  torch cnn-1 1 cnn 32,128
  DDP_OPENBLAS_CORETYPE=Haswell ddp mlp-2-haswell 2 --batches 32,128,512
  ddp mlp-1-2threads 1 --batches 128,512 --blas-threads 2
} 2>&1 | tee "$out/log.txt"
echo "figures and log: $out"

#!/usr/bin/env bash
# The benchmark record behind BENCHMARKS.md: ddp bench and the PyTorch DDP (gloo) twin, back to
# back on this machine: MLP, seed CNN, resnet8 and keskar-c1 at 2 ranks, MLP and CNN at 1, plus
# the kernel-set and BLAS-thread checks; the CPU in cpu.txt, the kernel set in every JSON.
#   bash bench/run.sh [OUTDIR]     (default bench/results/<timestamp>; needs a release build and,
#                                   for the PyTorch columns, bash bench/pytorch/setup.sh)
# BASE_DDP=/path/to/older/ddp also times every 2-rank row with that build in the same record
# (the floor: nothing may be slower than before). The convolutional rows also run with
# DDP_CONV=im2col (im2col-NAME.json): the direct kernels against the GEMM path, one build; the seed
# CNN also with DDP_CONV=unfused (unfused-cnn-2.json): its convolution and pool run apart.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
out=${1:-$here/bench/results/$(date +%Y%m%d-%H%M%S)}
mkdir -p "$out"
py=$here/bench/pytorch/.venv/bin/python
local_sh=$here/launch/local.sh
steps=${STEPS:-200}
conv_steps=${CONV_STEPS:-60}   # resnet8 and keskar-c1: 100x the MLP's step, so fewer steps

ddp() { # NAME RANKS [bench args]
  local name=$1 ranks=$2; shift 2
  echo "== ddp $name"; "$local_sh" "$ranks" bench --steps "$steps" --out "$out/ddp-$name.json" "$@"
}
conv_path() { # MODE NAME RANKS [bench args]: the same build with DDP_CONV=MODE (im2col: every convolution
  # on im2col + sgemm; unfused: a convolution and its max-pool run apart; winograd-sgemm: Winograd's
  # point products on sgemm where ddp_small_product would run), in MODE-NAME.json
  local mode=$1 name=$2 ranks=$3; shift 3
  echo "== $mode $name"; DDP_CONV=$mode "$local_sh" "$ranks" bench --steps "$steps" --out "$out/$mode-$name.json" "$@"
}
base() { # NAME RANKS [bench args]: the same with $BASE_DDP, when given
  [ -n "${BASE_DDP:-}" ] || return 0
  local name=$1 ranks=$2; shift 2
  echo "== base $name ($BASE_DDP)"; DDP=$BASE_DDP "$local_sh" "$ranks" bench --steps "$steps" --out "$out/base-$name.json" "$@"
}
torch() { # NAME RANKS MODEL BATCHES
  [ -x "$py" ] || { echo "== torch $1: skipped (run bash bench/pytorch/setup.sh)"; return 0; }
  # A twin that fails (gloo has aborted at teardown after writing its figures) is logged, and the
  # record goes on: tables.py shows "-" for figures that were not written.
  echo "== torch $1"; "$py" "$here/bench/pytorch/ddp_bench.py" --ranks "$2" --model "$3" --batch-per-rank "$4" \
    --steps "$steps" --warmup 20 --out "$out/torch-$1.json" || echo "== torch $1: exited with status $?"
}

{
  { lscpu | grep 'Model name'; echo "AVX-512: $(grep -ow 'avx512[a-z0-9_]*' /proc/cpuinfo | sort -u | tr '\n' ' ')"; } > "$out/cpu.txt"
  # The older build right after the same rows: this machine's speed drifts over minutes, and base
  # rows run four minutes later once read 0.70x "now" where alternating pairs read 1.0x.
  ddp mlp-2 2 --batches 32,128,512 --scaling
  base mlp-2 2 --batches 32,128,512 --scaling
  torch mlp-2 2 mlp 32,128,512
  ddp cnn-2 2 --model cnn --optimizer adam --batches 32,128 --scaling --layers
  base cnn-2 2 --model cnn --optimizer adam --batches 32,128 --scaling
  conv_path im2col cnn-2 2 --model cnn --optimizer adam --batches 32,128
  conv_path unfused cnn-2 2 --model cnn --optimizer adam --batches 32,128
  torch cnn-2 2 cnn 32,128
  # The direct convolution kernels against im2col + sgemm, the same build, rows back to back.
  steps=$conv_steps ddp resnet8-2 2 --model resnet8 --optimizer sgd --batches 32,128 --scaling --layers
  steps=$conv_steps base resnet8-2 2 --model resnet8 --optimizer sgd --batches 32,128 --scaling
  steps=$conv_steps conv_path winograd-sgemm resnet8-2 2 --model resnet8 --optimizer sgd --batches 32,128
  steps=$conv_steps conv_path im2col resnet8-2 2 --model resnet8 --optimizer sgd --batches 32,128
  steps=$conv_steps torch resnet8-2 2 resnet8 32,128
  steps=$conv_steps ddp keskar-c1-2 2 --model keskar-c1 --optimizer sgd --batches 32,128 --scaling --layers
  steps=$conv_steps base keskar-c1-2 2 --model keskar-c1 --optimizer sgd --batches 32,128 --scaling
  steps=$conv_steps conv_path winograd-sgemm keskar-c1-2 2 --model keskar-c1 --optimizer sgd --batches 32,128
  steps=$conv_steps conv_path im2col keskar-c1-2 2 --model keskar-c1 --optimizer sgd --batches 32,128
  steps=$conv_steps torch keskar-c1-2 2 keskar-c1 32,128
  ddp mlp-1 1 --batches 32,128,512
  torch mlp-1 1 mlp 32,128,512
  ddp cnn-1 1 --model cnn --optimizer adam --batches 32,128
  torch cnn-1 1 cnn 32,128
  DDP_OPENBLAS_CORETYPE=Haswell ddp mlp-2-haswell 2 --batches 32,128,512
  ddp mlp-1-2threads 1 --batches 128,512 --blas-threads 2
} 2>&1 | tee "$out/log.txt"
echo "figures and log: $out"

#!/usr/bin/env bash
# The network record behind BENCHMARKS.md's "Across a network" section: `ddp netbench` on two
# namespace hosts (launch/netns-hosts.sh, one rank each) with each host's link limited by tc tbf,
# for the MLP, keskar-c1 and resnet20 at 128 per rank (the MLP also at 32 and 512), without and
# with the allreduce behind backward; keskar-c1 also with smaller buckets; the MLP at 1 Gbit/s
# and over shared memory for contrast; the MLP at 10 Gbit/s also three times with each rank pinned
# to its host's core (bench/pin-by-host.sh). Needs root and a release build; about 6 minutes.
#   bash bench/network.sh [OUTDIR]      (default bench/results/network-<timestamp>)
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
out=${1:-$here/bench/results/network-$(date +%Y%m%d-%H%M%S)}
mkdir -p "$out"
out=$(cd "$out" && pwd)
ddp=$here/.build/release/ddp
source "$here/launch/blas-env.sh"   # the kernel set local.sh gives ranks (SkylakeX on AVX-512), one thread
[ -x "$ddp" ] || { echo "bench/network.sh: no $ddp; run swift build -c release --product ddp" >&2; exit 1; }
hosts=$(mktemp -d /tmp/ddp-net-XXXXXX)
trap 'bash "$here/launch/netns-hosts.sh" down "$hosts/h" 2>/dev/null || true' EXIT

net() { # NAME RATE [netbench args]: two hosts at RATE, one rank each
  local name=$1 rate=$2; shift 2
  echo "== $name ($rate)"
  DDP_NETNS_RATE=$rate bash "$here/launch/netns-hosts.sh" up 2 "$hosts/h" > /dev/null
  (cd "$out" && "$hosts/h/mpirun" -np 2 -x OPENBLAS_NUM_THREADS ${OPENBLAS_CORETYPE:+-x OPENBLAS_CORETYPE} ${PIN:+"$here/bench/pin-by-host.sh"} "$ddp" netbench --out "$out/$name.json" "$@") | tee "$out/$name.txt"
  bash "$here/launch/netns-hosts.sh" down "$hosts/h" 2> /dev/null
}

{ lscpu | grep 'Model name'; "$ddp" --version | grep OpenBLAS || true; } > "$out/cpu.txt"
net mlp-10g 10gbit --model mlp --batches 32,128,512 --steps 200 --warmup 20 --overlap
net keskar-c1-10g 10gbit --model keskar-c1 --batch-per-rank 128 --steps 30 --warmup 3 --overlap
net resnet20-10g 10gbit --model resnet20 --batch-per-rank 128 --steps 20 --warmup 3 --overlap
net keskar-c1-10g-256k 10gbit --model keskar-c1 --batch-per-rank 128 --steps 30 --warmup 3 --overlap --bucket-kb 256
for i in 1 2 3; do PIN=1 net mlp-10g-pinned-$i 10gbit --model mlp --batch-per-rank 128 --steps 200 --warmup 20 --overlap; done
net mlp-1g 1gbit --model mlp --batch-per-rank 128 --steps 200 --warmup 20 --overlap
net keskar-c1-1g 1gbit --model keskar-c1 --batch-per-rank 128 --steps 30 --warmup 3 --overlap
echo "== mlp-shm (one host, shared memory)"
(cd "$out" && "$here/launch/local.sh" 2 netbench --model mlp --batch-per-rank 128 --steps 200 --warmup 20 --overlap --out "$out/mlp-shm.json") | tee "$out/mlp-shm.txt"
echo "record: $out"

#!/usr/bin/env bash
# Builds docker/Dockerfile and runs docker/compose.yml's cluster with podman, on a Debian machine
# with no Docker engine and no registry (docker/README.md, "With podman"). Too heavy for CI
# (several minutes, a 5 GB image); run by hand, as root, from anywhere:
#   docker/podman.sh [ddp train arguments]     default: --epochs 1 on Fashion-MNIST
# Steps, each timed: Debian's podman, podman-compose, debootstrap, runc and the dnsname plugin;
# a bookworm base image from debootstrap + podman import, tagged as the Dockerfile's FROM; the
# image, with this machine's /opt/swift as the toolchain context and its local package mirror
# (/opt/swift-packages via /etc/gitconfig's insteadOf) mounted for swift build; the compose cluster;
# the 2-worker job; the same job under plain mpirun here; both param_checksums; the cluster down.
# Podman here needs: default_ulimits (root cannot raise the hard limits), runc (crun refuses hybrid
# cgroups), --ignorefile (podman 4.3 ignores Dockerfile.dockerignore), and polling for sshd
# (podman-compose 1.0.3 has no up --wait).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
work=${DDP_PODMAN_WORK:-/var/tmp/ddp-podman}
mkdir -p "$work"
[ $# -gt 0 ] || set -- --epochs 1
stamp() { date +%s; }
t0=$(stamp)
say() { echo "podman.sh [$(( $(stamp) - t0 )) s] $*"; }

DEBIAN_FRONTEND=noninteractive apt-get install -y -qq podman podman-compose debootstrap runc \
  golang-github-containernetworking-plugin-dnsname >/dev/null
cat > "$work/containers.conf" <<CONF
[containers]
default_ulimits = ["nofile=20000:20000", "nproc=32768:32768"]
[engine]
runtime = "runc"
CONF
export CONTAINERS_CONF=$work/containers.conf
say "packages ready ($(podman --version))"

if ! podman image exists docker.io/library/debian:bookworm; then
  rm -rf "$work/rootfs"
  debootstrap --variant=minbase bookworm "$work/rootfs" http://deb.debian.org/debian >/dev/null
  tar -C "$work/rootfs" -c . | podman import - docker.io/library/debian:bookworm >/dev/null
  rm -rf "$work/rootfs"
  say "base image debian:bookworm from debootstrap"
fi

build_start=$(stamp)
mounts=()
[ -d /opt/swift-packages ] && mounts+=(-v /opt/swift-packages:/opt/swift-packages:ro)
[ -f /etc/gitconfig ] && mounts+=(-v /etc/gitconfig:/etc/gitconfig:ro)
podman build --pull=never --ignorefile docker/Dockerfile.dockerignore \
  --build-context swift-tarball=/opt/swift "${mounts[@]}" -f docker/Dockerfile -t swift-ddp . \
  > "$work/build.log" 2>&1 || { tail -30 "$work/build.log"; exit 1; }
build_seconds=$(( $(stamp) - build_start ))
size=$(podman image inspect swift-ddp --format '{{.Size}}')
say "image swift-ddp built in ${build_seconds} s, $(( size / 1000000 )) MB (log: $work/build.log)"

compose=(podman-compose -f docker/compose.yml)
mkdir -p runs
"${compose[@]}" up -d >"$work/compose.log" 2>&1 || { tail -30 "$work/compose.log"; exit 1; }
trap '"${compose[@]}" down >>"$work/compose.log" 2>&1 || true' EXIT
head=$(podman ps --format '{{.Names}}' | grep -m1 head)
for _ in $(seq 1 60); do
  podman exec "$head" bash -c 'exec 3<>/dev/tcp/worker1/22 && exec 4<>/dev/tcp/worker2/22' 2>/dev/null && break
  sleep 1
done
say "cluster up: $(podman ps --format '{{.Names}}' | tr '\n' ' ')"

name=podman-$(date +%Y%m%d-%H%M%S)
podman exec "$head" launch/hosts.sh docker/hostfile 2 train "$@" --run-dir "runs/$name" --no-progress | tail -4
cluster=$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['param_checksum'])" "runs/$name/summary.json")
say "2 workers: param_checksum $cluster (runs/$name)"

[ -x .build/release/ddp ] || swift build -c release >/dev/null
launch/local.sh 2 train "$@" --run-dir "runs/$name-local" --no-progress | tail -1
local=$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['param_checksum'])" "runs/$name-local/summary.json")
say "plain mpirun here: param_checksum $local"
[ "$cluster" = "$local" ] && say "checksums equal" || { say "checksums DIFFER"; exit 1; }

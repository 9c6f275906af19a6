#!/usr/bin/env bash
# Installs what swift-ddp needs from Debian (idempotent): OpenMPI, OpenBLAS, zlib, Fashion-MNIST;
# libxml2 for FoundationXML (the report tests parse every SVG), iproute2 for the multi-host test,
# python3-venv for launch/python-env.sh (tensorboard reads our event files in the tests);
# Slurm and munge for the local two-node cluster of the Slurm test (launch/slurm-local.sh).
# Used by README, .ci/run and docker/. Swift itself is expected at /opt/swift or on PATH.
set -euo pipefail

packages=(libopenmpi-dev openmpi-bin libopenblas-dev zlib1g-dev pkg-config dataset-fashion-mnist libxml2 iproute2 python3-venv
          slurmctld slurmd slurm-client munge)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

if ((${#missing[@]})); then
  sudo=""
  [ "$(id -u)" -ne 0 ] && sudo="sudo"
  echo "setup: installing ${missing[*]}"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

[ -d /opt/swift/usr/bin ] && export PATH="/opt/swift/usr/bin:$PATH"
if ! command -v swift >/dev/null 2>&1 && [ ! -x /opt/swift/usr/bin/swift ]; then
  echo "setup: no Swift toolchain found (expected swift on PATH or /opt/swift/usr/bin/swift)" >&2
  exit 1
fi
echo "setup: OK"

#!/usr/bin/env bash
# A two-node Slurm cluster on this one machine, for testing launch/slurm.sbatch for real.
# Needs root, Debian's slurmctld slurmd slurm-client munge (launch/setup.sh), and the right to
# make UTS namespaces (unshare -u). Touches nothing outside DIR: its own slurm.conf, munged
# socket, state, spool, logs and ports (the slurm.conf and munge key of the machine are unused).
#   launch/slurm-local.sh up DIR       start munged, slurmctld and nodes n1, n2; wait until idle
#                                      (DIR at most 64 bytes long: sockets live under it)
#   launch/slurm-local.sh down DIR     cancel jobs, stop the daemons, remove DIR's files
#   SLURM_CONF=DIR/slurm.conf sbatch ...    (DIR/env holds that line to source)
# Each slurmd runs in a UTS namespace of its own under the hostname n1 or n2: OpenMPI names its
# shared-memory files after the host, and two "nodes" under one hostname collide (hangs, segfaults).
# TmpFS per node, else the PMIx plugins of the two slurmd share one folder. Ports: DDP_SLURM_PORT
# (default 21000 + pid % 2000 x 3): the controller, then one per node. Credentials live
# DDP_SLURM_CRED_EXPIRE seconds (default 10, Slurm's 120 and minimum 5), which is also how long
# Slurm holds a requeued job (Reason=BeginTime) before it may start again.
# Exit 77: the machine cannot (not root, packages missing, no UTS namespaces); nothing left behind.
set -Eeuo pipefail
usage() { echo "usage: launch/slurm-local.sh up DIR | down DIR" >&2; exit 2; }

stop_pidfile() {
  local file=$1 pid
  [ -f "$file" ] || return 0
  pid=$(cat "$file" 2>/dev/null || true)
  if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 1 25); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
    kill -KILL "$pid" 2>/dev/null || true
  fi
  rm -f "$file"
}

down() {
  local dir=$1
  [ -f "$dir/slurm.conf" ] || { rmdir "$dir" 2>/dev/null || true; return 0; }
  SLURM_CONF=$dir/slurm.conf timeout 10 scancel --full --quiet --user="$(id -un)" 2>/dev/null || true
  # Nodes first (their job steps end with them), then the controller, then munge.
  stop_pidfile "$dir/slurmd-n1.pid"
  stop_pidfile "$dir/slurmd-n2.pid"
  stop_pidfile "$dir/slurmctld.pid"
  stop_pidfile "$dir/munge/munged.pid"
  rm -rf "$dir/slurm.conf" "$dir/env" "$dir/state" "$dir"/spool-n* "$dir"/tmp-n* "$dir/munge" "$dir"/*.log
  rmdir "$dir" 2>/dev/null || true
}

up() {
  local dir=$1 port=${DDP_SLURM_PORT:-$((21000 + ($$ % 2000) * 3))} host node
  [ "$(id -u)" -eq 0 ] || { echo "slurm-local: needs root (slurmd starts jobs as their users)" >&2; exit 77; }
  for tool in slurmctld slurmd sbatch munged unshare; do
    command -v "$tool" >/dev/null || { echo "slurm-local: $tool missing (launch/setup.sh installs slurmctld slurmd slurm-client munge)" >&2; exit 77; }
  done
  unshare -u true 2>/dev/null || { echo "slurm-local: cannot make UTS namespaces here (unshare -u)" >&2; exit 77; }
  down "$dir"
  mkdir -p "$dir"
  dir=$(cd "$dir" && pwd)
  # munged's and slurmstepd's sockets live under DIR (munge/munge.socket, spool-n1/n1_JOB.STEP),
  # and a Unix socket's path holds at most 107 bytes (sun_path): 64 for DIR leaves room for both.
  if [ ${#dir} -gt 64 ]; then
    echo "slurm-local: $dir is ${#dir} bytes long; at most 64 leaves room for the sockets under it" >&2
    rmdir "$dir" 2>/dev/null || true
    exit 1
  fi
  host=$(hostname)
  # The daemons outlive this script: they must not inherit our caller's descriptors (Foundation's
  # Process waits for EOF on a socket its child inherits, so a test would wait for the daemons).
  local fd
  for fd in /proc/$$/fd/*; do
    fd=${fd##*/}
    [ "$fd" -gt 2 ] && [ "$fd" -ne 255 ] && eval "exec $fd>&-" 2>/dev/null || true
  done

  # munged of our own, as the munge user, with the key the package made (or one made here).
  install -d -o munge -g munge -m 0700 "$dir/munge"
  local key=/etc/munge/munge.key
  if [ ! -s "$key" ]; then
    key=$dir/munge/munge.key
    dd if=/dev/urandom bs=1 count=1024 of="$key" status=none
    chown munge:munge "$key"
    chmod 0400 "$key"
  fi
  # The socket folder must be traversable by everyone; munged checks its permissions.
  chmod 0755 "$dir/munge"
  local out
  if ! out=$(su -s /bin/sh munge -c "munged --socket=$dir/munge/munge.socket --key-file=$key --pid-file=$dir/munge/munged.pid \
    --log-file=$dir/munge/munged.log --seed-file=$dir/munge/munged.seed" </dev/null 2>&1); then
    echo "slurm-local: munged did not start: $out" >&2
    down "$dir"
    exit 1
  fi

  mkdir -p "$dir/state" "$dir/spool-n1" "$dir/spool-n2" "$dir/tmp-n1" "$dir/tmp-n2"
  cat > "$dir/slurm.conf" <<CONF
# Written by launch/slurm-local.sh: two nodes on one machine, no cgroups, no accounting.
ClusterName=ddp-local
SlurmctldHost=$host(127.0.0.1)
SlurmctldPort=$port
SlurmdPort=$((port + 1))
SlurmUser=root
AuthType=auth/munge
AuthInfo=socket=$dir/munge/munge.socket,cred_expire=${DDP_SLURM_CRED_EXPIRE:-10}
CredType=cred/munge
StateSaveLocation=$dir/state
SlurmdSpoolDir=$dir/spool-%n
SlurmctldPidFile=$dir/slurmctld.pid
SlurmdPidFile=$dir/slurmd-%n.pid
SlurmctldLogFile=$dir/slurmctld.log
SlurmdLogFile=$dir/slurmd-%n.log
TmpFS=$dir/tmp-%n
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
SchedulerType=sched/backfill
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
MpiDefault=none
ReturnToService=2
SlurmctldTimeout=30
SlurmdTimeout=30
InactiveLimit=0
KillWait=5
NodeName=n1 NodeHostname=$host NodeAddr=127.0.0.1 Port=$((port + 1)) CPUs=2 State=UNKNOWN
NodeName=n2 NodeHostname=$host NodeAddr=127.0.0.1 Port=$((port + 2)) CPUs=2 State=UNKNOWN
PartitionName=local Nodes=n1,n2 Default=YES MaxTime=INFINITE State=UP
CONF
  echo "export SLURM_CONF=$dir/slurm.conf" > "$dir/env"
  export SLURM_CONF=$dir/slurm.conf
  # The daemons' stdio away from ours: a caller reading our output to its end would wait for them.
  slurmctld -f "$SLURM_CONF" </dev/null >/dev/null 2>&1
  for node in n1 n2; do
    unshare -u sh -c "hostname $node && exec slurmd -f '$SLURM_CONF' -N $node" </dev/null >/dev/null 2>&1
  done
  # Up when both nodes are idle (a few seconds); the logs say why if not.
  for _ in $(seq 1 60); do
    if [ "$(sinfo -h -N -o '%N %T' 2>/dev/null | grep -c ' idle$')" = 2 ]; then
      echo "slurm-local: nodes n1, n2 idle (SLURM_CONF=$SLURM_CONF)"
      return 0
    fi
    sleep 0.5
  done
  echo "slurm-local: the nodes did not come up in 30 s; sinfo: $(sinfo -N 2>&1 | tr '\n' ' ')" >&2
  tail -n 5 "$dir"/*.log >&2 || true
  down "$dir"
  exit 1
}

case "${1:-}" in
  up) [ $# -eq 2 ] || usage; up "$2" ;;
  down) [ $# -eq 2 ] || usage; down "$2" ;;
  *) usage ;;
esac

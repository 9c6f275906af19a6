#!/usr/bin/env bash
# Several "hosts" on one machine: N network namespaces on a private bridge, each rank under its
# own hostname, for testing a multi-host mpirun without a second machine. Needs root (or
# CAP_SYS_ADMIN + CAP_NET_ADMIN); touches nothing outside the namespaces it makes.
#   launch/netns-hosts.sh up N DIR       make N hosts; DIR gets hostfile, rsh-agent, host-exec, mpirun
#   launch/netns-hosts.sh down DIR       end their processes, delete the namespaces and DIR's files
#   DIR/mpirun -np 2 ... ddp train ...   mpirun on host 1 with the flags these hosts need
#
# DDP_NETNS_SLOTS (default 1): ranks per host in the hostfile.
# DDP_NETNS_RATE (default: none, the veth's own speed): each host's link limited to this rate in
# both directions (tc tbf on eth0 and on its bridge port), e.g. 1gbit, 10gbit, 25gbit, 200mbit.
# tbf's burst is 1 ms at the rate (at least 64 KB), so a transfer longer than a few ms holds the
# rate; latency is not added (netem is not available here): it is what the veths and TCP give.
# Layout: namespaces ddp-ns-TAG-1..N (TAG: $DDP_NETNS_TAG, else this script's pid), each with lo up
# and eth0 at 10.213.7.K/24, its veth peer hK on bridge br0 in a namespace ddp-ns-TAG-br of its
# own, so no link, address or route is added to the machine's namespace. The subnet is seen only
# inside these namespaces, so runs with different tags do not clash even with the same addresses.
# Host K's commands run in a fresh UTS namespace named ddp-host-K, so MPI_Get_processor_name
# tells the ranks apart. Exit 77: namespaces cannot be made here (no capability), nothing left.
set -Eeuo pipefail

subnet=10.213.7
usage() { echo "usage: launch/netns-hosts.sh up N DIR | down DIR" >&2; exit 2; }

# down DIR: idempotent; reads the namespace list written before anything was made.
down() {
  local dir=$1 ns pids left
  [ -f "$dir/namespaces" ] || return 0
  while read -r ns; do
    [ -e "/run/netns/$ns" ] || continue
    # mpirun, orted and ranks still inside (a failed or cut run): TERM (and CONT, so a stopped
    # rank sees it), then KILL.
    pids=$(ip netns pids "$ns" || true)
    if [ -n "$pids" ]; then
      kill -TERM $pids 2>/dev/null || true
      kill -CONT $pids 2>/dev/null || true
      for _ in 1 2 3 4 5 6 7 8 9 10; do
        left=$(ip netns pids "$ns" || true)
        [ -z "$left" ] && break
        sleep 0.2
      done
      [ -n "$left" ] && kill -KILL $left 2>/dev/null || true
    fi
    ip netns del "$ns"   # its veth end goes with it, and with it the peer on the bridge
    echo "netns-hosts: deleted $ns" >&2
  done < "$dir/namespaces"
  rm -f "$dir/namespaces" "$dir/hostfile" "$dir/rsh-agent" "$dir/host-exec" "$dir/mpirun"
  rmdir "$dir" 2>/dev/null || true
}

# rate_burst RATE: tbf's burst in bytes for RATE (NNN{kbit,mbit,gbit}): 1 ms of it, at least 64 KB.
rate_burst() {
  local number unit scale
  [[ "$1" =~ ^([1-9][0-9]{0,5})(kbit|mbit|gbit)$ ]] || return 1
  number=${BASH_REMATCH[1]} unit=${BASH_REMATCH[2]}
  case $unit in kbit) scale=1000 ;; mbit) scale=1000000 ;; gbit) scale=1000000000 ;; esac
  local bytes=$(( number * scale / 8 / 1000 ))
  echo $(( bytes > 65536 ? bytes : 65536 ))
}

up() {
  local count=$1 dir=$2 tag=${DDP_NETNS_TAG:-$$} slots=${DDP_NETNS_SLOTS:-1} k ns bridge
  local rate=${DDP_NETNS_RATE:-} burst=""
  [[ "$count" =~ ^[1-9][0-9]{0,2}$ ]] && [ "$count" -le 250 ] && [[ "$slots" =~ ^[1-9][0-9]*$ ]] || usage
  # mpirun splits --mca plm_rsh_agent at spaces ("rsh agent not found"), and the scripts written
  # below carry DIR inside quotes: refuse such a DIR before anything is made.
  local absolute=$dir
  [[ "$absolute" == /* ]] || absolute=$PWD/$absolute
  if [[ "$absolute" =~ [[:space:]\"\$\`\\] ]]; then
    echo "netns-hosts: DIR '$absolute' holds a space, quote, \$, \` or backslash, which mpirun's rsh agent path cannot; choose another DIR" >&2
    exit 2
  fi
  if [ -n "$rate" ]; then
    burst=$(rate_burst "$rate") || { echo "netns-hosts: DDP_NETNS_RATE=$rate is not a rate such as 10gbit, 500mbit (kbit, mbit, gbit)" >&2; exit 2; }
    command -v tc >/dev/null || { echo "netns-hosts: DDP_NETNS_RATE needs tc (iproute2)" >&2; exit 77; }
  fi
  command -v ip >/dev/null && command -v unshare >/dev/null \
    || { echo "netns-hosts: needs ip (iproute2) and unshare (util-linux)" >&2; exit 77; }
  down "$dir"   # up twice on one DIR gives one fresh set, not two
  mkdir -p "$dir"
  dir=$(cd "$dir" && pwd)
  bridge=ddp-ns-$tag-br
  for ns in "$bridge" $(seq -f "ddp-ns-$tag-%g" 1 "$count"); do
    [ ! -e "/run/netns/$ns" ] || { echo "netns-hosts: $ns exists already (another set with tag $tag?); not touched" >&2; exit 1; }
  done
  # Recorded before they exist, so a failure half-way is undone by the same down.
  { echo "$bridge"; for k in $(seq 1 "$count"); do echo "ddp-ns-$tag-$k"; done; } > "$dir/namespaces"
  trap 'status=$?; echo "netns-hosts: failed at line $LINENO (exit $status); undoing" >&2; down "$dir"; exit $status' ERR

  if ! ip netns add "$bridge" 2>/dev/null; then
    echo "netns-hosts: cannot create network namespaces here (ip netns add needs root or CAP_SYS_ADMIN)" >&2
    trap - ERR; rm -f "$dir/namespaces"; rmdir "$dir" 2>/dev/null || true; exit 77
  fi
  if ! ip netns exec "$bridge" unshare --uts true 2>/dev/null; then
    echo "netns-hosts: cannot create UTS namespaces here (unshare --uts), so hosts would share a name" >&2
    trap - ERR; down "$dir"; exit 77
  fi
  ip -n "$bridge" link add br0 type bridge
  ip -n "$bridge" link set br0 up
  : > "$dir/hostfile"
  for k in $(seq 1 "$count"); do
    ns=ddp-ns-$tag-$k
    ip netns add "$ns"
    ip -n "$ns" link set lo up
    # Made inside the bridge's namespace with the peer straight into the host's: the names never
    # appear in the machine's namespace, where they could clash.
    ip -n "$bridge" link add "h$k" type veth peer name eth0 netns "$ns"
    ip -n "$bridge" link set "h$k" master br0 up
    ip -n "$ns" addr add "$subnet.$k/24" dev eth0
    ip -n "$ns" link set eth0 up
    if [ -n "$rate" ]; then
      # Both directions of the host's link: out of the host (eth0), into it (its port on the bridge).
      ip netns exec "$ns" tc qdisc add dev eth0 root tbf rate "$rate" burst "$burst" latency 50ms
      ip netns exec "$bridge" tc qdisc add dev "h$k" root tbf rate "$rate" burst "$burst" latency 50ms
    fi
    echo "$subnet.$k slots=$slots" >> "$dir/hostfile"
  done

  # host-exec K CMD...: CMD in host K's network namespace under hostname ddp-host-K.
  cat > "$dir/host-exec" <<EOF
#!/bin/sh
# Written by launch/netns-hosts.sh: runs a command on host K (1..$count) of $dir.
k=\$1; shift
exec ip netns exec "ddp-ns-$tag-\$k" unshare --uts /bin/sh -c 'hostname "ddp-host-\$0" && exec "\$@"' "\$k" "\$@"
EOF
  # mpirun's rsh agent: called as AGENT HOST COMMAND, the command as words of one shell string.
  cat > "$dir/rsh-agent" <<EOF
#!/bin/sh
# Written by launch/netns-hosts.sh: OpenMPI's plm_rsh_agent for the hosts in $dir/hostfile.
host=\$1; shift
case "\$host" in
  $subnet.*) k=\${host#$subnet.} ;;
  *) echo "rsh-agent: unknown host \$host (not in $dir/hostfile)" >&2; exit 255 ;;
esac
exec "$dir/host-exec" "\$k" /bin/sh -c "\$*"
EOF
  # mpirun on host 1 (its rank there starts locally, under ddp-host-1), the rest through the agent,
  # TCP only on the private subnet (no shared memory between hosts), no core binding.
  cat > "$dir/mpirun" <<EOF
#!/bin/sh
# Written by launch/netns-hosts.sh: mpirun over the $count hosts in $dir; add -np and the program.
root=""; [ "\$(id -u)" -eq 0 ] && root=--allow-run-as-root
exec "$dir/host-exec" 1 mpirun \$root --hostfile "$dir/hostfile" --mca plm_rsh_agent "$dir/rsh-agent" \\
  --mca btl self,tcp --mca btl_tcp_if_include $subnet.0/24 --mca oob_tcp_if_include $subnet.0/24 \\
  --bind-to none "\$@"
EOF
  chmod +x "$dir/host-exec" "$dir/rsh-agent" "$dir/mpirun"
  # Every link has carrier before mpirun needs it (a veth is up within milliseconds).
  for k in $(seq 1 "$count"); do
    for _ in $(seq 1 50); do
      ip -n "ddp-ns-$tag-$k" -br link show eth0 | grep -q LOWER_UP && break
      sleep 0.1
    done
    ip -n "ddp-ns-$tag-$k" -br link show eth0 | grep -q LOWER_UP
  done
  trap - ERR

  echo "netns-hosts: $count hosts on $subnet.0/24 (bridge br0 in $bridge), links ${rate:-unlimited}${rate:+ (tbf, burst $burst bytes)}:"
  for k in $(seq 1 "$count"); do echo "  ddp-host-$k  $subnet.$k  namespace ddp-ns-$tag-$k"; done
  echo "  hostfile  $dir/hostfile"
  echo "  agent     $dir/rsh-agent"
  echo "  mpirun    $dir/mpirun -np $((count * slots)) ...   (down: launch/netns-hosts.sh down $dir)"
}

case "${1:-}" in
  up)   [ $# -eq 3 ] || usage; up "$2" "$3" ;;
  down) [ $# -eq 2 ] || usage; down "$2" ;;
  *)    usage ;;
esac

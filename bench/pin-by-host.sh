#!/bin/sh
# Runs a rank of a namespace host (launch/netns-hosts.sh names them ddp-host-K) on core K - 1,
# as separate machines have their own cores (tried against the MLP launches whose allreduce takes
# twice as long: it did not remove them). Only the rank is pinned (pinning the hosts' mpirun
# and orted as well made every allreduce take 24 ms: bench/results/network-2026-11-29/pinned-attempt.log).
k=$(hostname | sed 's/^ddp-host-//')
exec taskset -c $(( (k - 1) % $(nproc) )) "$@"

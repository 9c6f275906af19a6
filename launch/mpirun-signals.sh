# Sourced by launch/local.sh and launch/hosts.sh: run_mpirun ARGS... runs mpirun with its stderr
# through launch/mpirun-filter.awk and turns SIGTERM and SIGINT sent to the script into SIGUSR1
# for mpirun, which forwards it to every rank at once; the ranks stop at the next step boundary
# with a checkpoint. Returns mpirun's status, 143 / 130 when a TERM / INT stopped the ranks.
# Why not let mpirun have the SIGTERM: OpenMPI 4.1 answers it with SIGCONT, odls_base_sigkill_timeout
# seconds of sleep (1), SIGTERM, the same sleep, SIGKILL: the ranks learn a second late and have
# one second to save. Raising the timeout does not help: mpirun then sleeps twice the timeout on
# every abnormal end, an error exit included (measured: 6.1 s at 3, 1.1 s at 1).
# mpirun gets its own session (setsid), so a Ctrl-C at the terminal reaches this script alone.
# The ranks only learn "SIGUSR1"; the signal sent here is written to the file DDP_SIGNAL_NOTE names,
# so rank 0, when it runs on this host (always under local.sh), names that one in its stop line.
run_mpirun() {
  local filter note
  # Without this, setsid's "failed to execute mpirun" would be all a user sees.
  command -v mpirun > /dev/null || { echo "launch/${0##*/}: mpirun not found on PATH; install OpenMPI (bash launch/setup.sh)" >&2; return 127; }
  filter="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/mpirun-filter.awk"
  note=$(mktemp "${TMPDIR:-/tmp}/ddp-signal.XXXXXX")
  export DDP_SIGNAL_NOTE=$note
  setsid mpirun -x DDP_SIGNAL_NOTE "$@" 2> >(trap '' INT TERM USR1; exec awk -f "$filter" >&2) &
  mpirun_pid=$!
  received=0
  trap '[ "$received" -ne 0 ] || { received=143; echo SIGTERM > "$note"; }; kill -USR1 "$mpirun_pid" 2>/dev/null' TERM
  trap '[ "$received" -ne 0 ] || { received=130; echo SIGINT > "$note"; }; kill -USR1 "$mpirun_pid" 2>/dev/null' INT
  trap '[ "$received" -ne 0 ] || received=138; kill -USR1 "$mpirun_pid" 2>/dev/null' USR1
  local status=0
  wait "$mpirun_pid" || status=$?
  # A trapped signal ends `wait` early (status > 128) while mpirun still runs: wait again.
  while kill -0 "$mpirun_pid" 2>/dev/null; do
    status=0
    wait "$mpirun_pid" || status=$?
  done
  trap - TERM INT USR1
  wait  # the stderr filter
  rm -f "$note"
  # The ranks exit 128 + the signal they got, 138 for the forwarded SIGUSR1: report the one sent here.
  if [ "$status" -eq 138 ] && [ "$received" -ne 0 ]; then status=$received; fi
  return "$status"
}

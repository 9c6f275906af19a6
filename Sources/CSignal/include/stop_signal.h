// A stop request from a signal, as a flag and nothing else: the handler only stores the signal
// number (async-signal-safe), and the trainer reads it once per step. Imported by Training only.
#pragma once

/// Installs the handler for SIGTERM, SIGINT and SIGUSR1 (SA_RESTART, so no read or write of the
/// checkpoint is cut short by a second signal). Call once, after MPI has started.
void stop_signal_install(void);
/// The first stop signal received (SIGTERM, SIGINT, SIGUSR1), or 0 if none.
int stop_signal_first(void);
/// How many stop signals have arrived in all.
int stop_signal_count(void);

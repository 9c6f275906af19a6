// Counts heap allocations made by the calling thread between start and stop, by interposing
// malloc and friends in the test executable and forwarding to glibc's own (__libc_*).
// Linked only into tests: it proves "no allocation inside the training step" by counting.
#pragma once

/// 0 in a sanitizer build, where malloc is the sanitizer's and is not interposed.
int allocation_counter_available(void);
void allocation_counter_start(void);
/// Allocations (malloc, calloc, realloc, memalign family) since start, on this thread.
long allocation_counter_stop(void);

/// Process-wide: every thread's allocations while on, summed over every start-stop interval;
/// those called directly from OpenMPI's libraries are counted apart.
void allocation_counter_start_process(void);
/// The process-wide total so far, OpenMPI's own allocations excluded.
long allocation_counter_stop_process(void);
/// OpenMPI's own allocations while process-wide counting was on (its collectives' scratch buffers).
long allocation_counter_process_mpi(void);

// malloc, calloc, realloc and the memalign family, counted on the calling thread while counting
// is on (or on every thread while process-wide counting is on), then passed to glibc's own
// implementations. Linked into the test executable, and built as libAllocationCounter.so for
// LD_PRELOAD into `ddp` under mpirun (DDP_COUNT_ALLOCATIONS: see Training/AllocationProbe.swift).
// ALLOCATION_TRACE=1 in the environment prints the backtrace of the first 8 counted allocations
// to stderr (how the step's were found).
#define _GNU_SOURCE
#include "allocation_counter.h"
#include <dlfcn.h>
#include <errno.h>
#include <execinfo.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

extern void *__libc_malloc(size_t);
extern void *__libc_calloc(size_t, size_t);
extern void *__libc_realloc(void *, size_t);
extern void *__libc_memalign(size_t, size_t);
extern void __libc_free(void *);

// Under ThreadSanitizer or AddressSanitizer (launch/sanitize.sh) the sanitizer owns malloc: memory
// from __libc_malloc freed through it crashes the process, so nothing is interposed and the
// allocation tests skip themselves.
#if defined(__has_feature)
#if __has_feature(thread_sanitizer) || __has_feature(address_sanitizer)
#define ALLOCATION_COUNTER_OFF 1
#endif
#endif

int allocation_counter_available(void) {
#ifdef ALLOCATION_COUNTER_OFF
    return 0;
#else
    return 1;
#endif
}

static __thread int counting;
static __thread long count;
static int tracing = -1;
static _Atomic int counting_process;
static _Atomic long process_count;
static _Atomic long process_mpi_count;

void allocation_counter_start(void) {
    if (tracing < 0) tracing = getenv("ALLOCATION_TRACE") != NULL;
    count = 0;
    counting = 1;
}

long allocation_counter_stop(void) {
    counting = 0;
    return count;
}

void allocation_counter_start_process(void) {
    if (tracing < 0) tracing = getenv("ALLOCATION_TRACE") != NULL;
    counting_process = 1;
}

long allocation_counter_stop_process(void) {
    counting_process = 0;
    return process_count;
}

long allocation_counter_process_mpi(void) { return process_mpi_count; }

/// Whether the code at `address` belongs to OpenMPI (its libraries and plugins, PMIx).
static int in_mpi(void *address) {
    Dl_info info;
    if (!dladdr(address, &info) || !info.dli_fname) return 0;
    return strstr(info.dli_fname, "libmpi") || strstr(info.dli_fname, "openmpi") || strstr(info.dli_fname, "libopen-")
        || strstr(info.dli_fname, "pmix");
}

static __thread int tracing_now;  // backtrace may allocate on first use

/// `caller`: the return address of the interposed call, to tell OpenMPI's own allocations apart.
static void note(void *caller) {
    if (tracing_now) return;
    long seen;
    if (counting) {
        seen = ++count;
    } else if (counting_process) {
        if (in_mpi(caller)) {
            process_mpi_count++;
            return;
        }
        seen = ++process_count;
    } else {
        return;
    }
    if (tracing && seen <= 8) {
        tracing_now = 1;
        void *frames[16];
        backtrace_symbols_fd(frames, backtrace(frames, 16), STDERR_FILENO);
        write(STDERR_FILENO, "----\n", 5);
        tracing_now = 0;
    }
}

#ifndef ALLOCATION_COUNTER_OFF
void *malloc(size_t size) { note(__builtin_return_address(0)); return __libc_malloc(size); }
void *calloc(size_t n, size_t size) { note(__builtin_return_address(0)); return __libc_calloc(n, size); }
void *realloc(void *p, size_t size) { note(__builtin_return_address(0)); return __libc_realloc(p, size); }
void free(void *p) { __libc_free(p); }
void *memalign(size_t alignment, size_t size) { note(__builtin_return_address(0)); return __libc_memalign(alignment, size); }
void *aligned_alloc(size_t alignment, size_t size) { note(__builtin_return_address(0)); return __libc_memalign(alignment, size); }

int posix_memalign(void **out, size_t alignment, size_t size) {
    note(__builtin_return_address(0));
    void *p = __libc_memalign(alignment, size);
    if (!p) return ENOMEM;
    *out = p;
    return 0;
}
#endif

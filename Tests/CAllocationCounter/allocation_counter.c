// malloc, calloc, realloc and the memalign family, counted on the calling thread while counting
// is on, then passed to glibc's own implementations. ALLOCATION_TRACE=1 in the environment
// prints the backtrace of the first 8 counted allocations to stderr (how the step's were found).
#include "allocation_counter.h"
#include <errno.h>
#include <execinfo.h>
#include <stddef.h>
#include <stdlib.h>
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

void allocation_counter_start(void) {
    if (tracing < 0) tracing = getenv("ALLOCATION_TRACE") != NULL;
    count = 0;
    counting = 1;
}

long allocation_counter_stop(void) {
    counting = 0;
    return count;
}

static void note(void) {
    if (!counting) return;
    count++;
    if (tracing && count <= 8) {
        counting = 0;  // backtrace may allocate on first use
        void *frames[16];
        backtrace_symbols_fd(frames, backtrace(frames, 16), STDERR_FILENO);
        write(STDERR_FILENO, "----\n", 5);
        counting = 1;
    }
}

#ifndef ALLOCATION_COUNTER_OFF
void *malloc(size_t size) { note(); return __libc_malloc(size); }
void *calloc(size_t n, size_t size) { note(); return __libc_calloc(n, size); }
void *realloc(void *p, size_t size) { note(); return __libc_realloc(p, size); }
void free(void *p) { __libc_free(p); }
void *memalign(size_t alignment, size_t size) { note(); return __libc_memalign(alignment, size); }
void *aligned_alloc(size_t alignment, size_t size) { note(); return __libc_memalign(alignment, size); }

int posix_memalign(void **out, size_t alignment, size_t size) {
    note();
    void *p = __libc_memalign(alignment, size);
    if (!p) return ENOMEM;
    *out = p;
    return 0;
}
#endif

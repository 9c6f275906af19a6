// How far apart the host put this machine's first two CPUs: two threads, pinned to CPUs 0 and 1,
// hand one cache line back and forth; prints the mean round trip in ns. On the 2-vCPU AMD EPYC
// VMs of BENCHMARKS.md it reads about 60 ns in some launches and 300-370 ns in others (the vCPUs
// sharing an L3 or not; the host places them anew whenever they idle), and a 2-rank allreduce
// over shared memory is about 3x slower in the far mode. `ddp bench` records the same thing per
// launch as the allreduce alone (bench.json's allreduce_alone).
//   cc -O2 -pthread bench/core_to_core.c -o /tmp/core_to_core && /tmp/core_to_core
#define _GNU_SOURCE
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <time.h>

enum { ROUNDS = 2000000 };
static _Atomic int turn __attribute__((aligned(64)));

static void pin(int cpu) {
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    pthread_setaffinity_np(pthread_self(), sizeof set, &set);
}

// CPU 1 answers each odd value with the next even one.
static void *answer(void *unused) {
    (void)unused;
    pin(1);
    for (int i = 0; i < ROUNDS; i++) {
        while (atomic_load_explicit(&turn, memory_order_acquire) != 2 * i + 1) {}
        atomic_store_explicit(&turn, 2 * i + 2, memory_order_release);
    }
    return NULL;
}

int main(void) {
    pthread_t other;
    pin(0);
    pthread_create(&other, NULL, answer, NULL);
    struct timespec start, end;
    clock_gettime(CLOCK_MONOTONIC, &start);
    for (int i = 0; i < ROUNDS; i++) {
        atomic_store_explicit(&turn, 2 * i + 1, memory_order_release);
        while (atomic_load_explicit(&turn, memory_order_acquire) != 2 * i + 2) {}
    }
    clock_gettime(CLOCK_MONOTONIC, &end);
    pthread_join(other, NULL);
    const double ns = (end.tv_sec - start.tv_sec) * 1e9 + (end.tv_nsec - start.tv_nsec);
    printf("%.0f ns round trip between CPUs 0 and 1 (mean of %d)\n", ns / ROUNDS, ROUNDS);
    return 0;
}

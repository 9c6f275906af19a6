// The stop-signal flag (see stop_signal.h). volatile sig_atomic_t is the one type C promises a
// handler may write and the program read; a Swift global offers no such promise.
#include "stop_signal.h"
#include <signal.h>
#include <string.h>

static volatile sig_atomic_t first_signal = 0;
static volatile sig_atomic_t signal_count = 0;

static void on_stop_signal(int number) {
    if (first_signal == 0) first_signal = number;
    signal_count = signal_count + 1;
}

void stop_signal_install(void) {
    struct sigaction action;
    memset(&action, 0, sizeof action);
    action.sa_handler = on_stop_signal;
    action.sa_flags = SA_RESTART;
    sigemptyset(&action.sa_mask);
    sigaction(SIGTERM, &action, 0);
    sigaction(SIGINT, &action, 0);
    sigaction(SIGUSR1, &action, 0);
}

int stop_signal_first(void) { return first_signal; }

int stop_signal_count(void) { return signal_count; }

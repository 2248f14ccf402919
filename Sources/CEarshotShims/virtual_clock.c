// OpenSSL 3.0 runs its DTLS retransmission timer on gettimeofday() and offers no way to supply the time. Earshot's
// protocol engines take the time as a parameter instead, so that every timeout is driven by the caller's `now`
// (and tests run on virtual time). This file supplies gettimeofday() for the process: while a DTLS endpoint is
// inside an OpenSSL call on this thread it reports that endpoint's `now`; at every other moment, and on every other
// thread, it reports the real time exactly as the C library would.
#include "CEarshotShims.h"
#include <sys/time.h>
#include <time.h>

static __thread long long earshot_virtual_microseconds = 0;

void earshot_virtual_clock_enter(long long microseconds) {
    // 0 is reserved for "no virtual time"; callers offset their timeline so it never reaches it.
    earshot_virtual_microseconds = microseconds > 0 ? microseconds : 1;
}

void earshot_virtual_clock_exit(void) {
    earshot_virtual_microseconds = 0;
}

int gettimeofday(struct timeval *restrict tv, void *restrict tz) {
    (void)tz;  // obsolete: always reported as UTC
    long long virtual_now = earshot_virtual_microseconds;
    if (virtual_now > 0) {
        tv->tv_sec = (time_t)(virtual_now / 1000000);
        tv->tv_usec = (suseconds_t)(virtual_now % 1000000);
        return 0;
    }
    struct timespec now;
    if (clock_gettime(CLOCK_REALTIME, &now) != 0) return -1;
    tv->tv_sec = now.tv_sec;
    tv->tv_usec = (suseconds_t)(now.tv_nsec / 1000);
    return 0;
}

/*
 * A wall-clock-only time shift for tests, loaded with LD_PRELOAD.
 *
 * CLOCK_REALTIME (and its coarse variant) and CLOCK_BOOTTIME are shifted by a number of
 * seconds read from the file named by WALLSHIM_OFFSET_FILE, on every call, so a test can
 * move the wall clock of a running process by rewriting that file. CLOCK_MONOTONIC is left
 * alone: that is what a system suspend looks like to a process (wall time jumps, monotonic
 * time does not), and sleeps and timed waits, which use the monotonic clock, keep working.
 *
 * Built by tests/wallshim.py: cc -shared -fPIC -O2 -o wallshim.so wallshim.c -ldl
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

typedef int (*clock_gettime_fn)(clockid_t, struct timespec *);

static long long offset_ns(void)
{
    const char *path = getenv("WALLSHIM_OFFSET_FILE");
    char buf[64];
    ssize_t n;
    int fd;

    if (path == NULL || (fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
        return 0;
    n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n <= 0)
        return 0;
    buf[n] = '\0';
    return (long long)(strtod(buf, NULL) * 1e9);
}

static int real_clock_gettime(clockid_t clk, struct timespec *ts)
{
    static clock_gettime_fn real;
    if (real == NULL)
        real = (clock_gettime_fn)dlsym(RTLD_NEXT, "clock_gettime");
    return real(clk, ts);
}

static void shift(struct timespec *ts)
{
    long long ns = (long long)ts->tv_sec * 1000000000LL + ts->tv_nsec + offset_ns();
    ts->tv_sec = (time_t)(ns / 1000000000LL);
    ts->tv_nsec = (long)(ns % 1000000000LL);
    if (ts->tv_nsec < 0) {
        ts->tv_nsec += 1000000000L;
        ts->tv_sec -= 1;
    }
}

int clock_gettime(clockid_t clk, struct timespec *ts)
{
    int rc = real_clock_gettime(clk, ts);
    if (rc == 0 && (clk == CLOCK_REALTIME || clk == CLOCK_REALTIME_COARSE
                    || clk == CLOCK_BOOTTIME))
        shift(ts);
    return rc;
}

int gettimeofday(struct timeval *restrict tv, void *restrict tz)
{
    struct timespec ts;
    (void)tz;
    if (clock_gettime(CLOCK_REALTIME, &ts) != 0)
        return -1;
    tv->tv_sec = ts.tv_sec;
    tv->tv_usec = ts.tv_nsec / 1000;
    return 0;
}

time_t time(time_t *out)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    if (out != NULL)
        *out = ts.tv_sec;
    return ts.tv_sec;
}

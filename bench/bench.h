/* What the benchmark programs share: a clock, medians, and spawning a VMM
 * with its output on pipes. */
#ifndef VJ_BENCH_H
#define VJ_BENCH_H

#include <sys/types.h>

double bench_now_ns(void);

/* Sorts v in place. */
double bench_median(double *v, int n);

/* Spawns argv with stdin on /dev/null and stdout and/or stderr on pipes
 * (NULL: /dev/null); -1 when it could not. */
pid_t bench_spawn(char *const argv[], int *out_fd, int *err_fd);

#endif

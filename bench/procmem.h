/*
 * procmem — how much memory a set of server processes holds, read from
 * /proc: the pids given, or every process whose name starts with a prefix,
 * each with all its descendants (a launcher and the programs it started).
 *
 * Pss (proportional set size, /proc/PID/smaps_rollup) is what it sums:
 * pages shared between processes (nginx's shared memory zone, libraries)
 * count once in total rather than once per process, as VmRSS would. It
 * also sums VmRSS for comparison. Both are user-space memory: socket
 * buffers in the kernel are not in them.
 */
#ifndef GATECAST_BENCH_PROCMEM_H
#define GATECAST_BENCH_PROCMEM_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define PROCMEM_MAX 256

struct procmem {
	pid_t pids[PROCMEM_MAX];
	size_t n;
};

/*
 * Fills m with roots (n of them, borrowed) and, when prefix is not NULL,
 * every process whose /proc/PID/comm starts with it, then every
 * descendant of those. Returns the number of processes, or -ESRCH when
 * none was found.
 */
int procmem_find(struct procmem *m, const pid_t *roots, size_t n, const char *prefix);

struct procmem_sample {
	uint64_t pss;   /* bytes */
	uint64_t rss;   /* bytes */
	unsigned procs; /* processes that could be read */
};

/* Sums the processes of m now. */
struct procmem_sample procmem_read(const struct procmem *m);

#endif

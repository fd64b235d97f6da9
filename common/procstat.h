/*
 * procstat — what a process can say about itself for `gatecast status`.
 */
#ifndef GATECAST_COMMON_PROCSTAT_H
#define GATECAST_COMMON_PROCSTAT_H

#include <stdint.h>

/* Resident set size in bytes (/proc/self/statm), 0 when unknown. */
uint64_t procstat_rss(void);

#endif

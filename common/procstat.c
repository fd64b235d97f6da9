/*
 * procstat — see procstat.h.
 */
#include "common/procstat.h"

#include <stdio.h>
#include <unistd.h>

uint64_t
procstat_rss(void)
{
	unsigned long long size, resident;
	FILE *f = fopen("/proc/self/statm", "r");
	if (f == NULL)
		return 0;
	int n = fscanf(f, "%llu %llu", &size, &resident);
	fclose(f);
	return n == 2 ? (uint64_t)resident * (uint64_t)sysconf(_SC_PAGESIZE) : 0;
}

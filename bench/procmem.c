/*
 * procmem — see procmem.h.
 */
#include "bench/procmem.h"

#include <dirent.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static bool
has(const struct procmem *m, pid_t pid)
{
	for (size_t i = 0; i < m->n; i++)
		if (m->pids[i] == pid)
			return true;
	return false;
}

static void
add(struct procmem *m, pid_t pid)
{
	if (!has(m, pid) && m->n < PROCMEM_MAX)
		m->pids[m->n++] = pid;
}

/* The parent of pid from /proc/PID/stat (the field after the ')' that
 * ends the name, which may itself hold spaces and parentheses). */
static pid_t
parent_of(pid_t pid)
{
	char path[64], line[512];
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	FILE *f = fopen(path, "r");
	if (f == NULL)
		return -1;
	size_t n = fread(line, 1, sizeof(line) - 1, f);
	fclose(f);
	line[n] = '\0';
	char *p = strrchr(line, ')');
	int ppid;
	if (p == NULL || sscanf(p + 1, " %*c %d", &ppid) != 1)
		return -1;
	return (pid_t)ppid;
}

static bool
comm_starts(pid_t pid, const char *prefix)
{
	char path[64], comm[64];
	snprintf(path, sizeof(path), "/proc/%d/comm", (int)pid);
	FILE *f = fopen(path, "r");
	if (f == NULL)
		return false;
	bool ok = fgets(comm, sizeof(comm), f) != NULL && strncmp(comm, prefix, strlen(prefix)) == 0;
	fclose(f);
	return ok;
}

int
procmem_find(struct procmem *m, const pid_t *roots, size_t n, const char *prefix)
{
	m->n = 0;
	for (size_t i = 0; i < n; i++)
		add(m, roots[i]);
	pid_t all[16384];
	size_t nall = 0;
	DIR *d = opendir("/proc");
	if (d == NULL)
		return -errno;
	struct dirent *e;
	while ((e = readdir(d)) != NULL && nall < sizeof(all) / sizeof(all[0])) {
		char *end;
		long pid = strtol(e->d_name, &end, 10);
		if (*end == '\0' && pid > 0)
			all[nall++] = (pid_t)pid;
	}
	closedir(d);
	if (prefix != NULL)
		for (size_t i = 0; i < nall; i++)
			if (comm_starts(all[i], prefix))
				add(m, all[i]);
	/* Descendants: repeat until no new child turns up (trees are shallow). */
	for (bool grew = true; grew;) {
		grew = false;
		for (size_t i = 0; i < nall; i++) {
			if (has(m, all[i]))
				continue;
			pid_t pp = parent_of(all[i]);
			if (pp > 0 && has(m, pp)) {
				add(m, all[i]);
				grew = true;
			}
		}
	}
	return m->n > 0 ? (int)m->n : -ESRCH;
}

/* The value in kB of the line starting with key in file, as bytes. */
static bool
read_kb(const char *file, const char *key, uint64_t *out)
{
	FILE *f = fopen(file, "r");
	if (f == NULL)
		return false;
	char line[256];
	size_t klen = strlen(key);
	bool found = false;
	while (fgets(line, sizeof(line), f) != NULL) {
		if (strncmp(line, key, klen) == 0) {
			*out = strtoull(line + klen, NULL, 10) * 1024;
			found = true;
			break;
		}
	}
	fclose(f);
	return found;
}

struct procmem_sample
procmem_read(const struct procmem *m)
{
	struct procmem_sample s = {0, 0, 0};
	for (size_t i = 0; i < m->n; i++) {
		char path[64];
		uint64_t pss = 0, rss = 0;
		snprintf(path, sizeof(path), "/proc/%d/status", (int)m->pids[i]);
		if (!read_kb(path, "VmRSS:", &rss))
			continue;
		snprintf(path, sizeof(path), "/proc/%d/smaps_rollup", (int)m->pids[i]);
		if (!read_kb(path, "Pss:", &pss))
			pss = rss;
		s.pss += pss;
		s.rss += rss;
		s.procs++;
	}
	return s;
}

/*
 * log — see log.h. Unbuffered single write(2) per line so lines of several
 * processes sharing a terminal or file never interleave mid-line.
 */
#include "common/log.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

static const char *log_role = "gatecast";
static enum log_level log_min = LOG_INFO;
static int log_fd = 2;
static char log_path[512];

static const char *const log_names[] = {"debug", "info", "warn", "error"};

static int
log_open(void)
{
	if (log_path[0] == '\0') {
		log_fd = 2;
		return 0;
	}
	int fd = open(log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
	if (fd < 0)
		return -errno;
	if (log_fd > 2)
		close(log_fd);
	log_fd = fd;
	return 0;
}

int
log_init(const char *role, enum log_level min, const char *path)
{
	log_role = role;
	log_min = min;
	snprintf(log_path, sizeof log_path, "%s", path ? path : "");
	return log_open();
}

int
log_reopen(void)
{
	return log_open();
}

int
log_level_parse(const char *s)
{
	for (unsigned i = 0; i < sizeof log_names / sizeof log_names[0]; i++)
		if (strcmp(s, log_names[i]) == 0)
			return (int)i;
	return -1;
}

void
log_event(enum log_level level, const char *event, const char *fmt, ...)
{
	if (level < log_min)
		return;
	char line[2048];
	struct timeval tv;
	struct tm tm;
	gettimeofday(&tv, NULL);
	gmtime_r(&tv.tv_sec, &tm);
	int n = snprintf(line, sizeof line,
		"ts=%04d-%02d-%02dT%02d:%02d:%02d.%03dZ level=%s role=%s pid=%d event=%s",
		tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
		(int)(tv.tv_usec / 1000), log_names[level], log_role, (int)getpid(), event);
	if (fmt != NULL && n > 0 && (size_t)n < sizeof line - 2) {
		line[n++] = ' ';
		va_list ap;
		va_start(ap, fmt);
		int m = vsnprintf(line + n, sizeof line - (size_t)n - 1, fmt, ap);
		va_end(ap);
		if (m > 0)
			n += m;
	}
	if (n < 0)
		return;
	if ((size_t)n > sizeof line - 2)
		n = (int)sizeof line - 2;
	line[n++] = '\n';
	ssize_t w = write(log_fd, line, (size_t)n);
	(void)w;
}

const char *
log_quote(const char *s, char *out, unsigned n)
{
	unsigned j = 0;
	if (n < 3) {
		if (n)
			out[0] = '\0';
		return out;
	}
	out[j++] = '"';
	for (; *s && j + 3 < n; s++) {
		unsigned char c = (unsigned char)*s;
		if (c == '"' || c == '\\') {
			out[j++] = '\\';
			out[j++] = (char)c;
		} else if (c < 0x20 || c == 0x7f) {
			out[j++] = '?';
		} else {
			out[j++] = (char)c;
		}
	}
	out[j++] = '"';
	out[j] = '\0';
	return out;
}

/*
 * daemon — see daemon.h.
 */
#include "launcher/daemon.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/log.h"

int
daemon_start(const char *log_path, uint64_t wait_ms, int *ready_fd)
{
	int p[2];
	if (pipe2(p, O_CLOEXEC) != 0)
		return -errno;
	fflush(NULL);
	pid_t pid = fork();
	if (pid < 0)
		return -errno;
	if (pid > 0) {
		close(p[1]);
		char line[600];
		size_t got = 0;
		struct pollfd pfd = {p[0], POLLIN, 0};
		uint64_t deadline = clock_ms() + wait_ms;
		while (got < sizeof line - 1 && clock_ms() < deadline) {
			if (poll(&pfd, 1, 200) <= 0)
				continue;
			ssize_t n = read(p[0], line + got, sizeof line - 1 - got);
			if (n <= 0)
				break;
			got += (size_t)n;
			if (memchr(line, '\n', got) != NULL)
				break;
		}
		line[got] = '\0';
		line[strcspn(line, "\n")] = '\0';
		if (strncmp(line, "ok ", 3) == 0) {
			printf("gatecast started (pid %s), log: %s\n", line + 3, log_path);
			exit(0);
		}
		fprintf(stderr, "gatecast: could not start: %s; log: %s\n",
			got > 0 ? line : "the daemon exited", log_path);
		if (got == 0)
			kill(pid, SIGTERM);
		exit(1);
	}
	close(p[0]);
	setsid();
	int null = open("/dev/null", O_RDWR | O_CLOEXEC);
	int logf = open(log_path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
	if (null < 0 || logf < 0)
		return -errno;
	/* stdout/stderr catch what is not a log line (a child's crash report). */
	dup2(null, 0);
	dup2(logf, 1);
	dup2(logf, 2);
	close(null);
	close(logf);
	*ready_fd = p[1];
	return 0;
}

void
daemon_report(int *ready_fd, const char *error)
{
	if (*ready_fd < 0)
		return;
	char line[512];
	int n = error == NULL ? snprintf(line, sizeof line, "ok %d\n", (int)getpid()) :
				snprintf(line, sizeof line, "error %s\n", error);
	/* snprintf says how long the line would have been: a long error is
	 * cut to the buffer (its newline with it; the reader takes EOF as the
	 * end of the line), never written past it. */
	size_t len = n < 0 ? 0 : (size_t)n >= sizeof line ? sizeof line - 1 : (size_t)n;
	if (write(*ready_fd, line, len) < 0)
		log_warn("start_report_failed", "errno=%d", errno);
	close(*ready_fd);
	*ready_fd = -1;
}

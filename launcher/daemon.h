/*
 * daemon — `gatecast start -d`: both ends of the pipe between the command
 * the user typed and the daemon it leaves behind. The parent waits for the
 * daemon's one line, "ok <pid>" or "error <why>", prints the outcome and
 * exits 0 or 1; the daemon runs on in a new session with stdin on
 * /dev/null and stdout/stderr appended to the log file.
 *
 * It does not decide when the start succeeded (supervise.c does, and calls
 * daemon_report) and does not write the pid file.
 */
#ifndef GATECAST_LAUNCHER_DAEMON_H
#define GATECAST_LAUNCHER_DAEMON_H

#include <stdint.h>

/* Forks. The parent never returns: it waits up to wait_ms for the daemon's
 * report and exits with its outcome (exit 1, after a SIGTERM to the daemon,
 * when none came). The daemon returns 0 with *ready_fd the pipe's write end
 * (close-on-exec), for daemon_report. Returns -errno when the pipe, the fork
 * or opening /dev/null or log_path failed (log_path is borrowed). */
int daemon_start(const char *log_path, uint64_t wait_ms, int *ready_fd);

/* Tells the waiting parent the outcome of the start: error NULL means
 * ready ("ok <our pid>"), otherwise the reason (borrowed). Closes *ready_fd
 * and sets it to -1, so only the first report counts; does nothing when
 * *ready_fd < 0 (not a daemon, or already reported). A failed write is
 * logged (start_report_failed). */
void daemon_report(int *ready_fd, const char *error);

#endif

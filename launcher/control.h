/*
 * control — how `gatecast stop | status | reload` reach a running
 * `gatecast start`.
 *
 * The launcher keeps two files in cluster.run_dir (a 0700 directory):
 *   gatecast.pid    its pid
 *   gatecast.sock   a unix stream socket; only our own uid (or root) may use it
 * A command is one line ("status", "reload" or "stop"); the launcher answers
 * with lines of text, the last of which is "ok" or "error: <why>", then
 * closes. A reload streams one line per replaced worker as it goes.
 */
#ifndef GATECAST_LAUNCHER_CONTROL_H
#define GATECAST_LAUNCHER_CONTROL_H

#include <stdbool.h>
#include <sys/types.h>

struct buf;
struct config;

#define CONTROL_SOCK_NAME "gatecast.sock"
#define CONTROL_PID_NAME "gatecast.pid"

/* "<cluster.run_dir>/<name>" into out (reset first). */
void control_path(const struct config *c, const char *name, struct buf *out);

/* The pid in pidfile when that process is alive and is a gatecast
 * launcher; 0 otherwise. */
pid_t control_running_pid(const char *pidfile);

/* Connects to the control socket at path: fd, or -errno. */
int control_connect(const char *path);

/* `gatecast stop|status|reload [-c FILE] [--set k=v]...`: argv[1] is the
 * command. Returns the exit status (0 ok, 1 the launcher said error or is
 * not running, 2 usage). */
int control_cli_main(int argc, char **argv);

#endif

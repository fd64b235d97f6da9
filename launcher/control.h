/*
 * control — how `gatecast stop | status | reload` reach a running
 * `gatecast start`: both ends of one small protocol, the client (the
 * commands) and the server (the launcher's side of the socket).
 *
 * The launcher keeps two files in cluster.run_dir (a 0700 directory):
 *   gatecast.pid    its pid
 *   gatecast.sock   a unix stream socket; only our own uid (or root) may use it
 * A command is one line ("status", "reload" or "stop"); the launcher answers
 * with lines of text, the last of which is "ok" or "error: <why>", then
 * closes. A reload streams one line per replaced worker as it goes.
 *
 * The client side is blocking and lives for one command. The server side
 * runs on the launcher's event loop: it accepts, checks the peer, reads the
 * one command line and writes the answers; what a command does is the
 * launcher's (supervise.c).
 */
#ifndef GATECAST_LAUNCHER_CONTROL_H
#define GATECAST_LAUNCHER_CONTROL_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

struct buf;
struct config;
struct event_base;

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

/* ---- the server side ---- */

struct control_server;
struct control_conn;

/* The command line of a connection (borrowed for the call, without its
 * "\n"). The connection reads nothing more; answer with control_send and
 * end with control_end, now or later. */
typedef void control_command_fn(void *arg, struct control_conn *cc, const char *line);
/* cc is about to be freed (its answer is written, or the peer went away):
 * drop every pointer to it. */
typedef void control_gone_fn(void *arg, struct control_conn *cc);

/* Serves the listening unix stream socket lfd (borrowed: the caller closes
 * it after control_server_free) on base. Accepts only peers with our uid or
 * root (control_refused otherwise), logs each command (control_command),
 * and answers "error: command too long" to a line over 64 bytes. on_gone
 * may be NULL. Returns the server (never NULL). */
struct control_server *control_server_new(struct event_base *base, int lfd,
	control_command_fn *on_command, control_gone_fn *on_gone, void *arg);

/* Stops accepting, closes the connections still open (each is told to
 * on_gone first) and frees the server; NULL is accepted. */
void control_server_free(struct control_server *srv);

/* Queues line and a "\n" (line borrowed). */
void control_send(struct control_conn *cc, const char *line);

/* Queues n bytes as they are (borrowed). */
void control_write(struct control_conn *cc, const void *p, size_t n);

/* Queues the last line ("ok" or "error: …"); the connection is freed once
 * its output is written. Send nothing to cc afterwards. */
void control_end(struct control_conn *cc, const char *last);

#endif

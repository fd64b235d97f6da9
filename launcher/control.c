/*
 * control — see control.h. The client side (`gatecast stop`, `status`,
 * `reload`: blocking, one connection, then exit) and the server side (on
 * the launcher's event loop, with bufferevents).
 */
#include "launcher/control.h"

#include <errno.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/clock.h"
#include "common/config.h"
#include "common/net.h"
#include "common/log.h"
#include "common/xmalloc.h"
#include "launcher/status.h"

void
control_path(const struct config *c, const char *name, struct buf *out)
{
	buf_reset(out);
	buf_printf(out, "%s/%s", c->cluster_run_dir, name);
}

pid_t
control_running_pid(const char *pidfile)
{
	char line[32], path[64], comm[32];
	FILE *f = fopen(pidfile, "r");
	if (f == NULL)
		return 0;
	long pid = fgets(line, sizeof line, f) != NULL ? strtol(line, NULL, 10) : 0;
	fclose(f);
	if (pid <= 1 || (kill((pid_t)pid, 0) != 0 && errno != EPERM))
		return 0;
	/* A stale pid file may name a pid reused by something else. */
	snprintf(path, sizeof path, "/proc/%ld/comm", pid);
	if ((f = fopen(path, "r")) == NULL)
		return 0;
	bool ours = fgets(comm, sizeof comm, f) != NULL && strncmp(comm, "gatecast\n", 9) == 0;
	fclose(f);
	return ours ? (pid_t)pid : 0;
}

int
control_connect(const char *path)
{
	struct sockaddr_un sa;
	int rc = net_unix_addr(path, &sa);
	if (rc != 0)
		return rc;
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
		int e = errno;
		close(fd);
		return -e;
	}
	return fd;
}

/* Sends cmd and copies every answer line to stdout. Returns 0 when the
 * last line was "ok", 1 otherwise. */
static int
control_converse(int fd, const char *cmd)
{
	char line[256];
	snprintf(line, sizeof line, "%s\n", cmd);
	if (write(fd, line, strlen(line)) != (ssize_t)strlen(line)) {
		fprintf(stderr, "gatecast %s: cannot write to the launcher: %s\n", cmd, strerror(errno));
		return 1;
	}
	FILE *f = fdopen(fd, "r");
	if (f == NULL)
		return 1;
	char *text = NULL;
	size_t cap = 0;
	ssize_t n;
	int rc = 1;
	while ((n = getline(&text, &cap, f)) > 0) {
		if (strcmp(text, "ok\n") == 0) {
			rc = 0;
			continue;
		}
		rc = strncmp(text, "error", 5) == 0 ? 1 : rc;
		fputs(text, strncmp(text, "error", 5) == 0 ? stderr : stdout);
		fflush(stdout);
	}
	free(text);
	fclose(f);
	return rc;
}

static int
control_stop(int fd, pid_t pid, const struct config *c)
{
	int rc = control_converse(fd, "stop");
	if (rc != 0 || pid == 0)
		return rc;
	/* The launcher stops the gateways (clients get 1001), the workers and
	 * the register in turn, killing what outlives launcher.stop_timeout. */
	uint64_t deadline = clock_ms() + c->launcher_stop_timeout_ms + 5000;
	while (kill(pid, 0) == 0) {
		if (clock_ms() > deadline) {
			fprintf(stderr, "gatecast stop: pid %d is still running\n", (int)pid);
			return 1;
		}
		struct timespec ts = {0, 50 * 1000000};
		nanosleep(&ts, NULL);
	}
	printf("stopped (pid %d)\n", (int)pid);
	return 0;
}

int
control_cli_main(int argc, char **argv)
{
	const char *cmd = argv[1];
	struct config c;
	char err[512];
	int *rest = xcalloc((size_t)argc + 1, sizeof *rest), nrest = 0;
	if (config_from_args(&c, argc, argv, 2, rest, &nrest, err, sizeof err) != 0) {
		/* These commands need run_dir, the register and cluster.secret,
		 * never the client auth keys: a token-mode config without
		 * auth.secret in this shell's environment must still work. */
		char **lenient = xcalloc((size_t)argc + 3, sizeof *lenient);
		memcpy(lenient, argv, (size_t)argc * sizeof *argv);
		lenient[argc] = "--set";
		lenient[argc + 1] = "auth.mode=none";
		nrest = 0;
		int rc = config_from_args(&c, argc + 2, lenient, 2, rest, &nrest, NULL, 0);
		free(lenient);
		if (rc != 0) {
			fprintf(stderr, "gatecast %s: %s\n", cmd, err);
			free(rest);
			return 2;
		}
	}
	if (nrest > 0) {
		fprintf(stderr, "gatecast %s: unexpected argument \"%s\"\n", cmd, argv[rest[0]]);
		free(rest);
		config_fini(&c);
		return 2;
	}
	free(rest);

	struct buf sock = BUF_INIT, pidf = BUF_INIT;
	control_path(&c, CONTROL_SOCK_NAME, &sock);
	control_path(&c, CONTROL_PID_NAME, &pidf);
	pid_t pid = control_running_pid(pidf.p);
	int fd = control_connect(sock.p);
	int rc;
	if (fd >= 0) {
		rc = strcmp(cmd, "stop") == 0 ? control_stop(fd, pid, &c) : control_converse(fd, cmd);
	} else if (strcmp(cmd, "status") == 0) {
		/* No launcher here (the programs run under systemd, or on other
		 * hosts): ask the register, which every member reports to. */
		struct buf out = BUF_INIT;
		rc = status_from_register(&c, NULL, 0, &out, err, sizeof err) == 0 ? 0 : 1;
		if (rc == 0)
			fputs(out.p, stdout);
		else
			fprintf(stderr, "gatecast status: %s\n", err);
		buf_fini(&out);
	} else {
		fprintf(stderr, "gatecast %s: no gatecast running with cluster.run_dir %s (%s: %s)\n",
			cmd, c.cluster_run_dir, sock.p, strerror(-fd));
		rc = 1;
	}
	buf_fini(&sock);
	buf_fini(&pidf);
	config_fini(&c);
	return rc;
}

/* ---------------------------------------------------------------- server */

struct control_server {
	struct event_base *base;
	struct event *accept_ev;
	control_command_fn *on_command;
	control_gone_fn *on_gone;
	void *arg;
	struct control_conn *conns; /* open connections, freed with the server */
};

struct control_conn {
	struct control_server *srv;
	struct control_conn *prev, *next;
	struct bufferevent *bev;
	bool closing; /* free once the output is written */
};

static void
control_conn_free(struct control_conn *cc)
{
	struct control_server *srv = cc->srv;
	if (srv->on_gone != NULL)
		srv->on_gone(srv->arg, cc);
	if (cc->prev != NULL)
		cc->prev->next = cc->next;
	else
		srv->conns = cc->next;
	if (cc->next != NULL)
		cc->next->prev = cc->prev;
	bufferevent_free(cc->bev);
	free(cc);
}

void
control_send(struct control_conn *cc, const char *line)
{
	bufferevent_write(cc->bev, line, strlen(line));
	bufferevent_write(cc->bev, "\n", 1);
}

void
control_write(struct control_conn *cc, const void *p, size_t n)
{
	bufferevent_write(cc->bev, p, n);
}

void
control_end(struct control_conn *cc, const char *last)
{
	control_send(cc, last);
	cc->closing = true;
	bufferevent_disable(cc->bev, EV_READ);
}

static void
control_on_write(struct bufferevent *bev, void *arg)
{
	struct control_conn *cc = arg;
	if (cc->closing && evbuffer_get_length(bufferevent_get_output(bev)) == 0)
		control_conn_free(cc);
}

static void
control_on_event(struct bufferevent *bev, short what, void *arg)
{
	control_conn_free(arg);
}

static void
control_on_read(struct bufferevent *bev, void *arg)
{
	struct control_conn *cc = arg;
	size_t n;
	char *line = evbuffer_readln(bufferevent_get_input(bev), &n, EVBUFFER_EOL_LF);
	if (line == NULL) {
		if (evbuffer_get_length(bufferevent_get_input(bev)) > 64)
			control_end(cc, "error: command too long");
		return;
	}
	bufferevent_disable(bev, EV_READ);
	log_info("control_command", "command=%.16s", line);
	cc->srv->on_command(cc->srv->arg, cc, line);
	free(line);
}

static void
control_on_accept(evutil_socket_t lfd, short what, void *arg)
{
	struct control_server *srv = arg;
	int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
	if (fd < 0)
		return;
	/* The socket's directory is 0700 already; check the peer anyway. */
	struct ucred cred;
	socklen_t len = sizeof cred;
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0 ||
		(cred.uid != 0 && cred.uid != getuid())) {
		log_warn("control_refused", "uid=%u", (unsigned)cred.uid);
		close(fd);
		return;
	}
	struct control_conn *cc = xcalloc(1, sizeof *cc);
	cc->srv = srv;
	cc->next = srv->conns;
	if (srv->conns != NULL)
		srv->conns->prev = cc;
	srv->conns = cc;
	cc->bev = bufferevent_socket_new(srv->base, fd, BEV_OPT_CLOSE_ON_FREE);
	bufferevent_setcb(cc->bev, control_on_read, control_on_write, control_on_event, cc);
	bufferevent_enable(cc->bev, EV_READ | EV_WRITE);
}

struct control_server *
control_server_new(struct event_base *base, int lfd, control_command_fn *on_command,
	control_gone_fn *on_gone, void *arg)
{
	struct control_server *srv = xcalloc(1, sizeof *srv);
	srv->base = base;
	srv->on_command = on_command;
	srv->on_gone = on_gone;
	srv->arg = arg;
	srv->accept_ev = event_new(base, lfd, EV_READ | EV_PERSIST, control_on_accept, srv);
	event_add(srv->accept_ev, NULL);
	return srv;
}

void
control_server_free(struct control_server *srv)
{
	if (srv == NULL)
		return;
	while (srv->conns != NULL)
		control_conn_free(srv->conns);
	event_free(srv->accept_ev);
	free(srv);
}

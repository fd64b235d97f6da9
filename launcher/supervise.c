/*
 * supervise — see supervise.h. The supervisor itself: start-up, readiness,
 * stopping in order, signals, and the control commands; children live in
 * child.c, the reload's state machine in reload.c, the control socket in
 * control.c and -d in daemon.c.
 *
 * Everything runs on one libevent loop: signals, the children's readiness
 * datagrams, the control socket and the reload, which advances on a 50 ms
 * tick (RELOAD_TICK_MS).
 */
#include "launcher/supervise.h"

#include <errno.h>
#include <event2/event.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/clock.h"
#include "cluster/cluster.h"
#include "common/config.h"
#include "common/net.h"
#include "common/log.h"
#include "cluster/notify.h"
#include "cluster/prog.h"
#include "common/xmalloc.h"
#include "launcher/child.h"
#include "launcher/control.h"
#include "launcher/daemon.h"
#include "launcher/reload.h"
#include "launcher/status.h"

#define NOTIFY_SOCK_NAME "notify.sock"

struct launcher {
	struct event_base *base;
	struct config cfg;
	int argc;            /* config arguments: argv[0] + the -c/--set ones */
	char **argv;
	struct child_table kids;  /* kids.stopping: SIGTERM/stop was asked */
	bool ready;
	struct event *sigs[4], *stop_timer, *start_timer;
	char *outer_notify;  /* NOTIFY_SOCKET we were given (systemd), or NULL */
	int notify_fd, ctl_fd;
	struct event *notify_ev;
	struct control_server *ctl;
	struct buf notify_path, ctl_path, pid_path;
	int ready_pipe;      /* -d: the waiting parent; -1 otherwise */
	struct reload *reload;
	struct event *reload_tick;
	struct control_conn *reload_client; /* who asked; NULL when it went away */
};

static void supervise_reload_finish(struct launcher *l, const char *error);
static void supervise_stop(struct launcher *l, const char *why);

/* ------------------------------------------------------------- readiness */

/* Tells whoever waits for us (the -d parent, systemd) the outcome of the
 * start: "ok" or an error. */
static void
supervise_report_start(struct launcher *l, const char *error)
{
	daemon_report(&l->ready_pipe, error);
	if (error == NULL && l->outer_notify != NULL)
		notify_send_to(l->outer_notify, "READY=1");
}

static void
supervise_check_ready(struct launcher *l)
{
	if (l->ready || l->kids.stopping)
		return;
	for (size_t i = 0; i < l->kids.n; i++)
		if (!l->kids.kids[i]->ready)
			return;
	l->ready = true;
	event_del(l->start_timer);
	log_info("cluster_ready", "processes=%zu", l->kids.n);
	supervise_report_start(l, NULL);
}

static void
supervise_on_start_timeout(evutil_socket_t fd, short what, void *arg)
{
	struct launcher *l = arg;
	char why[256];
	size_t late = 0;
	const char *role = "";
	for (size_t i = 0; i < l->kids.n; i++)
		if (!l->kids.kids[i]->ready) {
			late++;
			role = child_role_name(l->kids.kids[i]->role);
		}
	snprintf(why, sizeof why, "%zu process(es) (e.g. a %s) not ready after launcher.start_timeout "
				  "(%.1f s)", late, role, l->cfg.launcher_start_timeout_ms / 1000.0);
	log_error("start_timeout", "not_ready=%zu example_role=%s", late, role);
	/* A daemon nobody waits for any more would restart its failing
	 * children for ever: it stops. In the foreground the user sees the
	 * log and decides. */
	bool daemon = l->ready_pipe >= 0;
	supervise_report_start(l, why);
	if (daemon)
		supervise_stop(l, "start_timeout");
}

/* A READY=1 datagram from a child: the kernel tells us which pid sent it. */
static void
supervise_on_notify(evutil_socket_t fd, short what, void *arg)
{
	struct launcher *l = arg;
	char data[256];
	union {
		struct cmsghdr h;
		char space[CMSG_SPACE(sizeof(struct ucred))];
	} ctl;
	for (;;) {
		struct iovec iov = {data, sizeof data - 1};
		struct msghdr mh = {0};
		mh.msg_iov = &iov;
		mh.msg_iovlen = 1;
		mh.msg_control = &ctl;
		mh.msg_controllen = sizeof ctl;
		ssize_t n = recvmsg(fd, &mh, MSG_DONTWAIT);
		if (n < 0)
			return;
		data[n] = '\0';
		struct cmsghdr *cm = CMSG_FIRSTHDR(&mh);
		if (cm == NULL || cm->cmsg_type != SCM_CREDENTIALS)
			continue;
		struct ucred cred;
		memcpy(&cred, CMSG_DATA(cm), sizeof cred);
		if (strstr(data, "READY=1") == NULL)
			continue;
		for (size_t i = 0; i < l->kids.n; i++) {
			struct child *c = l->kids.kids[i];
			if (c->pid == cred.pid && !c->ready) {
				c->ready = true;
				log_info("child_ready", "child_role=%s index=%u child_pid=%d", child_role_name(c->role),
					c->index, (int)c->pid);
			}
		}
		supervise_check_ready(l);
	}
}

/* ------------------------------------------------------------------ stopping */

/* Stop in dependency order: a role is signalled when the roles before it
 * are gone. */
static void
supervise_stop_step(struct launcher *l)
{
	for (int r = CHILD_GATEWAY;; r = r == CHILD_GATEWAY ? CHILD_WORKER : CHILD_REGISTER) {
		bool alive = false;
		for (size_t i = 0; i < l->kids.n; i++)
			alive |= l->kids.kids[i]->role == (enum child_role)r && l->kids.kids[i]->pid != 0;
		if (alive) {
			child_signal_role(&l->kids, (enum child_role)r, SIGTERM);
			return;
		}
		if (r == CHILD_REGISTER)
			break;
	}
	event_base_loopbreak(l->base);
}

static void
supervise_stop(struct launcher *l, const char *why)
{
	if (l->kids.stopping)
		return;
	l->kids.stopping = true;
	log_info("stopping", "reason=%s", why);
	if (l->reload != NULL)
		supervise_reload_finish(l, "the cluster is stopping");
	if (!l->ready)
		supervise_report_start(l, "stopped before it was ready");
	for (size_t i = 0; i < l->kids.n; i++)
		event_del(l->kids.kids[i]->restart_ev);
	uint32_t ms = l->cfg.launcher_stop_timeout_ms;
	struct timeval tv = {(time_t)(ms / 1000), (suseconds_t)((ms % 1000) * 1000)};
	event_add(l->stop_timer, &tv);
	if (child_all_gone(&l->kids))
		event_base_loopbreak(l->base);
	else
		supervise_stop_step(l);
}

static void
supervise_on_stop_timeout(evutil_socket_t fd, short what, void *arg)
{
	struct launcher *l = arg;
	log_warn("stop_timeout", "detail=\"killing the children still alive\"");
	for (size_t i = 0; i < l->kids.n; i++)
		if (l->kids.kids[i]->pid != 0)
			kill(l->kids.kids[i]->pid, SIGKILL);
}

/* A retiring child exited and is about to be freed. */
static void
supervise_on_child_gone(void *arg, struct child *c)
{
	struct launcher *l = arg;
	reload_forget(l->reload, c);
}

static void
supervise_on_sigchld(struct launcher *l)
{
	child_reap(&l->kids);
	if (l->kids.stopping) {
		if (child_all_gone(&l->kids))
			event_base_loopbreak(l->base);
		else
			supervise_stop_step(l);
	}
}

static void
supervise_on_signal(evutil_socket_t sig, short what, void *arg)
{
	struct launcher *l = arg;
	if (sig == SIGCHLD) {
		supervise_on_sigchld(l);
	} else if (sig == SIGHUP) {
		log_reopen();
		log_info("log_reopened", NULL);
		for (size_t i = 0; i < l->kids.n; i++)
			if (l->kids.kids[i]->pid != 0)
				kill(l->kids.kids[i]->pid, SIGHUP);
	} else {
		supervise_stop(l, sig == SIGINT ? "SIGINT" : "SIGTERM");
	}
}

/* -------------------------------------------------------------------- reload */

/* Ends the reload in progress (error NULL: it succeeded) and tells whoever
 * asked for it. */
static void
supervise_reload_finish(struct launcher *l, const char *error)
{
	if (l->reload == NULL)
		return;
	reload_finish(l->reload, error);
	l->reload = NULL;
	if (l->reload_client != NULL) {
		char line[600];
		if (error != NULL)
			snprintf(line, sizeof line, "error: %s", error);
		control_end(l->reload_client, error != NULL ? line : "ok");
		l->reload_client = NULL;
	}
	event_free(l->reload_tick);
	l->reload_tick = NULL;
}

static struct child *
supervise_reload_spawn(void *arg, unsigned index)
{
	struct launcher *l = arg;
	struct child *c = child_add(&l->kids, CHILD_WORKER, index);
	child_start(c);
	return c;
}

static void
supervise_reload_signal(void *arg, struct child *c, int sig)
{
	kill(c->pid, sig);
}

static void
supervise_reload_remove(void *arg, struct child *c)
{
	struct launcher *l = arg;
	child_remove(&l->kids, c);
}

static void
supervise_reload_say(void *arg, const char *line)
{
	struct launcher *l = arg;
	if (l->reload_client != NULL)
		control_send(l->reload_client, line);
}

static const struct reload_ops supervise_reload_ops = {
	.spawn = supervise_reload_spawn,
	.signal = supervise_reload_signal,
	.remove = supervise_reload_remove,
	.say = supervise_reload_say,
};

/* Advances the reload; runs every RELOAD_TICK_MS. */
static void
supervise_on_reload_tick(evutil_socket_t fd, short what, void *arg)
{
	struct launcher *l = arg;
	const char *error;
	if (reload_step(l->reload, clock_ms(), &error))
		supervise_reload_finish(l, error);
}

/* Re-reads the config and starts the rolling replacement; the outcome is
 * reported to cc. */
static void
supervise_reload_start(struct launcher *l, struct control_conn *cc)
{
	struct config fresh;
	char err[512];
	if (l->reload != NULL) {
		control_end(cc, "error: a reload is already running");
		return;
	}
	if (config_from_args(&fresh, l->argc, l->argv, 1, NULL, NULL, err, sizeof err) != 0) {
		char line[600];
		snprintf(line, sizeof line, "error: the config does not load, nothing changed: %s", err);
		log_warn("reload_refused", "reason=\"config does not load\"");
		control_end(cc, line);
		return;
	}
	/* The launcher takes the run-time keys (its own timings); addresses,
	 * run_dir and secrets stay what the running cluster uses. The workers
	 * it starts read the whole file, so worker.count applies as well. */
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	unsigned want = fresh.worker_count ? fresh.worker_count : (unsigned)(ncpu < 1 ? 1 : ncpu);
	struct buf changed = BUF_INIT, fixed = BUF_INIT;
	config_apply_runtime(&l->cfg, &fresh, &changed, &fixed);
	if (fixed.len > 0) {
		char line[900];
		snprintf(line, sizeof line, "note: not applied until the next start (new workers "
					    "read them, gateways and register do not): %s", fixed.p);
		control_send(cc, line);
	}
	log_info("reload_started", "needs_restart=%s", fixed.len ? fixed.p : "none");
	buf_fini(&changed);
	buf_fini(&fixed);
	config_fini(&fresh);

	for (size_t i = 0; i < l->kids.n; i++)
		if (l->kids.kids[i]->role != CHILD_WORKER && l->kids.kids[i]->pid != 0)
			kill(l->kids.kids[i]->pid, SIGHUP);

	l->reload = reload_new(&supervise_reload_ops, l, l->kids.kids, l->kids.n, want,
		l->cfg.register_renew_ms + 100, l->cfg.launcher_stop_timeout_ms);
	l->reload_client = cc;
	l->reload_tick = event_new(l->base, -1, EV_PERSIST, supervise_on_reload_tick, l);
	struct timeval tv = {0, RELOAD_TICK_MS * 1000};
	event_add(l->reload_tick, &tv);
	control_send(cc, "reloading: config re-read, gateways and register told (SIGHUP)");
}

/* ---------------------------------------------------------- control commands */

/* A control connection is going away: a reload it asked for goes on,
 * without anyone to tell. */
static void
supervise_on_control_gone(void *arg, struct control_conn *cc)
{
	struct launcher *l = arg;
	if (l->reload_client == cc)
		l->reload_client = NULL;
}

static void
supervise_status(struct launcher *l, struct control_conn *cc)
{
	struct status_child *kids = xcalloc(l->kids.n + 1, sizeof *kids);
	struct buf out = BUF_INIT;
	char err[512];
	for (size_t i = 0; i < l->kids.n; i++) {
		kids[i].role = child_role_name(l->kids.kids[i]->role);
		kids[i].index = l->kids.kids[i]->index;
		kids[i].pid = l->kids.kids[i]->pid;
		kids[i].ready = l->kids.kids[i]->ready;
	}
	if (status_from_register(&l->cfg, kids, l->kids.n, &out, err, sizeof err) == 0) {
		control_write(cc, out.p, out.len);
		control_end(cc, "ok");
	} else {
		char line[600];
		snprintf(line, sizeof line, "error: %s", err);
		control_end(cc, line);
	}
	buf_fini(&out);
	free(kids);
}

static void
supervise_on_command(void *arg, struct control_conn *cc, const char *line)
{
	struct launcher *l = arg;
	if (strcmp(line, "status") == 0) {
		supervise_status(l, cc);
	} else if (strcmp(line, "reload") == 0) {
		if (l->kids.stopping)
			control_end(cc, "error: the cluster is stopping");
		else
			supervise_reload_start(l, cc);
	} else if (strcmp(line, "stop") == 0) {
		control_end(cc, "ok");
		supervise_stop(l, "control");
	} else {
		control_end(cc, "error: unknown command (status, reload, stop)");
	}
}

/* Binds a unix socket of type at path (replacing a stale file). fd or -errno. */
static int
supervise_unix_socket(const char *path, int type)
{
	struct sockaddr_un sa;
	int rc = net_unix_addr(path, &sa);
	if (rc != 0)
		return rc;
	int fd = socket(AF_UNIX, type | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -errno;
	unlink(path);
	mode_t old = umask(0077);
	rc = bind(fd, (struct sockaddr *)&sa, sizeof sa);
	umask(old);
	if (rc != 0 || (type == SOCK_STREAM && listen(fd, 16) != 0)) {
		int e = errno;
		close(fd);
		return -e;
	}
	return fd;
}

/* ---------------------------------------------------------------- start-up */

/* Puts a fresh random cluster secret (32 bytes, hex) into our environment,
 * which the children inherit. 0 or -1 with errno set. */
static int
supervise_make_secret(void)
{
	unsigned char raw[32];
	char hex[2 * sizeof raw + 1];
	static const char digits[] = "0123456789abcdef";
	if (getrandom(raw, sizeof raw, 0) != (ssize_t)sizeof raw)
		return -1;
	for (size_t i = 0; i < sizeof raw; i++) {
		hex[2 * i] = digits[raw[i] >> 4];
		hex[2 * i + 1] = digits[raw[i] & 15];
	}
	hex[sizeof hex - 1] = '\0';
	int rc = setenv("GATECAST_CLUSTER_SECRET", hex, 1);
	explicit_bzero(raw, sizeof raw);
	explicit_bzero(hex, sizeof hex);
	return rc;
}

static void
supervise_cleanup(struct launcher *l)
{
	control_server_free(l->ctl);
	if (l->reload_tick != NULL)
		event_free(l->reload_tick);
	child_table_fini(&l->kids);
	for (int i = 0; i < 4; i++)
		if (l->sigs[i] != NULL)
			event_free(l->sigs[i]);
	if (l->notify_ev != NULL)
		event_free(l->notify_ev);
	if (l->stop_timer != NULL)
		event_free(l->stop_timer);
	if (l->start_timer != NULL)
		event_free(l->start_timer);
	if (l->base != NULL)
		event_base_free(l->base);
	if (l->notify_fd >= 0) {
		close(l->notify_fd);
		unlink(l->notify_path.p);
	}
	if (l->ctl_fd >= 0) {
		close(l->ctl_fd);
		unlink(l->ctl_path.p);
	}
	if (l->pid_path.p != NULL && control_running_pid(l->pid_path.p) == getpid())
		unlink(l->pid_path.p);
	buf_fini(&l->notify_path);
	buf_fini(&l->ctl_path);
	buf_fini(&l->pid_path);
	for (int i = 0; i < l->argc; i++)
		free(l->argv[i]);
	free(l->argv);
	free(l->outer_notify);
	config_fini(&l->cfg);
}

int
supervise_main(int argc, char **argv)
{
	struct launcher l;
	char err[512];
	int *rest = xcalloc((size_t)argc + 1, sizeof *rest), nrest = 0;
	bool daemon = false;

	memset(&l, 0, sizeof l);
	l.notify_fd = l.ctl_fd = l.ready_pipe = -1;
	if (config_from_args(&l.cfg, argc, argv, 2, rest, &nrest, err, sizeof err) != 0) {
		fprintf(stderr, "gatecast: %s\n", err);
		free(rest);
		return 2;
	}
	/* Children (and reloads) get exactly our config arguments. */
	l.argv = xcalloc((size_t)argc + 3, sizeof *l.argv);
	l.argv[l.argc++] = xstrdup(argv[0]);
	for (int i = 2, k = 0; i < argc; i++) {
		if (k < nrest && rest[k] == i) {
			k++;
			if (strcmp(argv[i], "-d") == 0 || strcmp(argv[i], "--daemon") == 0) {
				daemon = true;
				continue;
			}
			fprintf(stderr, "gatecast: unexpected argument \"%s\"\n", argv[i]);
			free(rest);
			supervise_cleanup(&l);
			return 2;
		}
		l.argv[l.argc++] = xstrdup(argv[i]);
	}
	free(rest);

	if (mkdir(l.cfg.cluster_run_dir, 0700) != 0 && errno != EEXIST) {
		fprintf(stderr, "gatecast: cannot create cluster.run_dir %s: %s\n",
			l.cfg.cluster_run_dir, strerror(errno));
		supervise_cleanup(&l);
		return 1;
	}
	control_path(&l.cfg, CONTROL_PID_NAME, &l.pid_path);
	control_path(&l.cfg, CONTROL_SOCK_NAME, &l.ctl_path);
	control_path(&l.cfg, NOTIFY_SOCK_NAME, &l.notify_path);
	pid_t other = control_running_pid(l.pid_path.p);
	int probe = control_connect(l.ctl_path.p);
	if (other != 0 || probe >= 0) {
		if (probe >= 0)
			close(probe);
		fprintf(stderr, "gatecast: already running with cluster.run_dir %s (pid %d); "
				"`gatecast stop` first, or use another run_dir\n",
			l.cfg.cluster_run_dir, (int)other);
		buf_reset(&l.pid_path); /* not ours to remove */
		buf_fini(&l.pid_path);
		supervise_cleanup(&l);
		return 1;
	}

	/* A daemon logs to a file: log.file, or <run_dir>/gatecast.log, which
	 * the children are told to use too (SIGHUP reopens it). */
	if (daemon && l.cfg.log_file[0] == '\0') {
		struct buf lf = BUF_INIT, set = BUF_INIT;
		control_path(&l.cfg, "gatecast.log", &lf);
		buf_printf(&set, "log.file=%s", lf.p);
		l.argv[l.argc++] = xstrdup("--set");
		l.argv[l.argc++] = buf_steal(&set, NULL);
		free(l.cfg.log_file);
		l.cfg.log_file = buf_steal(&lf, NULL);
	}
	int drc = daemon ? daemon_start(l.cfg.log_file, (uint64_t)l.cfg.launcher_start_timeout_ms +
					l.cfg.launcher_stop_timeout_ms + 5000, &l.ready_pipe) : 0;
	if (drc != 0) {
		fprintf(stderr, "gatecast: cannot daemonize: %s\n", strerror(-drc));
		supervise_cleanup(&l);
		return 1;
	}
	int lvl = log_level_parse(l.cfg.log_level);
	log_init("launcher", lvl < 0 ? LOG_INFO : (enum log_level)lvl, l.cfg.log_file);
	prog_warn_insecure(&l.cfg, argc, argv);

	/* Every child must hold the same cluster.secret. When none is set, make
	 * one for this run and hand it down in the environment (never on argv,
	 * which ps shows to every user). */
	if (l.cfg.cluster_secret[0] == '\0') {
		if (supervise_make_secret() != 0) {
			log_error("getrandom_failed", "errno=%d", errno);
			supervise_report_start(&l, "getrandom failed");
			supervise_cleanup(&l);
			return 1;
		}
		log_info("cluster_secret_generated",
			"detail=\"no cluster.secret set: a random one for this run, passed to the "
			"children in GATECAST_CLUSTER_SECRET\"");
	} else if (cluster_check_secret(l.cfg.cluster_secret, err, sizeof err) < 0) {
		fprintf(stderr, "gatecast: %s\n", err);
		supervise_report_start(&l, err);
		supervise_cleanup(&l);
		return 2;
	}

	FILE *pf = fopen(l.pid_path.p, "w");
	if (pf != NULL) {
		fprintf(pf, "%d\n", (int)getpid());
		fclose(pf);
	}
	signal(SIGPIPE, SIG_IGN);
	l.base = event_base_new();
	l.ctl_fd = supervise_unix_socket(l.ctl_path.p, SOCK_STREAM);
	l.notify_fd = supervise_unix_socket(l.notify_path.p, SOCK_DGRAM);
	int one = 1;
	if (l.ctl_fd < 0 || l.notify_fd < 0 ||
		setsockopt(l.notify_fd, SOL_SOCKET, SO_PASSCRED, &one, sizeof one) != 0) {
		log_error("control_socket_failed", "dir=%s errno=%d", l.cfg.cluster_run_dir,
			-(l.ctl_fd < 0 ? l.ctl_fd : l.notify_fd));
		supervise_report_start(&l, "cannot create the control sockets in cluster.run_dir");
		supervise_cleanup(&l);
		return 1;
	}
	l.ctl = control_server_new(l.base, l.ctl_fd, supervise_on_command, supervise_on_control_gone, &l);
	l.notify_ev = event_new(l.base, l.notify_fd, EV_READ | EV_PERSIST, supervise_on_notify, &l);
	event_add(l.notify_ev, NULL);
	const char *outer = getenv("NOTIFY_SOCKET");
	l.outer_notify = outer != NULL && outer[0] != '\0' ? xstrdup(outer) : NULL;
	setenv("NOTIFY_SOCKET", l.notify_path.p, 1);

	child_table_init(&l.kids, l.base, &l.cfg, l.argc, l.argv, supervise_on_child_gone, &l);
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	if (ncpu < 1)
		ncpu = 1;
	unsigned ngw = l.cfg.gateway_count ? l.cfg.gateway_count : (unsigned)ncpu;
	unsigned nwk = l.cfg.worker_count ? l.cfg.worker_count : (unsigned)ncpu;
	child_add(&l.kids, CHILD_REGISTER, 0);
	for (unsigned i = 0; i < ngw; i++)
		child_add(&l.kids, CHILD_GATEWAY, i);
	for (unsigned i = 0; i < nwk; i++)
		child_add(&l.kids, CHILD_WORKER, i);

	int sigs[] = {SIGINT, SIGTERM, SIGCHLD, SIGHUP};
	for (int i = 0; i < 4; i++) {
		l.sigs[i] = evsignal_new(l.base, sigs[i], supervise_on_signal, &l);
		event_add(l.sigs[i], NULL);
	}
	l.stop_timer = evtimer_new(l.base, supervise_on_stop_timeout, &l);
	l.start_timer = evtimer_new(l.base, supervise_on_start_timeout, &l);
	uint32_t st = l.cfg.launcher_start_timeout_ms;
	struct timeval tv = {(time_t)(st / 1000), (suseconds_t)((st % 1000) * 1000)};
	event_add(l.start_timer, &tv);
	log_info("starting", "gateways=%u workers=%u ws=%s push=%s http=%s register=%s run_dir=%s",
		ngw, nwk, l.cfg.gateway_ws_listen, l.cfg.gateway_push_listen, l.cfg.http_listen,
		l.cfg.register_listen, l.cfg.cluster_run_dir);
	for (size_t i = 0; i < l.kids.n; i++)
		child_start(l.kids.kids[i]);

	event_base_dispatch(l.base);

	supervise_cleanup(&l);
	log_info("stopped", NULL);
	return 0;
}

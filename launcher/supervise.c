/*
 * supervise — see supervise.h.
 *
 * Everything runs on one libevent loop: signals, the children's readiness
 * datagrams, the control socket and the reload, which is a small state
 * machine advanced by a 50 ms tick (reload_step).
 */
#include "launcher/supervise.h"

#include <errno.h>
#include <stdarg.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/clock.h"
#include "cluster/cluster.h"
#include "common/config.h"
#include "common/log.h"
#include "cluster/notify.h"
#include "cluster/prog.h"
#include "common/xmalloc.h"
#include "launcher/control.h"
#include "launcher/status.h"

#define LAUNCHER_STABLE_MS 10000
#define RELOAD_READY_TIMEOUT_MS 15000   /* a new worker must be ready by then */
#define RELOAD_TICK_MS 50
#define NOTIFY_SOCK_NAME "notify.sock"

enum child_role { CHILD_REGISTER, CHILD_GATEWAY, CHILD_WORKER };

static const char *const role_names[] = {"register", "gateway", "worker"};
static const char *const role_bins[] = {"gatecast-register", "gatecast-gateway", "gatecast-worker"};

struct child {
	struct launcher *l;
	enum child_role role;
	unsigned index;
	pid_t pid;       /* 0 = not running */
	uint64_t started;
	unsigned fails;
	bool ready;      /* said READY=1 since it was last started */
	bool retiring;   /* replaced or removed by a reload: not restarted */
	struct event *restart_ev;
};

struct ctl_conn {
	struct launcher *l;
	struct bufferevent *bev;
	bool closing; /* free once the output is written */
};

/* A reload in progress: workers[] are the workers to replace, in order.
 * For each: start a fresh one (unless the new worker.count is smaller),
 * wait until it is ready and one renew period has passed (so every
 * member's view holds it), then SIGTERM the old one and wait until it
 * exited (it drains first). Extra workers for a larger count come last. */
struct reload {
	struct ctl_conn *who; /* NULL when the client went away */
	struct child **olds;
	size_t nolds, next;
	unsigned want;        /* the new worker count */
	unsigned started;     /* fresh workers started so far */
	struct child *fresh, *old;
	enum { RL_NEXT, RL_WAIT_READY, RL_SETTLE, RL_WAIT_EXIT } phase;
	uint64_t deadline;
	struct event *tick;
};

struct launcher {
	struct event_base *base;
	struct config cfg;
	char *bins[3];
	int argc;            /* config arguments: argv[0] + the -c/--set ones */
	char **argv;
	struct child **kids;
	size_t nkids, capkids;
	bool stopping, ready;
	struct event *sigs[4], *stop_timer, *start_timer;
	char *outer_notify;  /* NOTIFY_SOCKET we were given (systemd), or NULL */
	int notify_fd, ctl_fd;
	struct event *notify_ev, *ctl_ev;
	struct buf notify_path, ctl_path, pid_path;
	int ready_pipe;      /* -d: the waiting parent; -1 otherwise */
	struct reload *reload;
};

static void reload_finish(struct launcher *l, const char *error);
static void launcher_stop(struct launcher *l, const char *why);
static void ctl_send(struct ctl_conn *cc, const char *line);
static void ctl_end(struct ctl_conn *cc, const char *last);

/* ------------------------------------------------------------------ children */

static char *
launcher_find_bin(const char *self_dir, const char *name, const char *subdir)
{
	struct buf path = BUF_INIT;
	buf_printf(&path, "%s/%s", self_dir, name);
	if (access(path.p, X_OK) == 0)
		return buf_steal(&path, NULL);
	/* The meson build tree: build/launcher/gatecast, build/<role>/... */
	buf_reset(&path);
	buf_printf(&path, "%s/../%s/%s", self_dir, subdir, name);
	if (access(path.p, X_OK) == 0)
		return buf_steal(&path, NULL);
	buf_fini(&path);
	return xstrdup(name); /* from PATH */
}

static void child_on_restart(evutil_socket_t fd, short what, void *arg);

static struct child *
child_add(struct launcher *l, enum child_role role, unsigned index)
{
	if (l->nkids == l->capkids) {
		l->capkids = l->capkids ? 2 * l->capkids : 16;
		l->kids = xrealloc(l->kids, l->capkids * sizeof *l->kids);
	}
	struct child *c = xcalloc(1, sizeof *c);
	c->l = l;
	c->role = role;
	c->index = index;
	c->restart_ev = evtimer_new(l->base, child_on_restart, c);
	l->kids[l->nkids++] = c;
	return c;
}

static void
child_remove(struct launcher *l, struct child *c)
{
	for (size_t i = 0; i < l->nkids; i++) {
		if (l->kids[i] == c) {
			memmove(&l->kids[i], &l->kids[i + 1], (l->nkids - i - 1) * sizeof *l->kids);
			l->nkids--;
			break;
		}
	}
	event_free(c->restart_ev);
	free(c);
}

static void
child_start(struct child *c)
{
	struct launcher *l = c->l;
	char **argv = xcalloc((size_t)l->argc + 1, sizeof *argv);
	argv[0] = l->bins[c->role];
	for (int i = 1; i < l->argc; i++)
		argv[i] = l->argv[i];
	pid_t pid = fork();
	if (pid == 0) {
		sigset_t none;
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		execvp(argv[0], argv);
		fprintf(stderr, "gatecast: cannot run %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	free(argv);
	if (pid < 0) {
		log_error("fork_failed", "errno=%d", errno);
		return;
	}
	c->pid = pid;
	c->ready = false;
	c->started = clock_ms();
	log_info("child_started", "child_role=%s index=%u child_pid=%d", role_names[c->role], c->index, (int)pid);
}

static void
child_on_restart(evutil_socket_t fd, short what, void *arg)
{
	struct child *c = arg;
	if (!c->l->stopping)
		child_start(c);
}

static bool
launcher_all_gone(const struct launcher *l)
{
	for (size_t i = 0; i < l->nkids; i++)
		if (l->kids[i]->pid != 0)
			return false;
	return true;
}

static void
launcher_signal_role(struct launcher *l, enum child_role role, int sig)
{
	for (size_t i = 0; i < l->nkids; i++)
		if (l->kids[i]->role == role && l->kids[i]->pid != 0)
			kill(l->kids[i]->pid, sig);
}

/* ------------------------------------------------------------- readiness */

/* Tells whoever waits for us (the -d parent, systemd) the outcome of the
 * start: "ok" or an error. */
static void
launcher_report_start(struct launcher *l, const char *error)
{
	if (l->ready_pipe >= 0) {
		char line[512];
		int n = error == NULL ? snprintf(line, sizeof line, "ok %d\n", (int)getpid()) :
					snprintf(line, sizeof line, "error %s\n", error);
		if (write(l->ready_pipe, line, (size_t)n) < 0)
			log_warn("start_report_failed", "errno=%d", errno);
		close(l->ready_pipe);
		l->ready_pipe = -1;
	}
	if (error == NULL && l->outer_notify != NULL)
		notify_send_to(l->outer_notify, "READY=1");
}

static void
launcher_check_ready(struct launcher *l)
{
	if (l->ready || l->stopping)
		return;
	for (size_t i = 0; i < l->nkids; i++)
		if (!l->kids[i]->ready)
			return;
	l->ready = true;
	event_del(l->start_timer);
	log_info("cluster_ready", "processes=%zu", l->nkids);
	launcher_report_start(l, NULL);
}

static void
launcher_on_start_timeout(evutil_socket_t fd, short what, void *arg)
{
	struct launcher *l = arg;
	char why[256];
	size_t late = 0;
	const char *role = "";
	for (size_t i = 0; i < l->nkids; i++)
		if (!l->kids[i]->ready) {
			late++;
			role = role_names[l->kids[i]->role];
		}
	snprintf(why, sizeof why, "%zu process(es) (e.g. a %s) not ready after launcher.start_timeout "
				  "(%.1f s)", late, role, l->cfg.launcher_start_timeout_ms / 1000.0);
	log_error("start_timeout", "not_ready=%zu example_role=%s", late, role);
	/* A daemon nobody waits for any more would restart its failing
	 * children for ever: it stops. In the foreground the user sees the
	 * log and decides. */
	bool daemon = l->ready_pipe >= 0;
	launcher_report_start(l, why);
	if (daemon)
		launcher_stop(l, "start_timeout");
}

/* A READY=1 datagram from a child: the kernel tells us which pid sent it. */
static void
launcher_on_notify(evutil_socket_t fd, short what, void *arg)
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
		for (size_t i = 0; i < l->nkids; i++) {
			struct child *c = l->kids[i];
			if (c->pid == cred.pid && !c->ready) {
				c->ready = true;
				log_info("child_ready", "child_role=%s index=%u child_pid=%d", role_names[c->role],
					c->index, (int)c->pid);
			}
		}
		launcher_check_ready(l);
	}
}

/* ------------------------------------------------------------------ stopping */

/* Stop in dependency order: a role is signalled when the roles before it
 * are gone. */
static void
launcher_stop_step(struct launcher *l)
{
	for (int r = CHILD_GATEWAY;; r = r == CHILD_GATEWAY ? CHILD_WORKER : CHILD_REGISTER) {
		bool alive = false;
		for (size_t i = 0; i < l->nkids; i++)
			alive |= l->kids[i]->role == (enum child_role)r && l->kids[i]->pid != 0;
		if (alive) {
			launcher_signal_role(l, (enum child_role)r, SIGTERM);
			return;
		}
		if (r == CHILD_REGISTER)
			break;
	}
	event_base_loopbreak(l->base);
}

static void
launcher_stop(struct launcher *l, const char *why)
{
	if (l->stopping)
		return;
	l->stopping = true;
	log_info("stopping", "reason=%s", why);
	if (l->reload != NULL)
		reload_finish(l, "the cluster is stopping");
	if (!l->ready)
		launcher_report_start(l, "stopped before it was ready");
	for (size_t i = 0; i < l->nkids; i++)
		event_del(l->kids[i]->restart_ev);
	uint32_t ms = l->cfg.launcher_stop_timeout_ms;
	struct timeval tv = {(time_t)(ms / 1000), (suseconds_t)((ms % 1000) * 1000)};
	event_add(l->stop_timer, &tv);
	if (launcher_all_gone(l))
		event_base_loopbreak(l->base);
	else
		launcher_stop_step(l);
}

static void
launcher_on_stop_timeout(evutil_socket_t fd, short what, void *arg)
{
	struct launcher *l = arg;
	log_warn("stop_timeout", "detail=\"killing the children still alive\"");
	for (size_t i = 0; i < l->nkids; i++)
		if (l->kids[i]->pid != 0)
			kill(l->kids[i]->pid, SIGKILL);
}

static void
launcher_on_sigchld(struct launcher *l)
{
	int status;
	pid_t pid;
	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		for (size_t i = 0; i < l->nkids; i++) {
			struct child *c = l->kids[i];
			if (c->pid != pid)
				continue;
			c->pid = 0;
			c->ready = false;
			/* Asked to go (SIGTERM, exit 0) is routine; anything else
			 * is a crash or a refusal to start, worth a warning. */
			bool sig = WIFSIGNALED(status);
			int code = sig ? WTERMSIG(status) : WEXITSTATUS(status);
			bool routine = sig ? code == SIGTERM && (l->stopping || c->retiring) : code == 0;
			if (routine)
				log_info("child_exited", "child_role=%s index=%u child_pid=%d %s=%d",
					role_names[c->role], c->index, (int)pid, sig ? "signal" : "status", code);
			else
				log_warn("child_exited", "child_role=%s index=%u child_pid=%d %s=%d",
					role_names[c->role], c->index, (int)pid, sig ? "signal" : "status", code);
			if (c->retiring) {
				if (l->reload != NULL && l->reload->old == c)
					l->reload->old = NULL;
				if (l->reload != NULL && l->reload->fresh == c)
					l->reload->fresh = NULL;
				child_remove(l, c);
				break;
			}
			if (l->stopping)
				break;
			if (clock_ms() - c->started > LAUNCHER_STABLE_MS)
				c->fails = 0;
			uint64_t delay = l->cfg.launcher_restart_min_ms;
			for (unsigned k = 0; k < c->fails && delay < l->cfg.launcher_restart_max_ms; k++)
				delay *= 2;
			if (delay > l->cfg.launcher_restart_max_ms)
				delay = l->cfg.launcher_restart_max_ms;
			c->fails++;
			struct timeval tv = {(time_t)(delay / 1000), (suseconds_t)((delay % 1000) * 1000)};
			event_add(c->restart_ev, &tv);
			log_info("child_restart_scheduled", "child_role=%s index=%u delay_ms=%llu",
				role_names[c->role], c->index, (unsigned long long)delay);
			break;
		}
	}
	if (l->stopping) {
		if (launcher_all_gone(l))
			event_base_loopbreak(l->base);
		else
			launcher_stop_step(l);
	}
}

static void
launcher_on_signal(evutil_socket_t sig, short what, void *arg)
{
	struct launcher *l = arg;
	if (sig == SIGCHLD) {
		launcher_on_sigchld(l);
	} else if (sig == SIGHUP) {
		log_reopen();
		log_info("log_reopened", NULL);
		for (size_t i = 0; i < l->nkids; i++)
			if (l->kids[i]->pid != 0)
				kill(l->kids[i]->pid, SIGHUP);
	} else {
		launcher_stop(l, sig == SIGINT ? "SIGINT" : "SIGTERM");
	}
}

/* -------------------------------------------------------------------- reload */

static void
reload_finish(struct launcher *l, const char *error)
{
	struct reload *rl = l->reload;
	if (rl == NULL)
		return;
	if (error != NULL) {
		log_error("reload_failed", "reason=\"%s\"", error);
		/* A fresh worker that is not ready yet goes away again; the old
		 * one it would have replaced keeps serving. */
		if (rl->fresh != NULL && rl->phase == RL_WAIT_READY) {
			rl->fresh->retiring = true;
			if (rl->fresh->pid != 0)
				kill(rl->fresh->pid, SIGTERM);
			else
				child_remove(l, rl->fresh);
		}
	} else {
		log_info("reload_done", "workers=%u", rl->started);
	}
	if (rl->who != NULL) {
		char line[600];
		if (error != NULL)
			snprintf(line, sizeof line, "error: %s", error);
		ctl_end(rl->who, error != NULL ? line : "ok");
	}
	event_free(rl->tick);
	free(rl->olds);
	free(rl);
	l->reload = NULL;
}

static void
reload_say(struct reload *rl, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
reload_say(struct reload *rl, const char *fmt, ...)
{
	char line[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(line, sizeof line, fmt, ap);
	va_end(ap);
	if (rl->who != NULL)
		ctl_send(rl->who, line);
}

/* Advances the reload; runs every RELOAD_TICK_MS. */
static void
reload_step(evutil_socket_t fd, short what, void *arg)
{
	struct launcher *l = arg;
	struct reload *rl = l->reload;
	uint64_t now = clock_ms();

	switch (rl->phase) {
	case RL_NEXT: {
		bool replace = rl->next < rl->nolds;
		if (!replace && rl->started >= rl->want) {
			reload_finish(l, NULL);
			return;
		}
		rl->old = replace ? rl->olds[rl->next++] : NULL;
		rl->fresh = NULL;
		if (rl->started < rl->want) {
			rl->fresh = child_add(l, CHILD_WORKER, rl->old ? rl->old->index : rl->started);
			child_start(rl->fresh);
			rl->started++;
			rl->phase = RL_WAIT_READY;
			rl->deadline = now + RELOAD_READY_TIMEOUT_MS;
		} else {
			rl->phase = RL_SETTLE; /* fewer workers now: only retire */
			rl->deadline = now;
		}
		return;
	}
	case RL_WAIT_READY:
		if (rl->fresh == NULL || rl->fresh->fails > 0) {
			reload_finish(l, "a new worker exited before it was ready (see the log)");
			return;
		}
		if (now > rl->deadline) {
			reload_finish(l, "a new worker was not ready in time (see the log)");
			return;
		}
		if (rl->fresh->ready) {
			/* Members learn of it at their next renew. */
			rl->phase = RL_SETTLE;
			rl->deadline = now + l->cfg.register_renew_ms + 100;
		}
		return;
	case RL_SETTLE:
		if (now < rl->deadline)
			return;
		if (rl->old == NULL) {
			reload_say(rl, "worker %u: started pid %d", rl->fresh->index, (int)rl->fresh->pid);
			rl->phase = RL_NEXT;
			return;
		}
		rl->old->retiring = true;
		if (rl->old->pid != 0)
			kill(rl->old->pid, SIGTERM);
		else {
			child_remove(l, rl->old);
			rl->old = NULL;
		}
		rl->phase = RL_WAIT_EXIT;
		rl->deadline = now + l->cfg.launcher_stop_timeout_ms;
		return;
	case RL_WAIT_EXIT:
		if (rl->old != NULL) {
			if (now > rl->deadline && rl->old->pid != 0) {
				log_warn("reload_kill", "child_pid=%d detail=\"the old worker did not exit in "
							   "launcher.stop_timeout\"", (int)rl->old->pid);
				kill(rl->old->pid, SIGKILL);
				rl->deadline = now + 60000;
			}
			return;
		}
		if (rl->fresh != NULL)
			reload_say(rl, "worker %u: replaced by pid %d", rl->fresh->index, (int)rl->fresh->pid);
		else
			reload_say(rl, "worker: removed (worker.count is now %u)", rl->want);
		rl->phase = RL_NEXT;
		return;
	}
}

/* Re-reads the config and starts the rolling replacement; the outcome is
 * reported to cc. */
static void
reload_start(struct launcher *l, struct ctl_conn *cc)
{
	struct config fresh;
	char err[512];
	if (l->reload != NULL) {
		ctl_end(cc, "error: a reload is already running");
		return;
	}
	if (config_from_args(&fresh, l->argc, l->argv, 1, NULL, NULL, err, sizeof err) != 0) {
		char line[600];
		snprintf(line, sizeof line, "error: the config does not load, nothing changed: %s", err);
		log_warn("reload_refused", "reason=\"config does not load\"");
		ctl_end(cc, line);
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
		ctl_send(cc, line);
	}
	log_info("reload_started", "needs_restart=%s", fixed.len ? fixed.p : "none");
	buf_fini(&changed);
	buf_fini(&fixed);
	config_fini(&fresh);

	for (size_t i = 0; i < l->nkids; i++)
		if (l->kids[i]->role != CHILD_WORKER && l->kids[i]->pid != 0)
			kill(l->kids[i]->pid, SIGHUP);

	struct reload *rl = xcalloc(1, sizeof *rl);
	rl->who = cc;
	rl->want = want;
	rl->olds = xcalloc(l->nkids + 1, sizeof *rl->olds);
	for (size_t i = 0; i < l->nkids; i++)
		if (l->kids[i]->role == CHILD_WORKER && !l->kids[i]->retiring)
			rl->olds[rl->nolds++] = l->kids[i];
	rl->phase = RL_NEXT;
	rl->tick = event_new(l->base, -1, EV_PERSIST, reload_step, l);
	struct timeval tv = {0, RELOAD_TICK_MS * 1000};
	event_add(rl->tick, &tv);
	l->reload = rl;
	ctl_send(cc, "reloading: config re-read, gateways and register told (SIGHUP)");
}

/* ------------------------------------------------------------ control socket */

static void
ctl_free(struct ctl_conn *cc)
{
	if (cc->l->reload != NULL && cc->l->reload->who == cc)
		cc->l->reload->who = NULL;
	bufferevent_free(cc->bev);
	free(cc);
}

static void
ctl_send(struct ctl_conn *cc, const char *line)
{
	bufferevent_write(cc->bev, line, strlen(line));
	bufferevent_write(cc->bev, "\n", 1);
}

static void
ctl_end(struct ctl_conn *cc, const char *last)
{
	ctl_send(cc, last);
	cc->closing = true;
	bufferevent_disable(cc->bev, EV_READ);
}

static void
ctl_on_write(struct bufferevent *bev, void *arg)
{
	struct ctl_conn *cc = arg;
	if (cc->closing && evbuffer_get_length(bufferevent_get_output(bev)) == 0)
		ctl_free(cc);
}

static void
ctl_on_event(struct bufferevent *bev, short what, void *arg)
{
	ctl_free(arg);
}

static void
ctl_status(struct launcher *l, struct ctl_conn *cc)
{
	struct status_child *kids = xcalloc(l->nkids + 1, sizeof *kids);
	struct buf out = BUF_INIT;
	char err[512];
	for (size_t i = 0; i < l->nkids; i++) {
		kids[i].role = role_names[l->kids[i]->role];
		kids[i].index = l->kids[i]->index;
		kids[i].pid = l->kids[i]->pid;
		kids[i].ready = l->kids[i]->ready;
	}
	if (status_from_register(&l->cfg, kids, l->nkids, &out, err, sizeof err) == 0) {
		bufferevent_write(cc->bev, out.p, out.len);
		ctl_end(cc, "ok");
	} else {
		char line[600];
		snprintf(line, sizeof line, "error: %s", err);
		ctl_end(cc, line);
	}
	buf_fini(&out);
	free(kids);
}

static void
ctl_on_read(struct bufferevent *bev, void *arg)
{
	struct ctl_conn *cc = arg;
	struct launcher *l = cc->l;
	size_t n;
	char *line = evbuffer_readln(bufferevent_get_input(bev), &n, EVBUFFER_EOL_LF);
	if (line == NULL) {
		if (evbuffer_get_length(bufferevent_get_input(bev)) > 64)
			ctl_end(cc, "error: command too long");
		return;
	}
	bufferevent_disable(bev, EV_READ);
	log_info("control_command", "command=%.16s", line);
	if (strcmp(line, "status") == 0) {
		ctl_status(l, cc);
	} else if (strcmp(line, "reload") == 0) {
		if (l->stopping)
			ctl_end(cc, "error: the cluster is stopping");
		else
			reload_start(l, cc);
	} else if (strcmp(line, "stop") == 0) {
		ctl_end(cc, "ok");
		launcher_stop(l, "control");
	} else {
		ctl_end(cc, "error: unknown command (status, reload, stop)");
	}
	free(line);
}

static void
ctl_on_accept(evutil_socket_t lfd, short what, void *arg)
{
	struct launcher *l = arg;
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
	struct ctl_conn *cc = xcalloc(1, sizeof *cc);
	cc->l = l;
	cc->bev = bufferevent_socket_new(l->base, fd, BEV_OPT_CLOSE_ON_FREE);
	bufferevent_setcb(cc->bev, ctl_on_read, ctl_on_write, ctl_on_event, cc);
	bufferevent_enable(cc->bev, EV_READ | EV_WRITE);
}

/* Binds a unix socket of type at path (replacing a stale file). fd or -errno. */
static int
launcher_unix_socket(const char *path, int type)
{
	struct sockaddr_un sa;
	if (strlen(path) >= sizeof sa.sun_path)
		return -ENAMETOOLONG;
	memset(&sa, 0, sizeof sa);
	sa.sun_family = AF_UNIX;
	strcpy(sa.sun_path, path);
	int fd = socket(AF_UNIX, type | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -errno;
	unlink(path);
	mode_t old = umask(0077);
	int rc = bind(fd, (struct sockaddr *)&sa, sizeof sa);
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
launcher_make_secret(void)
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

/* -d: the parent waits for the daemon's "ok <pid>" / "error <why>" line and
 * exits with its outcome; the daemon returns here with the write end. */
static int
launcher_daemonize(const char *log_path, uint64_t wait_ms, int *ready_fd)
{
	int p[2];
	if (pipe2(p, O_CLOEXEC) != 0)
		return -1;
	fflush(NULL);
	pid_t pid = fork();
	if (pid < 0)
		return -1;
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
		return -1;
	/* stdout/stderr catch what is not a log line (a child's crash report). */
	dup2(null, 0);
	dup2(logf, 1);
	dup2(logf, 2);
	close(null);
	close(logf);
	*ready_fd = p[1];
	return 0;
}

static void
launcher_find_bins(struct launcher *l)
{
	char self[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
	if (n <= 0) {
		snprintf(self, sizeof self, ".");
	} else {
		self[n] = '\0';
		char *slash = strrchr(self, '/');
		if (slash)
			*slash = '\0';
	}
	const char *subdirs[] = {"register", "gateway", "worker"};
	for (int r = 0; r < 3; r++)
		l->bins[r] = launcher_find_bin(self, role_bins[r], subdirs[r]);
}

static void
launcher_cleanup(struct launcher *l)
{
	while (l->nkids > 0)
		child_remove(l, l->kids[l->nkids - 1]);
	free(l->kids);
	for (int i = 0; i < 4; i++)
		if (l->sigs[i] != NULL)
			event_free(l->sigs[i]);
	if (l->notify_ev != NULL)
		event_free(l->notify_ev);
	if (l->ctl_ev != NULL)
		event_free(l->ctl_ev);
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
	for (int r = 0; r < 3; r++)
		free(l->bins[r]);
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
			launcher_cleanup(&l);
			return 2;
		}
		l.argv[l.argc++] = xstrdup(argv[i]);
	}
	free(rest);

	if (mkdir(l.cfg.cluster_run_dir, 0700) != 0 && errno != EEXIST) {
		fprintf(stderr, "gatecast: cannot create cluster.run_dir %s: %s\n",
			l.cfg.cluster_run_dir, strerror(errno));
		launcher_cleanup(&l);
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
		launcher_cleanup(&l);
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
	if (daemon && launcher_daemonize(l.cfg.log_file, (uint64_t)l.cfg.launcher_start_timeout_ms +
					 l.cfg.launcher_stop_timeout_ms + 5000, &l.ready_pipe) != 0) {
		fprintf(stderr, "gatecast: cannot daemonize: %s\n", strerror(errno));
		launcher_cleanup(&l);
		return 1;
	}
	int lvl = log_level_parse(l.cfg.log_level);
	log_init("launcher", lvl < 0 ? LOG_INFO : (enum log_level)lvl, l.cfg.log_file);
	prog_warn_insecure(&l.cfg, argc, argv);

	/* Every child must hold the same cluster.secret. When none is set, make
	 * one for this run and hand it down in the environment (never on argv,
	 * which ps shows to every user). */
	if (l.cfg.cluster_secret[0] == '\0') {
		if (launcher_make_secret() != 0) {
			log_error("getrandom_failed", "errno=%d", errno);
			launcher_report_start(&l, "getrandom failed");
			launcher_cleanup(&l);
			return 1;
		}
		log_info("cluster_secret_generated",
			"detail=\"no cluster.secret set: a random one for this run, passed to the "
			"children in GATECAST_CLUSTER_SECRET\"");
	} else if (cluster_check_secret(l.cfg.cluster_secret, err, sizeof err) < 0) {
		fprintf(stderr, "gatecast: %s\n", err);
		launcher_report_start(&l, err);
		launcher_cleanup(&l);
		return 2;
	}

	FILE *pf = fopen(l.pid_path.p, "w");
	if (pf != NULL) {
		fprintf(pf, "%d\n", (int)getpid());
		fclose(pf);
	}
	signal(SIGPIPE, SIG_IGN);
	l.base = event_base_new();
	l.ctl_fd = launcher_unix_socket(l.ctl_path.p, SOCK_STREAM);
	l.notify_fd = launcher_unix_socket(l.notify_path.p, SOCK_DGRAM);
	int one = 1;
	if (l.ctl_fd < 0 || l.notify_fd < 0 ||
		setsockopt(l.notify_fd, SOL_SOCKET, SO_PASSCRED, &one, sizeof one) != 0) {
		log_error("control_socket_failed", "dir=%s errno=%d", l.cfg.cluster_run_dir,
			-(l.ctl_fd < 0 ? l.ctl_fd : l.notify_fd));
		launcher_report_start(&l, "cannot create the control sockets in cluster.run_dir");
		launcher_cleanup(&l);
		return 1;
	}
	l.ctl_ev = event_new(l.base, l.ctl_fd, EV_READ | EV_PERSIST, ctl_on_accept, &l);
	l.notify_ev = event_new(l.base, l.notify_fd, EV_READ | EV_PERSIST, launcher_on_notify, &l);
	event_add(l.ctl_ev, NULL);
	event_add(l.notify_ev, NULL);
	const char *outer = getenv("NOTIFY_SOCKET");
	l.outer_notify = outer != NULL && outer[0] != '\0' ? xstrdup(outer) : NULL;
	setenv("NOTIFY_SOCKET", l.notify_path.p, 1);

	launcher_find_bins(&l);
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	if (ncpu < 1)
		ncpu = 1;
	unsigned ngw = l.cfg.gateway_count ? l.cfg.gateway_count : (unsigned)ncpu;
	unsigned nwk = l.cfg.worker_count ? l.cfg.worker_count : (unsigned)ncpu;
	child_add(&l, CHILD_REGISTER, 0);
	for (unsigned i = 0; i < ngw; i++)
		child_add(&l, CHILD_GATEWAY, i);
	for (unsigned i = 0; i < nwk; i++)
		child_add(&l, CHILD_WORKER, i);

	int sigs[] = {SIGINT, SIGTERM, SIGCHLD, SIGHUP};
	for (int i = 0; i < 4; i++) {
		l.sigs[i] = evsignal_new(l.base, sigs[i], launcher_on_signal, &l);
		event_add(l.sigs[i], NULL);
	}
	l.stop_timer = evtimer_new(l.base, launcher_on_stop_timeout, &l);
	l.start_timer = evtimer_new(l.base, launcher_on_start_timeout, &l);
	uint32_t st = l.cfg.launcher_start_timeout_ms;
	struct timeval tv = {(time_t)(st / 1000), (suseconds_t)((st % 1000) * 1000)};
	event_add(l.start_timer, &tv);
	log_info("starting", "gateways=%u workers=%u ws=%s push=%s http=%s register=%s run_dir=%s",
		ngw, nwk, l.cfg.gateway_ws_listen, l.cfg.gateway_push_listen, l.cfg.http_listen,
		l.cfg.register_listen, l.cfg.cluster_run_dir);
	for (size_t i = 0; i < l.nkids; i++)
		child_start(l.kids[i]);

	event_base_dispatch(l.base);

	launcher_cleanup(&l);
	log_info("stopped", NULL);
	return 0;
}

/*
 * child — see child.h.
 */
#include "launcher/child.h"

#include <errno.h>
#include <event2/event.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/clock.h"
#include "common/config.h"
#include "common/log.h"
#include "common/xmalloc.h"

static const char *const role_names[CHILD_ROLES] = {"register", "gateway", "worker"};
static const char *const role_bins[CHILD_ROLES] = {"gatecast-register", "gatecast-gateway",
	"gatecast-worker"};

const char *
child_role_name(enum child_role role)
{
	return role_names[role];
}

static char *
child_find_bin(const char *self_dir, const char *name, const char *subdir)
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

void
child_table_init(struct child_table *t, struct event_base *base, const struct config *cfg,
	int argc, char *const *argv, child_gone_fn *gone, void *gone_arg)
{
	memset(t, 0, sizeof *t);
	t->base = base;
	t->cfg = cfg;
	t->argc = argc;
	t->argv = argv;
	t->gone = gone;
	t->gone_arg = gone_arg;

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
	for (int r = 0; r < CHILD_ROLES; r++)
		t->bins[r] = child_find_bin(self, role_bins[r], role_names[r]); /* folder = role */
}

void
child_table_fini(struct child_table *t)
{
	while (t->n > 0)
		child_remove(t, t->kids[t->n - 1]);
	free(t->kids);
	t->kids = NULL;
	t->cap = 0;
	for (int r = 0; r < CHILD_ROLES; r++) {
		free(t->bins[r]);
		t->bins[r] = NULL;
	}
}

static void
child_on_restart(evutil_socket_t fd, short what, void *arg)
{
	struct child *c = arg;
	if (!c->table->stopping)
		child_start(c);
}

struct child *
child_add(struct child_table *t, enum child_role role, unsigned index)
{
	if (t->n == t->cap) {
		t->cap = t->cap ? 2 * t->cap : 16;
		t->kids = xrealloc(t->kids, t->cap * sizeof *t->kids);
	}
	struct child *c = xcalloc(1, sizeof *c);
	c->table = t;
	c->role = role;
	c->index = index;
	c->restart_ev = evtimer_new(t->base, child_on_restart, c);
	t->kids[t->n++] = c;
	return c;
}

void
child_remove(struct child_table *t, struct child *c)
{
	for (size_t i = 0; i < t->n; i++) {
		if (t->kids[i] == c) {
			memmove(&t->kids[i], &t->kids[i + 1], (t->n - i - 1) * sizeof *t->kids);
			t->n--;
			break;
		}
	}
	event_free(c->restart_ev);
	free(c);
}

void
child_start(struct child *c)
{
	struct child_table *t = c->table;
	char **argv = xcalloc((size_t)t->argc + 1, sizeof *argv);
	argv[0] = t->bins[c->role];
	for (int i = 1; i < t->argc; i++)
		argv[i] = t->argv[i];
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

uint64_t
child_backoff(struct child *c, uint64_t now, uint32_t min_ms, uint32_t max_ms)
{
	if (now - c->started > CHILD_STABLE_MS)
		c->fails = 0;
	uint64_t delay = min_ms;
	for (unsigned k = 0; k < c->fails && delay < max_ms; k++)
		delay *= 2;
	if (delay > max_ms)
		delay = max_ms;
	c->fails++;
	return delay;
}

void
child_reap(struct child_table *t)
{
	int status;
	pid_t pid;
	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		for (size_t i = 0; i < t->n; i++) {
			struct child *c = t->kids[i];
			if (c->pid != pid)
				continue;
			c->pid = 0;
			c->ready = false;
			/* Asked to go (SIGTERM, exit 0) is routine; anything else
			 * is a crash or a refusal to start, worth a warning. */
			bool sig = WIFSIGNALED(status);
			int code = sig ? WTERMSIG(status) : WEXITSTATUS(status);
			bool routine = sig ? code == SIGTERM && (t->stopping || c->retiring) : code == 0;
			if (routine)
				log_info("child_exited", "child_role=%s index=%u child_pid=%d %s=%d",
					role_names[c->role], c->index, (int)pid, sig ? "signal" : "status", code);
			else
				log_warn("child_exited", "child_role=%s index=%u child_pid=%d %s=%d",
					role_names[c->role], c->index, (int)pid, sig ? "signal" : "status", code);
			if (c->retiring) {
				if (t->gone != NULL)
					t->gone(t->gone_arg, c);
				child_remove(t, c);
				break;
			}
			if (t->stopping)
				break;
			uint64_t delay = child_backoff(c, clock_ms(), t->cfg->launcher_restart_min_ms,
				t->cfg->launcher_restart_max_ms);
			struct timeval tv = {(time_t)(delay / 1000), (suseconds_t)((delay % 1000) * 1000)};
			event_add(c->restart_ev, &tv);
			log_info("child_restart_scheduled", "child_role=%s index=%u delay_ms=%llu",
				role_names[c->role], c->index, (unsigned long long)delay);
			break;
		}
	}
}

bool
child_all_gone(const struct child_table *t)
{
	for (size_t i = 0; i < t->n; i++)
		if (t->kids[i]->pid != 0)
			return false;
	return true;
}

void
child_signal_role(const struct child_table *t, enum child_role role, int sig)
{
	for (size_t i = 0; i < t->n; i++)
		if (t->kids[i]->role == role && t->kids[i]->pid != 0)
			kill(t->kids[i]->pid, sig);
}

/*
 * gatecast — the launcher. `gatecast start` runs a whole local cluster in
 * the foreground: one register, gateway.count gateways and worker.count
 * workers (0 = one per CPU core), each started with the same -c/--set
 * arguments. A child that dies is restarted with exponential backoff
 * (launcher.restart_backoff_min … _max; reset after it ran 10 s). SIGINT or
 * SIGTERM stops gateways first (their clients get close 1001), then workers,
 * then the register; whatever is still alive after launcher.stop_timeout is
 * killed.
 *
 * It only supervises: it speaks no cluster protocol and holds no client
 * state, so a crash of the launcher leaves a running cluster running.
 */
#include <errno.h>
#include <event2/event.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/clock.h"
#include "common/cluster.h"
#include "common/config.h"
#include "common/jwt.h"
#include "common/log.h"
#include "common/prog.h"
#include "common/xmalloc.h"
#include "launcher/push.h"

#define LAUNCHER_STABLE_MS 10000

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
	struct event *restart_ev;
};

struct launcher {
	struct event_base *base;
	struct config cfg;
	char *bins[3];
	char **child_args;   /* config arguments passed to every child */
	int nargs;
	struct child *kids;
	size_t nkids;
	bool stopping;
	struct event *sigs[3], *stop_timer;
};

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

static void
child_start(struct child *c)
{
	struct launcher *l = c->l;
	char **argv = xcalloc((size_t)l->nargs + 2, sizeof *argv);
	argv[0] = l->bins[c->role];
	for (int i = 0; i < l->nargs; i++)
		argv[i + 1] = l->child_args[i];
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
	c->started = clock_ms();
	log_info("child_started", "role=%s index=%u pid=%d", role_names[c->role], c->index, (int)pid);
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
		if (l->kids[i].pid != 0)
			return false;
	return true;
}

static void
launcher_signal_role(struct launcher *l, enum child_role role, int sig)
{
	for (size_t i = 0; i < l->nkids; i++)
		if (l->kids[i].role == role && l->kids[i].pid != 0)
			kill(l->kids[i].pid, sig);
}

/* Stop in dependency order: a role is signalled when the roles before it
 * are gone. */
static void
launcher_stop_step(struct launcher *l)
{
	for (int r = CHILD_GATEWAY;; r = r == CHILD_GATEWAY ? CHILD_WORKER : CHILD_REGISTER) {
		bool alive = false;
		for (size_t i = 0; i < l->nkids; i++)
			alive |= l->kids[i].role == (enum child_role)r && l->kids[i].pid != 0;
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
launcher_on_sigchld(struct launcher *l)
{
	int status;
	pid_t pid;
	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		for (size_t i = 0; i < l->nkids; i++) {
			struct child *c = &l->kids[i];
			if (c->pid != pid)
				continue;
			c->pid = 0;
			if (WIFSIGNALED(status))
				log_info("child_exited", "role=%s index=%u pid=%d signal=%d",
					role_names[c->role], c->index, (int)pid, WTERMSIG(status));
			else
				log_info("child_exited", "role=%s index=%u pid=%d status=%d",
					role_names[c->role], c->index, (int)pid, WEXITSTATUS(status));
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
			log_info("child_restart_scheduled", "role=%s index=%u delay_ms=%llu",
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
launcher_on_stop_timeout(evutil_socket_t fd, short what, void *arg)
{
	struct launcher *l = arg;
	log_warn("stop_timeout", "killing the children still alive");
	for (size_t i = 0; i < l->nkids; i++)
		if (l->kids[i].pid != 0)
			kill(l->kids[i].pid, SIGKILL);
}

static void
launcher_on_signal(evutil_socket_t sig, short what, void *arg)
{
	struct launcher *l = arg;
	if (sig == SIGCHLD) {
		launcher_on_sigchld(l);
		return;
	}
	if (l->stopping)
		return;
	l->stopping = true;
	log_info("stopping", "signal=%d", (int)sig);
	for (size_t i = 0; i < l->nkids; i++)
		event_del(l->kids[i].restart_ev);
	uint32_t ms = l->cfg.launcher_stop_timeout_ms;
	struct timeval tv = {(time_t)(ms / 1000), (suseconds_t)((ms % 1000) * 1000)};
	event_add(l->stop_timer, &tv);
	if (launcher_all_gone(l))
		event_base_loopbreak(l->base);
	else
		launcher_stop_step(l);
}

static void
usage(FILE *f)
{
	fprintf(f,
		"Usage: gatecast start [-c gatecast.ini] [--set section.key=value]...\n"
		"       gatecast token --uid UID [--ttl SECONDS] [--groups G1,G2] [-c gatecast.ini]\n"
		"       gatecast push <command> [--uid U]... [--group G]... [--client-id C]...\n"
		"                     [--data JSON_OR_TEXT | --data-text TEXT | --data-base64 B64]\n"
		"                     [--exclude C]... [--session JSON] [--id ID]\n"
		"                     [-c gatecast.ini] [--set ...] [--host HOST:PORT]\n"
		"       gatecast push [-c gatecast.ini] [--host HOST:PORT] < request-lines\n"
		"       gatecast --help\n\n"
		"start   run a local cluster in the foreground: one register,\n"
		"        gateway.count gateways and worker.count workers (0 = one per\n"
		"        CPU core); Ctrl-C stops it (clients get close 1001).\n"
		"token   print a client token (HS256 JWT) for UID signed with\n"
		"        auth.secret (or GATECAST_AUTH_SECRET); --ttl defaults to 3600 s,\n"
		"        --groups lists the groups it may join (\"company:7:*\" wildcards).\n"
		"push    send one push-port command, or the JSON request lines on stdin,\n"
		"        to gateway.push_listen (authenticating with push.secret or\n"
		"        GATECAST_PUSH_SECRET) and print the replies; exit 0 = all ok,\n"
		"        1 = some reply not ok, 2 = usage or connection error\n"
		"        (gatecast push --help for details).\n\n"
		"Each program (gatecast-register, gatecast-gateway, gatecast-worker)\n"
		"also runs alone with the same options, for multi-host clusters.\n"
		"Config keys: see gatecast-gateway --help or deploy/gatecast.ini.example.\n");
}

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

static int
launcher_start(int argc, char **argv)
{
	struct launcher l;
	char err[512];
	int *rest = xcalloc((size_t)argc + 1, sizeof *rest), nrest = 0;

	memset(&l, 0, sizeof l);
	if (config_from_args(&l.cfg, argc, argv, 2, rest, &nrest, err, sizeof err) != 0) {
		fprintf(stderr, "gatecast: %s\n", err);
		return 2;
	}
	if (nrest > 0) {
		fprintf(stderr, "gatecast: unexpected argument \"%s\"\n", argv[rest[0]]);
		return 2;
	}
	free(rest);
	int lvl = log_level_parse(l.cfg.log_level);
	log_init("launcher", lvl < 0 ? LOG_INFO : (enum log_level)lvl, l.cfg.log_file);
	prog_warn_insecure(&l.cfg, argc, argv);

	/* Every child must hold the same cluster.secret. When none is set, make
	 * one for this run and hand it down in the environment (never on argv,
	 * which ps shows to every user). */
	if (l.cfg.cluster_secret[0] == '\0') {
		if (launcher_make_secret() != 0) {
			fprintf(stderr, "gatecast: getrandom failed: %s\n", strerror(errno));
			return 1;
		}
		log_info("cluster_secret_generated",
			"detail=\"no cluster.secret set: a random one for this run, passed to the "
			"children in GATECAST_CLUSTER_SECRET\"");
	} else if (cluster_check_secret(l.cfg.cluster_secret, err, sizeof err) < 0) {
		fprintf(stderr, "gatecast: %s\n", err);
		return 2;
	}

	/* Children get exactly our config arguments. */
	l.child_args = argv + 2;
	l.nargs = argc - 2;

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
		l.bins[r] = launcher_find_bin(self, role_bins[r], subdirs[r]);

	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	if (ncpu < 1)
		ncpu = 1;
	unsigned ngw = l.cfg.gateway_count ? l.cfg.gateway_count : (unsigned)ncpu;
	unsigned nwk = l.cfg.worker_count ? l.cfg.worker_count : (unsigned)ncpu;

	signal(SIGPIPE, SIG_IGN);
	l.base = event_base_new();
	l.nkids = 1 + ngw + nwk;
	l.kids = xcalloc(l.nkids, sizeof *l.kids);
	for (size_t i = 0; i < l.nkids; i++) {
		struct child *c = &l.kids[i];
		c->l = &l;
		c->role = i == 0 ? CHILD_REGISTER : i <= ngw ? CHILD_GATEWAY : CHILD_WORKER;
		c->index = i == 0 ? 0 : i <= ngw ? (unsigned)(i - 1) : (unsigned)(i - 1 - ngw);
		c->restart_ev = evtimer_new(l.base, child_on_restart, c);
	}
	int sigs[] = {SIGINT, SIGTERM, SIGCHLD};
	for (int i = 0; i < 3; i++) {
		l.sigs[i] = evsignal_new(l.base, sigs[i], launcher_on_signal, &l);
		event_add(l.sigs[i], NULL);
	}
	l.stop_timer = evtimer_new(l.base, launcher_on_stop_timeout, &l);
	log_info("starting", "gateways=%u workers=%u ws=%s push=%s register=%s", ngw, nwk,
		l.cfg.gateway_ws_listen, l.cfg.gateway_push_listen, l.cfg.register_listen);
	for (size_t i = 0; i < l.nkids; i++)
		child_start(&l.kids[i]);

	event_base_dispatch(l.base);

	for (size_t i = 0; i < l.nkids; i++)
		event_free(l.kids[i].restart_ev);
	for (int i = 0; i < 3; i++)
		event_free(l.sigs[i]);
	event_free(l.stop_timer);
	event_base_free(l.base);
	free(l.kids);
	for (int r = 0; r < 3; r++)
		free(l.bins[r]);
	config_fini(&l.cfg);
	log_info("stopped", NULL);
	return 0;
}

/* `gatecast token`: mints a token the way a backend would. */
static int
launcher_token(int argc, char **argv)
{
	const char *uid = NULL, *groups = NULL;
	long long ttl = 3600;
	char **cfgargs = xcalloc((size_t)argc + 1, sizeof *cfgargs);
	int ncfg = 0;
	cfgargs[ncfg++] = argv[0];
	for (int i = 2; i < argc; i++) {
		if (strcmp(argv[i], "--uid") == 0 && i + 1 < argc)
			uid = argv[++i];
		else if (strcmp(argv[i], "--ttl") == 0 && i + 1 < argc)
			ttl = atoll(argv[++i]);
		else if (strcmp(argv[i], "--groups") == 0 && i + 1 < argc)
			groups = argv[++i];
		else
			cfgargs[ncfg++] = argv[i];
	}
	struct config c;
	char err[512];
	int rc = 2;
	if (config_from_args(&c, ncfg, cfgargs, 1, NULL, NULL, err, sizeof err) != 0) {
		fprintf(stderr, "gatecast token: %s\n", err);
		free(cfgargs);
		return 2;
	}
	if (uid == NULL || uid[0] == '\0' || ttl <= 0 || strlen(c.auth_secret) == 0) {
		fprintf(stderr, "gatecast token: needs --uid, a positive --ttl and auth.secret "
				"(or GATECAST_AUTH_SECRET)\n");
		goto out;
	}
	char *list = groups != NULL ? xstrdup(groups) : NULL, *save = NULL;
	const char **gv = xcalloc(strlen(groups != NULL ? groups : "") / 2 + 2, sizeof *gv);
	size_t ng = 0;
	for (char *g = list ? strtok_r(list, ",", &save) : NULL; g != NULL; g = strtok_r(NULL, ",", &save))
		gv[ng++] = g;
	int64_t now = (int64_t)time(NULL);
	char *tok = jwt_sign(c.auth_secret, uid, now, now + ttl, groups != NULL ? gv : NULL, ng);
	if (tok != NULL) {
		printf("%s\n", tok);
		rc = 0;
	} else {
		fprintf(stderr, "gatecast token: uid and groups must be UTF-8\n");
	}
	free(tok);
	free(gv);
	free(list);
out:
	config_fini(&c);
	free(cfgargs);
	return rc;
}

int
main(int argc, char **argv)
{
	if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
		strcmp(argv[1], "help") == 0) {
		usage(argc < 2 ? stderr : stdout);
		return argc < 2 ? 2 : 0;
	}
	if (strcmp(argv[1], "token") == 0)
		return launcher_token(argc, argv);
	if (strcmp(argv[1], "push") == 0)
		return push_cli_main(argc, argv);
	if (strcmp(argv[1], "start") == 0) {
		for (int i = 2; i < argc; i++)
			if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
				usage(stdout);
				return 0;
			}
		return launcher_start(argc, argv);
	}
	fprintf(stderr, "gatecast: unknown command \"%s\"\n", argv[1]);
	usage(stderr);
	return 2;
}

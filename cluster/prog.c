/*
 * prog — see prog.h.
 */
#include "cluster/prog.h"

#include <errno.h>
#include <event2/event.h>
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <stdbool.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>

#include "common/buf.h"
#include "cluster/cluster.h"
#include "common/log.h"
#include "common/xmalloc.h"

static prog_stop_fn *prog_stop;
static void *prog_stop_arg;

/* SIGHUP: reopen the log file, then re-read the config and take over the
 * keys that may change at run time (config_apply_runtime). A config that
 * does not load changes nothing. */
static void
prog_reload(struct prog *p)
{
	struct config fresh;
	char err[512];
	log_reopen();
	log_info("log_reopened", NULL);
	if (config_from_args(&fresh, p->argc, p->argv, 1, NULL, NULL, err, sizeof err) != 0) {
		char q[600];
		log_warn("config_reload_failed", "error=%s", log_quote(err, q, sizeof q));
		return;
	}
	struct buf changed = BUF_INIT, fixed = BUF_INIT;
	config_apply_runtime(&p->cfg, &fresh, &changed, &fixed);
	log_info("config_reloaded", "changed=%s needs_restart=%s", changed.len ? changed.p : "none",
		fixed.len ? fixed.p : "none");
	buf_fini(&changed);
	buf_fini(&fixed);
	config_fini(&fresh);
}

/* Every PROG_TRIM_MS: hand free heap memory back to the kernel when a lot
 * of it is free. A burst (10,000 logins, a broadcast to everyone) leaves
 * freed messages scattered in the heap; glibc keeps those pages resident,
 * which shows as RSS long after the burst (measured: +452 B per idle
 * connection on a worker, which keeps no per-connection state at all).
 * mallinfo2 and malloc_trim walk free chunks only, and only run when at
 * least PROG_TRIM_MIN is free and a quarter of the heap. */
#define PROG_TRIM_MS 2000
#define PROG_TRIM_MIN (1u << 20)

static void
prog_on_trim(evutil_socket_t fd, short what, void *arg)
{
	struct mallinfo2 mi = mallinfo2();
	if (mi.fordblks >= PROG_TRIM_MIN && mi.fordblks >= mi.uordblks / 4)
		malloc_trim(0);
}

static void
prog_on_signal(evutil_socket_t signo, short what, void *arg)
{
	if (signo == SIGHUP) {
		prog_reload(arg);
		return;
	}
	if (prog_stop != NULL)
		prog_stop(prog_stop_arg, (int)signo);
}

/* The config file named on the command line, or NULL. */
static const char *
prog_config_file(int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		if ((strcmp(argv[i], "-c") == 0 || strcmp(argv[i], "--config") == 0) && i + 1 < argc)
			return argv[i + 1];
		if (strncmp(argv[i], "--config=", 9) == 0)
			return argv[i] + 9;
	}
	return NULL;
}

void
prog_warn_insecure(const struct config *c, int argc, char **argv)
{
	if (c->auth_mode == CONFIG_AUTH_NONE)
		log_warn("auth_disabled", "detail=\"auth.mode = none: any client may claim any uid; "
					  "set auth.secret for token authentication\"");
	const char *file = prog_config_file(argc, argv);
	struct stat st;
	bool secrets = c->auth_secret[0] || c->auth_previous_secret[0] || c->push_secret[0] ||
		c->cluster_secret[0];
	if (file != NULL && secrets && stat(file, &st) == 0 && (st.st_mode & 077) != 0)
		log_warn("config_readable", "file=%s mode=%03o detail=\"the config file may hold secrets "
					    "and is readable by group or others: chmod 600\"",
			file, (unsigned)(st.st_mode & 0777));
}

void
prog_init(struct prog *p, const char *role, const char *usage, int argc, char **argv,
	prog_stop_fn *stop_fn, void *arg)
{
	char err[512];
	int *rest = xcalloc((size_t)argc + 1, sizeof *rest);
	int nrest = 0;

	memset(p, 0, sizeof *p);
	p->role = role;
	p->argc = argc;
	p->argv = argv;
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
			struct config d;
			config_defaults(&d);
			char *keys = config_describe(&d);
			printf("%s\nOptions:\n  -c, --config FILE     read FILE (INI)\n"
			       "  --set section.key=V   override one key (repeatable)\n"
			       "  -h, --help            this text\n\nConfig keys and defaults:\n%s",
				usage, keys);
			free(keys);
			config_fini(&d);
			exit(0);
		}
	}
	if (config_from_args(&p->cfg, argc, argv, 1, rest, &nrest, err, sizeof err) != 0) {
		fprintf(stderr, "%s: %s\n", role, err);
		exit(2);
	}
	if (nrest > 0) {
		fprintf(stderr, "%s: unexpected argument \"%s\" (see --help)\n", role, argv[rest[0]]);
		exit(2);
	}
	free(rest);
	int lvl = log_level_parse(p->cfg.log_level);
	if (log_init(role, lvl < 0 ? LOG_INFO : (enum log_level)lvl, p->cfg.log_file) != 0)
		fprintf(stderr, "%s: cannot open log file %s, logging to stderr\n", role,
			p->cfg.log_file);

	/* A fresh random sender id per start: a restarted process is a new
	 * sender, so receivers never confuse its counter with the old one's. */
	uint64_t self;
	if (getrandom(&self, sizeof self, 0) != (ssize_t)sizeof self) {
		fprintf(stderr, "%s: getrandom failed\n", role);
		exit(1);
	}
	p->cluster = cluster_new(&p->cfg, self, err, sizeof err);
	if (p->cluster == NULL) {
		fprintf(stderr, "%s: %s\n", role, err);
		exit(2);
	}

	prog_warn_insecure(&p->cfg, argc, argv);

	signal(SIGPIPE, SIG_IGN);
	p->base = event_base_new();
	if (p->base == NULL) {
		log_error("event_base_failed", NULL);
		exit(1);
	}
	prog_stop = stop_fn;
	prog_stop_arg = arg;
	int sigs[] = {SIGINT, SIGTERM, SIGHUP};
	for (int i = 0; i < 3; i++) {
		p->sigs[i] = evsignal_new(p->base, sigs[i], prog_on_signal, p);
		event_add(p->sigs[i], NULL);
	}
	p->sigs[3] = event_new(p->base, -1, EV_PERSIST, prog_on_trim, p);
	struct timeval tv = {PROG_TRIM_MS / 1000, (PROG_TRIM_MS % 1000) * 1000};
	event_add(p->sigs[3], &tv);
}

void
prog_fini(struct prog *p)
{
	for (int i = 0; i < 4; i++)
		if (p->sigs[i] != NULL)
			event_free(p->sigs[i]);
	if (p->base != NULL)
		event_base_free(p->base);
	cluster_free(p->cluster);
	config_fini(&p->cfg);
}

char *
prog_inbox_url(const struct config *c, const char *configured, const char *role,
	unsigned long long id)
{
	if (configured != NULL && configured[0] != '\0')
		return xstrdup(configured);
	if (mkdir(c->cluster_run_dir, 0700) != 0 && errno != EEXIST)
		log_warn("run_dir_failed", "dir=%s errno=%d", c->cluster_run_dir, errno);
	struct buf b = BUF_INIT;
	buf_printf(&b, "ipc://%s/%s-%016llx.ipc", c->cluster_run_dir, role, id);
	return buf_steal(&b, NULL);
}

void
prog_set_stop_arg(void *arg)
{
	prog_stop_arg = arg;
}

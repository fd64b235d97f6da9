/*
 * prog — what every gatecast program does before its own work: read the
 * command line and config (-c FILE, --set k=v, --help), start logging, make
 * the process's cluster context (seal and TLS, cluster.h) and the event loop
 * with SIGINT/SIGTERM/SIGHUP handlers.
 */
#ifndef GATECAST_CLUSTER_PROG_H
#define GATECAST_CLUSTER_PROG_H

#include "common/config.h"

struct cluster;
struct event_base;

/* Called on SIGINT/SIGTERM from the loop (not from a signal handler). */
typedef void prog_stop_fn(void *arg, int signo);

struct prog {
	struct config cfg;
	struct event_base *base;
	/* The process's one cluster context (cluster.h): one per process, because
	 * the seal's sender id and counter are shared by all of its sockets. The
	 * program passes it to what joins the cluster (gateway_new, worker_new). */
	struct cluster *cluster;
	const char *role;
	int argc;    /* the command line, kept for SIGHUP's re-read */
	char **argv;
	struct event *sigs[4]; /* SIGINT, SIGTERM, SIGHUP, the heap trim timer */
};

/* Parses argv (extra non-config arguments are an error unless the program
 * takes them: see config_from_args), handles --help (prints usage and every
 * config key, exits 0), exits 2 on a bad command line or config — including
 * a missing or short cluster.secret and unloadable TLS files. Ignores
 * SIGPIPE. stop_fn runs on SIGINT/SIGTERM. SIGHUP reopens the log file and
 * re-reads the config: the keys config_apply_runtime lists as run-time
 * change in p->cfg in place (every module reads them from there at use),
 * the others are logged as needing a restart. p must stay where it is. */
void prog_init(struct prog *p, const char *role, const char *usage, int argc, char **argv,
	prog_stop_fn *stop_fn, void *arg);
void prog_fini(struct prog *p);
/* Logs the warnings every program gives at start: client authentication
 * off, a config file with secrets readable by others. (prog_init calls it;
 * the launcher, which does not use prog_init, calls it itself.) */
void prog_warn_insecure(const struct config *c, int argc, char **argv);
/* Replaces the argument given to the stop callback (for objects created
 * after prog_init). */
void prog_set_stop_arg(void *arg);

/* The default inbox address for this process: the config value when set,
 * else "ipc://<run_dir>/<role>-<id hex>.ipc". Creates run_dir. Returns a
 * malloc'ed string. */
char *prog_inbox_url(const struct config *c, const char *configured, const char *role,
	unsigned long long id);

#endif

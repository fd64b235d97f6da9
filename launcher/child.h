/*
 * child — the processes `gatecast start` runs: one record per register,
 * gateway or worker, how one is started (fork and exec of the program found
 * beside the gatecast binary, in the build tree, or on PATH, with the
 * launcher's own -c/--set arguments), and what happens when one exits
 * (SIGCHLD): a retiring child leaves the table, any other is restarted after
 * an exponential backoff (launcher.restart_backoff_min … _max, reset once it
 * ran CHILD_STABLE_MS).
 *
 * It does not decide when to stop, signal or replace children (supervise.c
 * and reload.c do) and does not read readiness datagrams: it only keeps the
 * `ready` flag that supervise.c sets and clears it when a child exits.
 */
#ifndef GATECAST_LAUNCHER_CHILD_H
#define GATECAST_LAUNCHER_CHILD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct config;
struct event;
struct event_base;

enum child_role { CHILD_REGISTER, CHILD_GATEWAY, CHILD_WORKER };
#define CHILD_ROLES 3

/* A child that ran longer than this before it died starts its backoff over. */
#define CHILD_STABLE_MS 10000

struct child_table;

/* One process slot. The table owns it; others read the fields and set
 * `ready` (supervise.c) and `retiring` (reload.c). */
struct child {
	struct child_table *table;
	enum child_role role;
	unsigned index;
	pid_t pid;           /* 0 = not running */
	uint64_t started;    /* clock_ms() of the last successful fork */
	unsigned fails;      /* restarts in a row without a stable run */
	bool ready;          /* said READY=1 since it was last started */
	bool retiring;       /* replaced or removed by a reload: not restarted */
	struct event *restart_ev;
};

/* Told about c just before the table frees it (a retiring child exited). */
typedef void child_gone_fn(void *arg, struct child *c);

/* Every child of one launcher, in the order they were added. A plain struct
 * the launcher embeds and reads (kids[0..n-1]); change it only through the
 * functions below. */
struct child_table {
	struct event_base *base;       /* borrowed: restart timers */
	const struct config *cfg;      /* borrowed: the backoff is read at each exit */
	char *bins[CHILD_ROLES];       /* the program of each role */
	int argc;                      /* argv[1..argc-1] go to every child */
	char *const *argv;             /* borrowed */
	bool stopping;                 /* set: dead children are not restarted */
	child_gone_fn *gone;           /* may be NULL */
	void *gone_arg;
	struct child **kids;
	size_t n, cap;
};

/* "register", "gateway" or "worker". */
const char *child_role_name(enum child_role role);

/* Sets up an empty table and finds each role's program: beside this
 * executable, then in the meson build tree (../<role>/), then by name on
 * PATH. base, cfg and argv are borrowed and must outlive the table; gone may
 * be NULL. A zeroed table may be passed to child_table_fini. */
void child_table_init(struct child_table *t, struct event_base *base, const struct config *cfg,
	int argc, char *const *argv, child_gone_fn *gone, void *gone_arg);

/* Frees every child record (the processes are not signalled) and the
 * program paths. Call before freeing the event base. */
void child_table_fini(struct child_table *t);

/* Appends a record for a not yet running child; returns it (owned by t). */
struct child *child_add(struct child_table *t, enum child_role role, unsigned index);

/* Drops c from t and frees it, cancelling a pending restart; c must not be
 * running (its exit would go unnoticed). */
void child_remove(struct child_table *t, struct child *c);

/* Forks and execs c's program. On success c->pid is set, `ready` cleared and
 * `started` stamped; a failed fork is logged (fork_failed) and leaves c not
 * running, with no restart scheduled. */
void child_start(struct child *c);

/* The wait before restarting c, which just died at time now (ms): the
 * minimum after a stable run (longer than CHILD_STABLE_MS, which resets
 * c->fails), doubled for each earlier failure in a row, never above max_ms.
 * Counts this failure in c->fails. Pure apart from c. */
uint64_t child_backoff(struct child *c, uint64_t now, uint32_t min_ms, uint32_t max_ms);

/* SIGCHLD: reaps every exited process. For each child of t: clears pid and
 * ready and logs child_exited (info for a routine exit, warn otherwise); a
 * retiring one is handed to t->gone and removed; unless t->stopping, any
 * other gets a restart after child_backoff. Processes not in t are reaped
 * and ignored. */
void child_reap(struct child_table *t);

/* True when no child of t is running. */
bool child_all_gone(const struct child_table *t);

/* Sends sig to every running child of this role. */
void child_signal_role(const struct child_table *t, enum child_role role, int sig);

#endif

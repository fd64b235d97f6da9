/*
 * child_test — the restart backoff (pure), and a child table running real
 * processes (/bin/sh in place of the gatecast programs): an exit schedules a
 * restart, a retiring child leaves the table, a stopping table restarts
 * nothing.
 */
#include "launcher/child.h"

#include <event2/event.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/clock.h"
#include "common/config.h"
#include "common/xmalloc.h"
#include "tests/tap.h"

static void
test_backoff(void)
{
	struct child c;
	memset(&c, 0, sizeof c);
	c.started = 1000;
	tap_eq_int(child_backoff(&c, 1100, 200, 10000), 200, "the first restart waits the minimum");
	tap_eq_int(c.fails, 1, "the failure is counted");
	tap_eq_int(child_backoff(&c, 1100, 200, 10000), 400, "the second failure in a row waits twice as long");
	tap_eq_int(child_backoff(&c, 1100, 200, 10000), 800, "the third waits four times as long");
	uint64_t d = 0;
	for (int i = 0; i < 10; i++)
		d = child_backoff(&c, 1100, 200, 10000);
	tap_eq_int(d, 10000, "the wait stops at the maximum");
	tap_eq_int(c.fails, 13, "every failure is counted, also at the maximum");

	memset(&c, 0, sizeof c);
	c.started = 1000;
	tap_eq_int(child_backoff(&c, 1000, 200, 1000), 200, "a short run waits the minimum");
	tap_eq_int(child_backoff(&c, 1000, 200, 1000), 400, "then twice");
	tap_eq_int(child_backoff(&c, 1000, 200, 1000), 800, "then four times");
	tap_eq_int(child_backoff(&c, 1000, 200, 1000), 1000, "a maximum that is no power of two caps the doubling");

	c.fails = 5;
	tap_eq_int(child_backoff(&c, 1000 + CHILD_STABLE_MS, 200, 10000), 6400,
		"a child that ran exactly CHILD_STABLE_MS still backs off");
	c.fails = 5;
	tap_eq_int(child_backoff(&c, 1001 + CHILD_STABLE_MS, 200, 10000), 200,
		"a child that ran longer than CHILD_STABLE_MS starts over at the minimum");
	tap_eq_int(c.fails, 1, "and its count starts over");

	memset(&c, 0, sizeof c);
	tap_eq_int(child_backoff(&c, 0, 500, 300), 300, "a maximum below the minimum wins");
}

static void
test_role_names(void)
{
	tap_eq_str(child_role_name(CHILD_REGISTER), "register", "the register's role name");
	tap_eq_str(child_role_name(CHILD_GATEWAY), "gateway", "the gateway's role name");
	tap_eq_str(child_role_name(CHILD_WORKER), "worker", "the worker's role name");
}

struct gone_log {
	struct child *last;
	int calls;
	size_t n_at_call; /* the table's size while gone ran */
	struct child_table *t;
};

static void
on_gone(void *arg, struct child *c)
{
	struct gone_log *g = arg;
	g->last = c;
	g->calls++;
	g->n_at_call = g->t->n;
}

/* Waits (at most 10 s) until process pid runs the program named comm: a
 * signal sent between fork and exec may meet the forked copy of the test
 * (under valgrind, a copy whose signal handling is valgrind's), not the
 * program the test means to signal. */
static bool
wait_exec(pid_t pid, const char *comm)
{
	char path[64], got[32];
	snprintf(path, sizeof path, "/proc/%d/comm", (int)pid);
	uint64_t deadline = clock_ms() + 10000;
	while (clock_ms() < deadline) {
		FILE *f = fopen(path, "r");
		bool match = false;
		if (f != NULL) {
			match = fgets(got, sizeof got, f) != NULL && strcspn(got, "\n") == strlen(comm) &&
				strncmp(got, comm, strlen(comm)) == 0;
			fclose(f);
		}
		if (match)
			return true;
		struct timespec ts = {0, 5 * 1000000};
		nanosleep(&ts, NULL);
	}
	return false;
}

/* Reaps until c stopped running, for at most 10 s. */
static bool
reap_until_exited(struct child_table *t, const pid_t *pid)
{
	uint64_t deadline = clock_ms() + 10000;
	while (*pid != 0 && clock_ms() < deadline) {
		child_reap(t);
		if (*pid != 0) {
			struct timespec ts = {0, 5 * 1000000};
			nanosleep(&ts, NULL);
		}
	}
	return *pid == 0;
}

static void
test_real_children(void)
{
	struct event_base *base = event_base_new();
	struct config cfg;
	memset(&cfg, 0, sizeof cfg);
	cfg.launcher_restart_min_ms = 200;
	cfg.launcher_restart_max_ms = 10000;
	/* Each child runs `/bin/sh -c "$script"`. */
	char *argv[] = {"gatecast", "-c", "exit 3", NULL};
	struct child_table t;
	struct gone_log g = {0};
	g.t = &t;
	child_table_init(&t, base, &cfg, 3, argv, on_gone, &g);
	free(t.bins[CHILD_WORKER]);
	t.bins[CHILD_WORKER] = xstrdup("/bin/sh");
	tap_ok(t.bins[CHILD_GATEWAY] != NULL && strstr(t.bins[CHILD_GATEWAY], "gatecast-gateway") != NULL,
		"each role has its program");

	struct child *c = child_add(&t, CHILD_WORKER, 4);
	tap_eq_int(t.n, 1, "an added child is in the table");
	tap_ok(c->pid == 0 && c->index == 4 && c->role == CHILD_WORKER, "an added child is not running yet");
	c->ready = true;
	uint64_t before = clock_ms();
	child_start(c);
	tap_ok(c->pid > 0, "a started child has a pid");
	tap_ok(!c->ready, "a started child is not ready");
	tap_ok(c->started >= before, "a started child is stamped with its start");
	tap_ok(reap_until_exited(&t, &c->pid), "a child that exits is reaped");
	tap_eq_int(t.n, 1, "a child that exits on its own stays in the table");
	tap_eq_int(c->fails, 1, "its failure is counted");
	tap_ok(event_pending(c->restart_ev, EV_TIMEOUT, NULL), "its restart is scheduled");
	tap_eq_int(g.calls, 0, "it is not reported gone");

	/* A retiring child that is told to go leaves the table. */
	argv[2] = "exec sleep 30";
	struct child *r = child_add(&t, CHILD_WORKER, 5);
	child_start(r);
	tap_ok(r->pid > 0, "a second child runs");
	tap_ok(wait_exec(r->pid, "sleep"), "it runs its program");
	r->retiring = true;
	kill(r->pid, SIGTERM);
	uint64_t deadline = clock_ms() + 10000;
	while (g.calls == 0 && clock_ms() < deadline) {
		child_reap(&t);
		struct timespec ts = {0, 5 * 1000000};
		nanosleep(&ts, NULL);
	}
	tap_eq_int(g.calls, 1, "a retiring child that exits is reported gone once");
	tap_ok(g.last == r, "the gone report names it");
	tap_eq_int(g.n_at_call, 2, "it is reported while it is still in the table");
	tap_eq_int(t.n, 1, "then it left the table");
	tap_ok(t.kids[0] == c, "the other child stays");

	/* A stopping table restarts nothing. */
	child_remove(&t, c);
	tap_eq_int(t.n, 0, "a removed child left the table");
	argv[2] = "exit 0";
	t.stopping = true;
	struct child *s = child_add(&t, CHILD_REGISTER, 0);
	free(t.bins[CHILD_REGISTER]);
	t.bins[CHILD_REGISTER] = xstrdup("/bin/sh");
	child_start(s);
	tap_ok(reap_until_exited(&t, &s->pid), "a child of a stopping table is reaped");
	tap_ok(!event_pending(s->restart_ev, EV_TIMEOUT, NULL), "a stopping table schedules no restart");
	tap_eq_int(s->fails, 0, "nor counts a failure");
	tap_ok(child_all_gone(&t), "a table with no running child is all gone");

	child_table_fini(&t);
	tap_eq_int(t.n, 0, "fini empties the table");
	event_base_free(base);
}

int
main(void)
{
	test_backoff();
	test_role_names();
	test_real_children();
	return tap_done();
}

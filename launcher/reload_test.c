/*
 * reload_test — the reload state machine (reload.c) driven by hand: a fake
 * child table stands in for child.c, the ops record what the launcher would
 * have done (spawn, SIGTERM, SIGKILL, remove, progress lines), and the test
 * passes the time to each step, so every deadline is exact.
 */
#include "launcher/reload.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/xmalloc.h"
#include "launcher/child.h"
#include "tests/tap.h"

#define SETTLE_MS 1100   /* register.renew 1 s + 100 ms, as supervise.c passes it */
#define STOP_MS 10000    /* launcher.stop_timeout */

/* The fake child table and the record of what the reload asked for. */
struct fake {
	struct child *kids[32];
	size_t n;
	pid_t next_pid;
	struct buf log;     /* "spawn 0=100 term 10 kill 10 remove 11 " */
	struct buf said;    /* progress lines, one per line */
};

static struct child *
fake_add(struct fake *f, enum child_role role, unsigned index, pid_t pid)
{
	struct child *c = xcalloc(1, sizeof *c);
	c->role = role;
	c->index = index;
	c->pid = pid;
	f->kids[f->n++] = c;
	return c;
}

static void
fake_drop(struct fake *f, struct child *c)
{
	for (size_t i = 0; i < f->n; i++) {
		if (f->kids[i] == c) {
			memmove(&f->kids[i], &f->kids[i + 1], (f->n - i - 1) * sizeof *f->kids);
			f->n--;
			break;
		}
	}
	free(c);
}

static bool
fake_has(const struct fake *f, const struct child *c)
{
	for (size_t i = 0; i < f->n; i++)
		if (f->kids[i] == c)
			return true;
	return false;
}

static struct child *
fake_spawn(void *arg, unsigned index)
{
	struct fake *f = arg;
	struct child *c = fake_add(f, CHILD_WORKER, index, f->next_pid++);
	buf_printf(&f->log, "spawn %u=%d ", index, (int)c->pid);
	return c;
}

static void
fake_signal(void *arg, struct child *c, int sig)
{
	struct fake *f = arg;
	buf_printf(&f->log, "%s %d ", sig == SIGTERM ? "term" : sig == SIGKILL ? "kill" : "sig?",
		(int)c->pid);
}

static void
fake_remove(void *arg, struct child *c)
{
	struct fake *f = arg;
	buf_printf(&f->log, "remove %u ", c->index);
	fake_drop(f, c);
}

static void
fake_say(void *arg, const char *line)
{
	struct fake *f = arg;
	buf_printf(&f->said, "%s\n", line);
}

static const struct reload_ops fake_ops = {
	.spawn = fake_spawn,
	.signal = fake_signal,
	.remove = fake_remove,
	.say = fake_say,
};

/* A register, a gateway and nworkers workers with pids 10, 11, ... */
static void
fake_init(struct fake *f, unsigned nworkers)
{
	memset(f, 0, sizeof *f);
	f->next_pid = 100;
	fake_add(f, CHILD_REGISTER, 0, 2);
	fake_add(f, CHILD_GATEWAY, 0, 3);
	for (unsigned i = 0; i < nworkers; i++)
		fake_add(f, CHILD_WORKER, i, (pid_t)(10 + i));
}

static void
fake_fini(struct fake *f)
{
	while (f->n > 0)
		fake_drop(f, f->kids[f->n - 1]);
	buf_fini(&f->log);
	buf_fini(&f->said);
}

static const char *
fake_log(struct fake *f)
{
	return f->log.p != NULL ? f->log.p : "";
}

static const char *
fake_said(struct fake *f)
{
	return f->said.p != NULL ? f->said.p : "";
}

/* What child_reap does when a retiring child exits: the reload forgets it,
 * the table frees it. */
static void
fake_exit_retiring(struct fake *f, struct reload *rl, struct child *c)
{
	c->pid = 0;
	c->ready = false;
	reload_forget(rl, c);
	fake_drop(f, c);
}

/* What child_reap does when a child that is not retiring dies: it stays in
 * the table with a failure counted and a restart pending. */
static void
fake_crash(struct child *c)
{
	c->pid = 0;
	c->ready = false;
	c->fails++;
}

static struct child *
fake_worker(struct fake *f, pid_t pid)
{
	for (size_t i = 0; i < f->n; i++)
		if (f->kids[i]->role == CHILD_WORKER && f->kids[i]->pid == pid)
			return f->kids[i];
	return NULL;
}

/* Steps at now; true when it is still running. */
static bool
running(struct reload *rl, uint64_t now)
{
	const char *error = "unset";
	bool over = reload_step(rl, now, &error);
	return !over;
}

static void
test_one_at_a_time(void)
{
	struct fake f;
	fake_init(&f, 2);
	struct child *old0 = f.kids[2], *old1 = f.kids[3];
	struct reload *rl = reload_new(&fake_ops, &f, f.kids, f.n, 2, SETTLE_MS, STOP_MS);
	tap_eq_str(fake_log(&f), "", "nothing happens before the first step");

	tap_ok(running(rl, 0), "the first step starts the reload");
	tap_eq_str(fake_log(&f), "spawn 0=100 ", "the first step starts a fresh worker with the first old one's index");
	struct child *fresh0 = fake_worker(&f, 100);
	tap_ok(fresh0 != NULL && fresh0->role == CHILD_WORKER && fresh0->index == 0,
		"the fresh worker is a worker in the table");

	for (uint64_t t = 50; t <= RELOAD_READY_TIMEOUT_MS; t += 50)
		running(rl, t);
	tap_eq_str(fake_log(&f), "spawn 0=100 ", "the old worker is left alone while the fresh one is not ready");
	tap_ok(!old0->retiring, "the old worker is not marked retiring before the fresh one is ready");

	fresh0->ready = true;
	uint64_t t = RELOAD_READY_TIMEOUT_MS;
	running(rl, t);
	running(rl, t + SETTLE_MS - 1);
	tap_eq_str(fake_log(&f), "spawn 0=100 ", "a ready fresh worker is given the settle time before the old one goes");
	running(rl, t + SETTLE_MS);
	tap_eq_str(fake_log(&f), "spawn 0=100 term 10 ", "once settled, the old worker gets SIGTERM");
	tap_ok(old0->retiring, "the old worker is marked retiring, so it is not restarted");

	for (uint64_t k = 1; k <= 20; k++)
		running(rl, t + SETTLE_MS + 50 * k);
	tap_eq_str(fake_log(&f), "spawn 0=100 term 10 ", "the second worker is not touched while the first old one drains");
	tap_eq_str(fake_said(&f), "", "no progress line before the old worker exited");

	t += SETTLE_MS + 2000;
	fake_exit_retiring(&f, rl, old0);
	running(rl, t);
	tap_eq_str(fake_said(&f), "worker 0: replaced by pid 100\n", "the old worker's exit is reported with the fresh pid");
	running(rl, t + 50);
	tap_eq_str(fake_log(&f), "spawn 0=100 term 10 spawn 1=101 ", "then the next old worker is replaced, with its index");

	struct child *fresh1 = fake_worker(&f, 101);
	fresh1->ready = true;
	running(rl, t + 100);
	running(rl, t + 100 + SETTLE_MS);
	fake_exit_retiring(&f, rl, old1);
	running(rl, t + 200 + SETTLE_MS);
	const char *error = "unset";
	tap_ok(reload_step(rl, t + 250 + SETTLE_MS, &error), "the reload is over once every old worker was replaced");
	tap_ok(error == NULL, "a reload that replaced every worker ends without an error");
	tap_eq_str(fake_log(&f), "spawn 0=100 term 10 spawn 1=101 term 11 ", "each old worker got exactly one SIGTERM, and none was killed");
	tap_eq_str(fake_said(&f), "worker 0: replaced by pid 100\nworker 1: replaced by pid 101\n",
		"one progress line per replaced worker");
	tap_eq_int(f.n, 4, "the table holds the register, the gateway and the two fresh workers");
	tap_ok(fake_has(&f, fresh0) && fake_has(&f, fresh1), "the fresh workers stay in the table");
	reload_finish(rl, NULL);
	tap_ok(!fresh0->retiring && !fresh1->retiring, "finishing a good reload leaves the fresh workers serving");
	fake_fini(&f);
}

static void
test_only_workers(void)
{
	struct fake f;
	fake_init(&f, 1);
	struct child *done = fake_add(&f, CHILD_WORKER, 1, 20);
	done->retiring = true; /* left over from an earlier reload that gave up */
	struct reload *rl = reload_new(&fake_ops, &f, f.kids, f.n, 1, SETTLE_MS, STOP_MS);
	running(rl, 0);
	fake_worker(&f, 100)->ready = true;
	running(rl, 50);
	running(rl, 50 + SETTLE_MS);
	fake_exit_retiring(&f, rl, fake_worker(&f, 10));
	running(rl, 100 + SETTLE_MS);
	const char *error = "unset";
	tap_ok(reload_step(rl, 150 + SETTLE_MS, &error) && error == NULL,
		"a worker that is retiring already is not replaced again");
	tap_eq_str(fake_log(&f), "spawn 0=100 term 10 ", "the register and the gateway are neither replaced nor signalled");
	reload_finish(rl, NULL);
	fake_fini(&f);
}

static void
test_never_ready(void)
{
	struct fake f;
	fake_init(&f, 2);
	struct child *old0 = f.kids[2];
	struct reload *rl = reload_new(&fake_ops, &f, f.kids, f.n, 2, SETTLE_MS, STOP_MS);
	running(rl, 1000);
	struct child *fresh = fake_worker(&f, 100);
	tap_ok(running(rl, 1000 + RELOAD_READY_TIMEOUT_MS), "the reload waits for the fresh worker up to the ready timeout");
	const char *error = NULL;
	tap_ok(reload_step(rl, 1001 + RELOAD_READY_TIMEOUT_MS, &error), "the reload gives up just after the ready timeout");
	tap_eq_str(error, "a new worker was not ready in time (see the log)", "it says the new worker was not ready in time");
	reload_finish(rl, error);
	tap_ok(fresh->retiring, "the fresh worker that never became ready is marked retiring");
	tap_eq_str(fake_log(&f), "spawn 0=100 term 100 ", "the fresh worker gets SIGTERM and the old one none");
	tap_ok(!old0->retiring && old0->pid == 10, "the old worker keeps serving");
	tap_ok(fake_worker(&f, 11) != NULL && !fake_worker(&f, 11)->retiring, "the workers after it are left as they were");
	tap_eq_str(fake_said(&f), "", "no progress line for a reload that replaced nothing");
	fake_fini(&f);
}

static void
test_dies_before_ready(void)
{
	struct fake f;
	fake_init(&f, 1);
	struct reload *rl = reload_new(&fake_ops, &f, f.kids, f.n, 1, SETTLE_MS, STOP_MS);
	running(rl, 0);
	struct child *fresh = fake_worker(&f, 100);
	fake_crash(fresh);
	const char *error = NULL;
	tap_ok(reload_step(rl, 50, &error), "the reload gives up as soon as the fresh worker died");
	tap_eq_str(error, "a new worker exited before it was ready (see the log)", "it says the new worker exited before it was ready");
	reload_finish(rl, error);
	tap_eq_str(fake_log(&f), "spawn 0=100 remove 0 ", "a dead fresh worker waiting for its restart is removed, not signalled");
	tap_ok(!fake_has(&f, fresh), "the dead fresh worker left the table");
	tap_ok(fake_worker(&f, 10) != NULL && !fake_worker(&f, 10)->retiring, "the old worker keeps serving");
	fake_fini(&f);

	/* Died and was restarted before the next tick: it is running again,
	 * but its failure still counts. */
	fake_init(&f, 1);
	rl = reload_new(&fake_ops, &f, f.kids, f.n, 1, SETTLE_MS, STOP_MS);
	running(rl, 0);
	fresh = fake_worker(&f, 100);
	fake_crash(fresh);
	fresh->pid = 150;
	fresh->ready = true;
	tap_ok(reload_step(rl, 50, &error) && error != NULL, "a fresh worker restarted after a crash still fails the reload");
	reload_finish(rl, error);
	tap_eq_str(fake_log(&f), "spawn 0=100 term 150 ", "a restarted fresh worker gets SIGTERM at its new pid");
	fake_fini(&f);
}

static void
test_old_does_not_exit(void)
{
	struct fake f;
	fake_init(&f, 1);
	struct reload *rl = reload_new(&fake_ops, &f, f.kids, f.n, 1, SETTLE_MS, STOP_MS);
	running(rl, 0);
	fake_worker(&f, 100)->ready = true;
	running(rl, 50);
	uint64_t term = 50 + SETTLE_MS;
	running(rl, term);
	tap_eq_str(fake_log(&f), "spawn 0=100 term 10 ", "the old worker is told to go");
	running(rl, term + STOP_MS);
	tap_eq_str(fake_log(&f), "spawn 0=100 term 10 ", "it may take launcher.stop_timeout to exit");
	running(rl, term + STOP_MS + 1);
	tap_eq_str(fake_log(&f), "spawn 0=100 term 10 kill 10 ", "after launcher.stop_timeout it gets SIGKILL");
	running(rl, term + STOP_MS + 2);
	running(rl, term + STOP_MS + 60001);
	tap_eq_str(fake_log(&f), "spawn 0=100 term 10 kill 10 ", "SIGKILL is not repeated within the next minute");
	running(rl, term + STOP_MS + 60002);
	tap_eq_str(fake_log(&f), "spawn 0=100 term 10 kill 10 kill 10 ", "a minute later it gets SIGKILL again");
	fake_exit_retiring(&f, rl, fake_worker(&f, 10));
	running(rl, term + STOP_MS + 60050);
	const char *error = "unset";
	tap_ok(reload_step(rl, term + STOP_MS + 60100, &error) && error == NULL, "a killed old worker still counts as replaced");
	reload_finish(rl, NULL);
	fake_fini(&f);
}

static void
test_old_not_running(void)
{
	struct fake f;
	fake_init(&f, 1);
	struct child *old = fake_worker(&f, 10);
	struct reload *rl = reload_new(&fake_ops, &f, f.kids, f.n, 1, SETTLE_MS, STOP_MS);
	running(rl, 0);
	fake_crash(old); /* waiting for its restart */
	fake_worker(&f, 100)->ready = true;
	running(rl, 50);
	running(rl, 50 + SETTLE_MS);
	tap_eq_str(fake_log(&f), "spawn 0=100 remove 0 ", "an old worker that is not running is removed, not signalled");
	running(rl, 100 + SETTLE_MS);
	tap_eq_str(fake_said(&f), "worker 0: replaced by pid 100\n", "and reported replaced");
	reload_finish(rl, NULL);
	fake_fini(&f);
}

static void
test_fewer_workers(void)
{
	struct fake f;
	fake_init(&f, 3);
	struct reload *rl = reload_new(&fake_ops, &f, f.kids, f.n, 1, SETTLE_MS, STOP_MS);
	running(rl, 0);
	fake_worker(&f, 100)->ready = true;
	running(rl, 50);
	running(rl, 50 + SETTLE_MS);
	fake_exit_retiring(&f, rl, fake_worker(&f, 10));
	uint64_t t = 100 + SETTLE_MS;
	running(rl, t);
	running(rl, t + 50);
	running(rl, t + 100);
	tap_eq_str(fake_log(&f), "spawn 0=100 term 10 term 11 ", "with a smaller worker.count an extra old worker goes without a replacement and without a settle wait");
	fake_exit_retiring(&f, rl, fake_worker(&f, 11));
	running(rl, t + 150);
	running(rl, t + 200);
	running(rl, t + 250);
	fake_exit_retiring(&f, rl, fake_worker(&f, 12));
	running(rl, t + 300);
	const char *error = "unset";
	tap_ok(reload_step(rl, t + 350, &error) && error == NULL, "the reload is over once the extra workers are gone");
	tap_eq_str(fake_log(&f), "spawn 0=100 term 10 term 11 term 12 ", "only one fresh worker was started");
	tap_eq_str(fake_said(&f), "worker 0: replaced by pid 100\n"
				   "worker: removed (worker.count is now 1)\n"
				   "worker: removed (worker.count is now 1)\n",
		"each removed worker is reported with the new count");
	tap_eq_int(f.n, 3, "the table holds the register, the gateway and one worker");
	reload_finish(rl, NULL);
	fake_fini(&f);
}

static void
test_more_workers(void)
{
	struct fake f;
	fake_init(&f, 1);
	struct reload *rl = reload_new(&fake_ops, &f, f.kids, f.n, 3, SETTLE_MS, STOP_MS);
	running(rl, 0);
	fake_worker(&f, 100)->ready = true;
	running(rl, 50);
	running(rl, 50 + SETTLE_MS);
	fake_exit_retiring(&f, rl, fake_worker(&f, 10));
	uint64_t t = 100 + SETTLE_MS;
	running(rl, t);
	running(rl, t + 50);
	tap_eq_str(fake_log(&f), "spawn 0=100 term 10 spawn 1=101 ", "with a larger worker.count the extra workers come after the replacements, indexed by count");
	fake_worker(&f, 101)->ready = true;
	running(rl, t + 100);
	running(rl, t + 100 + SETTLE_MS - 1);
	tap_eq_str(fake_said(&f), "worker 0: replaced by pid 100\n", "an extra worker is reported only once settled");
	running(rl, t + 100 + SETTLE_MS);
	tap_eq_str(fake_said(&f), "worker 0: replaced by pid 100\nworker 1: started pid 101\n", "an extra worker is reported started");
	running(rl, t + 150 + SETTLE_MS);
	tap_eq_str(fake_log(&f), "spawn 0=100 term 10 spawn 1=101 spawn 2=102 ", "extra workers start one at a time");
	tap_ok(running(rl, t + 200 + SETTLE_MS), "the reload waits for the last extra worker too");
	fake_worker(&f, 102)->ready = true;
	running(rl, t + 250 + SETTLE_MS);
	running(rl, t + 250 + 2 * SETTLE_MS);
	const char *error = "unset";
	tap_ok(reload_step(rl, t + 300 + 2 * SETTLE_MS, &error) && error == NULL, "the reload is over once the count is reached");
	tap_eq_int(f.n, 5, "the table holds the register, the gateway and three workers");
	reload_finish(rl, NULL);
	fake_fini(&f);
}

static void
test_stopping(void)
{
	struct fake f;
	fake_init(&f, 2);
	struct reload *rl = reload_new(&fake_ops, &f, f.kids, f.n, 2, SETTLE_MS, STOP_MS);
	running(rl, 0);
	struct child *fresh = fake_worker(&f, 100);
	reload_finish(rl, "the cluster is stopping");
	tap_ok(fresh->retiring, "a reload ended from outside retires a fresh worker that is not ready yet");
	tap_eq_str(fake_log(&f), "spawn 0=100 term 100 ", "which gets SIGTERM; no old worker is signalled");
	fake_fini(&f);

	fake_init(&f, 2);
	rl = reload_new(&fake_ops, &f, f.kids, f.n, 2, SETTLE_MS, STOP_MS);
	running(rl, 0);
	fresh = fake_worker(&f, 100);
	fresh->ready = true;
	running(rl, 50);
	reload_finish(rl, "the cluster is stopping");
	tap_ok(!fresh->retiring, "a fresh worker that is ready already is kept when the reload ends from outside");
	tap_eq_str(fake_log(&f), "spawn 0=100 ", "and nothing is signalled");
	fake_fini(&f);

	fake_init(&f, 1);
	rl = reload_new(&fake_ops, &f, f.kids, f.n, 1, SETTLE_MS, STOP_MS);
	reload_finish(rl, "the cluster is stopping");
	tap_eq_str(fake_log(&f), "", "a reload ended before its first step does nothing");
	fake_fini(&f);
}

static void
test_forget_unrelated(void)
{
	struct fake f;
	fake_init(&f, 2);
	struct reload *rl = reload_new(&fake_ops, &f, f.kids, f.n, 2, SETTLE_MS, STOP_MS);
	running(rl, 0);
	reload_forget(rl, fake_worker(&f, 11));
	fake_worker(&f, 100)->ready = true;
	running(rl, 50);
	running(rl, 50 + SETTLE_MS);
	tap_eq_str(fake_log(&f), "spawn 0=100 term 10 ", "forgetting an unrelated child does not disturb the reload");
	reload_finish(rl, "the cluster is stopping");
	tap_eq_str(fake_log(&f), "spawn 0=100 term 10 ", "ending while an old worker drains signals nothing more");
	fake_fini(&f);
}

int
main(void)
{
	test_one_at_a_time();
	test_only_workers();
	test_never_ready();
	test_dies_before_ready();
	test_old_does_not_exit();
	test_old_not_running();
	test_fewer_workers();
	test_more_workers();
	test_stopping();
	test_forget_unrelated();
	return tap_done();
}

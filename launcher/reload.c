/*
 * reload — see reload.h.
 */
#include "launcher/reload.h"

#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "common/log.h"
#include "common/xmalloc.h"
#include "launcher/child.h"

struct reload {
	const struct reload_ops *ops;
	void *arg;
	struct child **olds;
	size_t nolds, next;
	unsigned want;        /* the new worker count */
	unsigned started;     /* fresh workers started so far */
	struct child *fresh, *old;
	enum { RL_NEXT, RL_WAIT_READY, RL_SETTLE, RL_WAIT_EXIT } phase;
	uint64_t deadline;
	uint32_t settle_ms, stop_timeout_ms;
};

struct reload *
reload_new(const struct reload_ops *ops, void *arg, struct child *const *kids, size_t nkids,
	unsigned want, uint32_t settle_ms, uint32_t stop_timeout_ms)
{
	struct reload *rl = xcalloc(1, sizeof *rl);
	rl->ops = ops;
	rl->arg = arg;
	rl->want = want;
	rl->settle_ms = settle_ms;
	rl->stop_timeout_ms = stop_timeout_ms;
	rl->olds = xcalloc(nkids + 1, sizeof *rl->olds);
	for (size_t i = 0; i < nkids; i++)
		if (kids[i]->role == CHILD_WORKER && !kids[i]->retiring)
			rl->olds[rl->nolds++] = kids[i];
	rl->phase = RL_NEXT;
	return rl;
}

void
reload_finish(struct reload *rl, const char *error)
{
	if (rl == NULL)
		return;
	if (error != NULL) {
		log_error("reload_failed", "reason=\"%s\"", error);
		/* A fresh worker that is not ready yet goes away again; the old
		 * one it would have replaced keeps serving. */
		if (rl->fresh != NULL && rl->phase == RL_WAIT_READY) {
			rl->fresh->retiring = true;
			if (rl->fresh->pid != 0)
				rl->ops->signal(rl->arg, rl->fresh, SIGTERM);
			else
				rl->ops->remove(rl->arg, rl->fresh);
		}
	} else {
		log_info("reload_done", "workers=%u", rl->started);
	}
	free(rl->olds);
	free(rl);
}

void
reload_forget(struct reload *rl, const struct child *c)
{
	if (rl == NULL)
		return;
	if (rl->old == c)
		rl->old = NULL;
	if (rl->fresh == c)
		rl->fresh = NULL;
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
	rl->ops->say(rl->arg, line);
}

bool
reload_step(struct reload *rl, uint64_t now, const char **error)
{
	*error = NULL;
	switch (rl->phase) {
	case RL_NEXT: {
		bool replace = rl->next < rl->nolds;
		if (!replace && rl->started >= rl->want)
			return true;
		rl->old = replace ? rl->olds[rl->next++] : NULL;
		rl->fresh = NULL;
		if (rl->started < rl->want) {
			rl->fresh = rl->ops->spawn(rl->arg, rl->old ? rl->old->index : rl->started);
			rl->started++;
			rl->phase = RL_WAIT_READY;
			rl->deadline = now + RELOAD_READY_TIMEOUT_MS;
		} else {
			rl->phase = RL_SETTLE; /* fewer workers now: only retire */
			rl->deadline = now;
		}
		return false;
	}
	case RL_WAIT_READY:
		if (rl->fresh == NULL || rl->fresh->fails > 0) {
			*error = "a new worker exited before it was ready (see the log)";
			return true;
		}
		if (now > rl->deadline) {
			*error = "a new worker was not ready in time (see the log)";
			return true;
		}
		if (rl->fresh->ready) {
			/* Members learn of it at their next renew. */
			rl->phase = RL_SETTLE;
			rl->deadline = now + rl->settle_ms;
		}
		return false;
	case RL_SETTLE:
		if (now < rl->deadline)
			return false;
		if (rl->old == NULL) {
			reload_say(rl, "worker %u: started pid %d", rl->fresh->index, (int)rl->fresh->pid);
			rl->phase = RL_NEXT;
			return false;
		}
		rl->old->retiring = true;
		if (rl->old->pid != 0)
			rl->ops->signal(rl->arg, rl->old, SIGTERM);
		else {
			rl->ops->remove(rl->arg, rl->old);
			rl->old = NULL;
		}
		rl->phase = RL_WAIT_EXIT;
		rl->deadline = now + rl->stop_timeout_ms;
		return false;
	case RL_WAIT_EXIT:
		if (rl->old != NULL) {
			if (now > rl->deadline && rl->old->pid != 0) {
				log_warn("reload_kill", "child_pid=%d detail=\"the old worker did not exit in "
							   "launcher.stop_timeout\"", (int)rl->old->pid);
				rl->ops->signal(rl->arg, rl->old, SIGKILL);
				rl->deadline = now + 60000;
			}
			return false;
		}
		if (rl->fresh != NULL)
			reload_say(rl, "worker %u: replaced by pid %d", rl->fresh->index, (int)rl->fresh->pid);
		else
			reload_say(rl, "worker: removed (worker.count is now %u)", rl->want);
		rl->phase = RL_NEXT;
		return false;
	}
	return false;
}

/*
 * reload — the rolling replacement of the workers that `gatecast reload`
 * starts, as a state machine the launcher advances on a tick.
 *
 * The workers to replace are taken in table order. For each: start a fresh
 * one with the same index (unless the new worker.count is smaller), wait
 * until it is ready and one renew period (+100 ms) has passed so every
 * member's view holds it, then SIGTERM the old one and wait until it exited
 * (it drains first; SIGKILL after launcher.stop_timeout). Extra workers for
 * a larger count come last, each started and settled the same way. It gives
 * up when a fresh worker dies before it is ready or is not ready within
 * RELOAD_READY_TIMEOUT_MS; the fresh worker then goes again and the old one
 * keeps serving.
 *
 * It does not fork, signal, free children, read the clock or arm timers:
 * every effect goes through struct reload_ops, and the caller passes the
 * time to each step, so reload_test.c drives it with a fake child table.
 * Re-reading the config, the SIGHUP to the register and gateways, and the
 * rule that only one reload runs at a time are the launcher's
 * (supervise.c).
 */
#ifndef GATECAST_LAUNCHER_RELOAD_H
#define GATECAST_LAUNCHER_RELOAD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct child;

#define RELOAD_READY_TIMEOUT_MS 15000   /* a new worker must be ready by then */
#define RELOAD_TICK_MS 50               /* how often the launcher calls reload_step */

/* Adds a not yet ready worker with this index to the child table, starts
 * it and returns it (owned by the table; its pid is 0 when the start
 * failed). */
typedef struct child *reload_spawn_fn(void *arg, unsigned index);
/* Sends sig to c, which is running. */
typedef void reload_signal_fn(void *arg, struct child *c, int sig);
/* Drops c, which is not running, from the child table and frees it. */
typedef void reload_remove_fn(void *arg, struct child *c);
/* One progress line for whoever asked for the reload (borrowed). */
typedef void reload_say_fn(void *arg, const char *line);

struct reload_ops {
	reload_spawn_fn *spawn;
	reload_signal_fn *signal;
	reload_remove_fn *remove;
	reload_say_fn *say;
};

struct reload;

/* A reload of the workers among kids[0..nkids-1] (those with role
 * CHILD_WORKER that are not retiring already, in that order) to a count of
 * want. settle_ms is how long a ready fresh worker is given before the old
 * one is told to go (the register's renew + 100 ms); stop_timeout_ms how
 * long an old one may take to exit before it is killed. ops and arg are
 * borrowed and must outlive the reload; the kids array is copied, the
 * children stay the table's. Nothing happens until the first reload_step. */
struct reload *reload_new(const struct reload_ops *ops, void *arg, struct child *const *kids,
	size_t nkids, unsigned want, uint32_t settle_ms, uint32_t stop_timeout_ms);

/* Advances the reload to time now (ms on a monotone clock). Returns false
 * while it goes on; true once it is over, with *error NULL when every worker
 * was replaced, or a static string saying why it gave up. After true, call
 * reload_finish with that error. */
bool reload_step(struct reload *rl, uint64_t now, const char **error);

/* A child is about to leave the table (a retiring one exited): the reload
 * stops pointing at it; that is how an old worker's exit is noticed. rl may
 * be NULL. */
void reload_forget(struct reload *rl, const struct child *c);

/* Ends the reload and frees rl (NULL is accepted). With an error (from
 * reload_step, or the caller's own, such as the cluster stopping) a fresh
 * worker that is not ready yet is marked retiring and sent SIGTERM (or
 * removed when not running); the old one it would have replaced keeps
 * serving. Logs reload_done or reload_failed. */
void reload_finish(struct reload *rl, const char *error);

#endif

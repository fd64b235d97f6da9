/*
 * app — the business logic behind a worker: what to do with a client's
 * connect, message and close. Selected by worker.app.
 *
 *   builtin  the built-in browser protocol (login, logout, join, leave,
 *            ping); everything else is answered with an unknown_type error
 *   echo     every message goes back to its sender through the full path
 *            (gateway → worker → gateway); for conformance testing
 *
 * A later C plugin API (GatewayWorker's Events.php in C) and webhooks plug in
 * here with the same shape.
 */
#ifndef GATECAST_WORKER_APP_H
#define GATECAST_WORKER_APP_H

#include "proto/msg.h"

struct worker;

struct app {
	const char *name;
	/* ev is borrowed for the call. */
	void (*on_event)(struct worker *w, const struct proto_event *ev);
};

extern const struct app app_builtin;
extern const struct app app_echo;

/* The app called name, or NULL. */
const struct app *app_find(const char *name);

#endif

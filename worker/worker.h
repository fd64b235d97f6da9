/*
 * worker — the business-logic process. Stateless: it keeps only requests in
 * flight. It receives client events and push requests from gateways,
 * decides, and orders gateways about (PROTO_OP).
 *
 * Push requests are carried out here for every app: the worker sends one OP
 * to each gateway concerned (one gateway for a client id, all for uids,
 * groups and queries), gathers the RESULTs, and sends one REPLY to the
 * gateway that asked — when all answered or worker.query_timeout passed
 * ("partial"). Client events go to the app (app.h).
 */
#ifndef GATECAST_WORKER_WORKER_H
#define GATECAST_WORKER_WORKER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proto/msg.h"

struct cluster;
struct config;
struct event_base;
struct worker;

/* Joins the cluster as a worker: listens on its inbox, starts announcing.
 * base, c and cl (the process's cluster context, prog.h) are borrowed for
 * the worker's life. Returns NULL after logging why. */
struct worker *worker_new(struct event_base *base, const struct config *c, struct cluster *cl);
/* SIGTERM: drain. Leaves the register at once (so gateways stop routing to
 * us within one renew period) but keeps answering what reaches us until
 * that has passed, nothing arrived for a moment and no request is in
 * flight; then the loop exits. Bounded by register.lease +
 * worker.query_timeout + 1 s. A second call exits at once. */
void worker_stop(struct worker *w);
void worker_free(struct worker *w);

/* For apps: orders gateway `gateway` to run cmd, wanting no result. cmd is
 * borrowed. Returns 0, -ENOENT when the gateway is not live, -ENOBUFS when
 * its queue is full. */
int worker_order(struct worker *w, uint64_t gateway, const struct proto_cmd *cmd);
/* For apps: sends data as a text (or binary) frame to one client. */
int worker_send_to_client(struct worker *w, uint64_t gateway, struct pstr client_id,
	const void *data, size_t len, bool binary);
const struct config *worker_config(const struct worker *w);

#endif

/*
 * gateway_metrics — what a gateway reports about itself, rendered from a
 * value struct of figures the wiring (gateway.c) fills in: GET /metrics on
 * the HTTP port (Prometheus text format 0.0.4) and the stats `gatecast
 * status` shows (member_set_stats).
 *
 * Pure: it reads only the figures it is given. Deliberately not here:
 * gathering them (gateway.c), serving HTTP (push_http.c) and readiness
 * (gateway.c, which knows when the gateway is stopping).
 */
#ifndef GATECAST_GATEWAY_GATEWAY_METRICS_H
#define GATECAST_GATEWAY_GATEWAY_METRICS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "gateway/exec.h"
#include "gateway/login.h"
#include "gateway/ws_server.h"
#include "proto/msg.h"
#include "push/push_port.h"

struct buf;
struct proto_stats;

/* One gateway's figures at one moment. Counters only grow for the
 * process's life; gauges are the current value. */
struct gateway_figures {
	size_t connections;              /* open + closing WebSocket connections */
	struct ws_stats ws;              /* the WebSocket server's counters */
	struct push_port_stats push;     /* the push port's and HTTP API's */
	size_t pending_requests;         /* push commands waiting for an answer */
	struct exec_stats exec;
	struct login_stats login;        /* zero unless auth.mode = token */
	uint64_t refused_origin, refused_ip, rate_limited, closed_rate_limit;
	uint64_t presence_sent, presence_dropped; /* watched groups' changes */
	uint64_t ops_expired;            /* OPs that arrived after their expiry */
	uint64_t push_commands[CMD__COUNT]; /* handed to a worker, by type */
	size_t uids, groups;             /* distinct uids, non-empty groups */
	size_t workers_live, gateways_live; /* others in the view (this one not) */
	size_t queued_link;              /* batches in the links to workers */
	size_t queued_no_worker;         /* messages waiting for a worker (route.h) */
	size_t queued_joining;           /* results for a worker not in the view yet */
	bool draining;                   /* stopping */
};

/* Appends f (borrowed for the call) to out in the Prometheus text format
 * 0.0.4. No secret or client data is in the figures, so none reaches out. */
void gateway_metrics_render(const struct gateway_figures *f, struct buf *out);
/* Fills the counts of st that `gatecast status` shows for a gateway
 * (connections, uids, groups, messages in and out, pushes, draining) from f
 * (borrowed); the rest of st is the caller's. */
void gateway_metrics_stats(const struct gateway_figures *f, struct proto_stats *st);

#endif

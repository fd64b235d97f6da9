/*
 * gateway_int — what gateway.c and gateway_metrics.c share; included by
 * those two files only. gateway.c is the wiring and owns struct gateway: it
 * creates, updates and frees every field. gateway_metrics.c only reads it,
 * to report on the gateway: the HTTP port's GET /metrics and the stats that
 * `gatecast status` shows.
 */
#ifndef GATECAST_GATEWAY_GATEWAY_INT_H
#define GATECAST_GATEWAY_GATEWAY_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"
#include "common/ring.h"
#include "gateway/ws.h"
#include "proto/msg.h"
#include "proto/strvec.h"

struct config;
struct conn_index;
struct event;
struct event_base;
struct exec_ctx;
struct frame;
struct guard;
struct inbox;
struct login;
struct member;
struct peers;
struct presence_watch;
struct push_port;
struct route;
struct ws_server;

struct gateway {
	struct event_base *base;
	const struct config *cfg;
	uint64_t id;
	char *inbox_url;
	struct inbox *inbox;
	struct member *member;
	struct peers *workers;
	struct ws_server *ws;
	struct ws_ops ws_ops;               /* gw_ws_ops, and on_post with the demo */
	struct push_port *push;
	struct conn_index *ix;
	struct exec_ctx *exec;
	bool token_mode; /* auth.mode = token (login is used only then) */
	uint64_t next_seq;
	struct route *route;   /* to the workers, and the queue while there is none */
	struct event *sweep_ev;
	struct strvec scratch;
	struct buf enc;
	bool stopping;
	uint64_t stop_deadline;
	struct frame *err_no_worker, *err_overloaded, *err_rate_limited;
	struct guard *guard;
	struct login *login; /* auth.mode = token */
	uint64_t refused_origin, refused_ip, rate_limited;
	uint64_t closed_rate_limit;
	uint64_t push_commands[CMD__COUNT]; /* submitted to the cluster, by type */
	size_t gateways_live;               /* other gateways in the member view */
	uint64_t ops_expired;               /* OPs that arrived after their expiry */
	bool demo;                          /* demo.enabled = on */
	struct presence_watch *watch;       /* gateway.presence_groups */
	uint64_t presence_sent, presence_dropped;
	uint64_t *peer_gateways;            /* the other gateways in the last view, sorted */
	size_t npeer_gateways;
};

/* ---- gateway_metrics.c ---------------------------------------------------- */

/* GET /metrics on the HTTP port (push_metrics_fn; arg is the gateway,
 * borrowed): appends this gateway's metrics to out in the Prometheus text
 * format 0.0.4. */
void gateway_metrics_render(void *arg, struct buf *out);
/* What `gatecast status` shows for this gateway (member_stats_fn; arg is
 * the gateway, borrowed): fills every field of st. */
void gateway_metrics_stats(void *arg, struct proto_stats *st);

#endif

/*
 * gateway_metrics — see gateway_metrics.h.
 */
#include "gateway/gateway_metrics.h"

#include <stdio.h>

#include "common/buf.h"
#include "proto/msg.h"

/* ---- helpers ---------------------------------------------------------------- */

static void
gw_metric(struct buf *out, const char *name, const char *type, const char *help, uint64_t v)
{
	buf_printf(out, "# HELP %s %s\n# TYPE %s %s\n%s %llu\n", name, help, name, type, name,
		(unsigned long long)v);
}

/* µs as seconds in plain decimal, exact and without trailing zeros
 * ("0.00005", "2.5", "1"): Prometheus label values and sums. */
static void
gw_seconds(struct buf *out, uint64_t us)
{
	char frac[8];
	int n = snprintf(frac, sizeof frac, "%06llu", (unsigned long long)(us % 1000000u));
	while (n > 0 && frac[n - 1] == '0')
		frac[--n] = '\0';
	buf_printf(out, "%llu%s%s", (unsigned long long)(us / 1000000u), n > 0 ? "." : "", frac);
}

/* The histogram's buckets are cumulative (le = "less or equal"); ws keeps
 * them per interval. */
static void
gw_push_write_histogram(struct buf *out, const struct ws_stats *ws)
{
	static const char name[] = "gatecast_push_write_seconds";
	uint64_t cum = 0;
	buf_printf(out, "# HELP %s Time from a push reaching a gateway (push port or HTTP API) to "
			"its frame being written to a connection, once per connection written.\n"
			"# TYPE %s histogram\n", name, name);
	for (int i = 0; i < WS_PUSH_WRITE_BUCKETS; i++) {
		cum += ws->push_write[i];
		buf_printf(out, "%s_bucket{le=\"", name);
		gw_seconds(out, ws_push_write_bounds_us[i]);
		buf_printf(out, "\"} %llu\n", (unsigned long long)cum);
	}
	cum += ws->push_write[WS_PUSH_WRITE_BUCKETS];
	buf_printf(out, "%s_bucket{le=\"+Inf\"} %llu\n%s_sum ", name, (unsigned long long)cum, name);
	gw_seconds(out, ws->push_write_sum_us);
	buf_printf(out, "\n%s_count %llu\n", name, (unsigned long long)ws->push_write_count);
}

/* ---- `gatecast status` ------------------------------------------------------ */

void
gateway_metrics_stats(const struct gateway_figures *f, struct proto_stats *st)
{
	st->connections = f->connections;
	st->uids = f->uids;
	st->groups = f->groups;
	st->msgs_in = f->ws.messages_in;
	st->msgs_out = f->ws.frames_out;
	st->pushes = f->push.requests;
	st->draining = f->draining;
}

/* ---- /metrics --------------------------------------------------------------- */

/* Prometheus text format 0.0.4. Counters only grow for this process's life;
 * no secret or client data ever appears here. */
void
gateway_metrics_render(const struct gateway_figures *f, struct buf *out)
{
	const struct ws_stats *ws = &f->ws;
	const struct push_port_stats *ps = &f->push;
	gw_metric(out, "gatecast_connections", "gauge", "Open WebSocket connections.",
		f->connections);
	gw_metric(out, "gatecast_connections_accepted_total", "counter",
		"WebSocket connections accepted.", ws->accepted);
	gw_metric(out, "gatecast_logins_total", "counter",
		"Connections bound to a uid (token login, login handled by the worker, bind_uid).",
		f->exec.logins);
	gw_metric(out, "gatecast_messages_in_total", "counter",
		"WebSocket messages received from clients.", ws->messages_in);
	gw_metric(out, "gatecast_bytes_in_total", "counter",
		"Bytes read from WebSocket clients (upgrade requests included).", ws->bytes_in);
	gw_metric(out, "gatecast_frames_out_total", "counter", "WebSocket frames sent to clients.",
		ws->frames_out);
	gw_metric(out, "gatecast_bytes_out_total", "counter", "Bytes sent to WebSocket clients.",
		ws->bytes_out);
	gw_push_write_histogram(out, ws);
	gw_metric(out, "gatecast_http_requests_total", "counter",
		"Plain HTTP requests answered on the WebSocket port (/gatecast.js, /demo/, 404s).",
		ws->plain_requests);
	buf_printf(out, "# HELP gatecast_presence_changes_total Changes of watched groups "
			"(gateway.presence_groups) reported to their worker, or dropped (no worker, "
			"queue full).\n# TYPE gatecast_presence_changes_total counter\n"
			"gatecast_presence_changes_total{result=\"sent\"} %llu\n"
			"gatecast_presence_changes_total{result=\"dropped\"} %llu\n",
		(unsigned long long)f->presence_sent, (unsigned long long)f->presence_dropped);
	gw_metric(out, "gatecast_ops_expired_total", "counter",
		"Orders from workers dropped because they arrived after the worker stopped "
		"waiting for them (a link that was cut and healed).", f->ops_expired);
	buf_printf(out, "# HELP gatecast_closes_total WebSocket connections closed by the gateway, "
			"by reason.\n# TYPE gatecast_closes_total counter\n"
			"gatecast_closes_total{reason=\"idle\"} %llu\n"
			"gatecast_closes_total{reason=\"slow_consumer\"} %llu\n"
			"gatecast_closes_total{reason=\"protocol\"} %llu\n"
			"gatecast_closes_total{reason=\"too_big\"} %llu\n"
			"gatecast_closes_total{reason=\"rate_limit\"} %llu\n"
			"gatecast_closes_total{reason=\"too_many_tabs\"} %llu\n"
			"gatecast_closes_total{reason=\"unauthorized\"} %llu\n",
		(unsigned long long)ws->closed_idle, (unsigned long long)ws->closed_slow,
		(unsigned long long)ws->closed_protocol, (unsigned long long)ws->closed_too_big,
		(unsigned long long)f->closed_rate_limit, (unsigned long long)f->exec.closed_too_many,
		(unsigned long long)f->login.closed_unauthorized);
	gw_metric(out, "gatecast_push_requests_total", "counter",
		"Push commands received (push port and HTTP API).", ps->requests);
	buf_printf(out, "# HELP gatecast_push_commands_total Push commands handed to a worker, by "
			"command (not those refused by the gateway at once).\n"
			"# TYPE gatecast_push_commands_total counter\n");
	for (int t = 1; t < CMD__COUNT; t++)
		buf_printf(out, "gatecast_push_commands_total{command=\"%s\"} %llu\n",
			cmd_name((enum cmd_type)t), (unsigned long long)f->push_commands[t]);
	static const char *const outcomes[PUSH_RESULT__COUNT] = {"ok", "partial", "error", "timeout"};
	buf_printf(out, "# HELP gatecast_push_results_total Push commands answered, by command and "
			"result (partial: some gateway did not answer in time; only series seen "
			"so far are listed).\n# TYPE gatecast_push_results_total counter\n");
	for (int t = 1; t < CMD__COUNT; t++)
		for (int k = 0; k < PUSH_RESULT__COUNT; k++)
			if (ps->results[t][k] != 0)
				buf_printf(out, "gatecast_push_results_total{command=\"%s\",result=\"%s\"} %llu\n",
					cmd_name((enum cmd_type)t), outcomes[k],
					(unsigned long long)ps->results[t][k]);
	gw_metric(out, "gatecast_push_errors_total", "counter",
		"Push commands answered with an error.", ps->errors);
	gw_metric(out, "gatecast_push_timeouts_total", "counter",
		"Push commands answered with timeout.", ps->timeouts);
	gw_metric(out, "gatecast_uids", "gauge", "Distinct uids bound on this gateway.",
		f->uids);
	gw_metric(out, "gatecast_groups", "gauge", "Non-empty groups on this gateway.",
		f->groups);
	gw_metric(out, "gatecast_workers_live", "gauge", "Workers this gateway can reach.",
		f->workers_live);
	gw_metric(out, "gatecast_gateways_live", "gauge",
		"Other gateways in this gateway's cluster view (this one not counted).",
		f->gateways_live);
	gw_metric(out, "gatecast_pending_requests", "gauge",
		"Push commands waiting for an answer.", f->pending_requests);
	buf_printf(out, "# HELP gatecast_worker_queued_messages Messages to workers queued in this "
			"gateway, by queue: link = batches (the messages of one loop turn) in the links "
			"to live workers, beyond the transport's own buffer; no_worker = events and requests waiting for a live worker, joining = "
			"results for a worker not in the view yet.\n"
			"# TYPE gatecast_worker_queued_messages gauge\n"
			"gatecast_worker_queued_messages{queue=\"link\"} %llu\n"
			"gatecast_worker_queued_messages{queue=\"no_worker\"} %llu\n"
			"gatecast_worker_queued_messages{queue=\"joining\"} %llu\n",
		(unsigned long long)f->queued_link, (unsigned long long)f->queued_no_worker,
		(unsigned long long)f->queued_joining);
	buf_printf(out, "# HELP gatecast_refused_total WebSocket upgrades and messages refused, by "
			"reason.\n# TYPE gatecast_refused_total counter\n"
			"gatecast_refused_total{reason=\"origin\"} %llu\n"
			"gatecast_refused_total{reason=\"token\"} %llu\n"
			"gatecast_refused_total{reason=\"ip\"} %llu\n"
			"gatecast_refused_total{reason=\"rate_limited\"} %llu\n",
		(unsigned long long)f->refused_origin, (unsigned long long)f->login.refused_token,
		(unsigned long long)f->refused_ip, (unsigned long long)f->rate_limited);
}

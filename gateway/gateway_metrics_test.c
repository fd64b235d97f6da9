/*
 * gateway_metrics_test — a few figures in, the Prometheus lines out, and
 * the stats `gatecast status` shows.
 */
#include "gateway/gateway_metrics.h"

#include <string.h>

#include "common/buf.h"
#include "tests/tap.h"

/* Is line (a whole line, without its "\n") in out? */
static bool
has_line(const struct buf *out, const char *line)
{
	size_t n = strlen(line);
	const char *p = out->p, *end = out->p + out->len;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t len = nl != NULL ? (size_t)(nl - p) : (size_t)(end - p);
		if (len == n && memcmp(p, line, n) == 0)
			return true;
		p += len + 1;
	}
	return false;
}

static bool
contains(const struct buf *out, const char *s)
{
	return memmem(out->p, out->len, s, strlen(s)) != NULL;
}

int
main(void)
{
	struct gateway_figures f;
	memset(&f, 0, sizeof f);
	f.connections = 3;
	f.ws.accepted = 7;
	f.ws.messages_in = 11;
	f.ws.frames_out = 13;
	f.exec.logins = 5;
	f.exec.closed_too_many = 2;
	f.login.refused_token = 4;
	f.login.closed_unauthorized = 1;
	f.refused_origin = 9;
	f.presence_dropped = 6;
	f.push_commands[CMD_SEND_TO_UID] = 8;
	f.push.requests = 10;
	f.push.results[CMD_SEND_TO_UID][PUSH_PARTIAL] = 1;
	f.queued_no_worker = 12;
	f.workers_live = 2;
	/* Latencies: 2 in the first bucket, 1 in the second, 1 past the last. */
	f.ws.push_write[0] = 2;
	f.ws.push_write[1] = 1;
	f.ws.push_write[WS_PUSH_WRITE_BUCKETS] = 1;
	f.ws.push_write_count = 4;
	f.ws.push_write_sum_us = 2500050;

	struct buf out = BUF_INIT;
	gateway_metrics_render(&f, &out);

	tap_ok(has_line(&out, "# TYPE gatecast_connections gauge"), "a gauge says its type");
	tap_ok(has_line(&out, "gatecast_connections 3"), "a gauge shows its figure");
	tap_ok(has_line(&out, "# TYPE gatecast_connections_accepted_total counter") &&
		       has_line(&out, "gatecast_connections_accepted_total 7"),
		"a counter says its type and shows its figure");
	tap_ok(has_line(&out, "gatecast_logins_total 5"), "logins come from exec's stats");
	tap_ok(has_line(&out, "gatecast_closes_total{reason=\"too_many_tabs\"} 2") &&
		       has_line(&out, "gatecast_closes_total{reason=\"unauthorized\"} 1"),
		"closes are labelled by reason, from exec's and login's stats");
	tap_ok(has_line(&out, "gatecast_refused_total{reason=\"origin\"} 9") &&
		       has_line(&out, "gatecast_refused_total{reason=\"token\"} 4") &&
		       has_line(&out, "gatecast_refused_total{reason=\"ip\"} 0"),
		"refusals are labelled by reason, zeros included");
	tap_ok(has_line(&out, "gatecast_presence_changes_total{result=\"dropped\"} 6"),
		"dropped presence changes are shown");
	tap_ok(has_line(&out, "gatecast_push_commands_total{command=\"send_to_uid\"} 8") &&
		       has_line(&out, "gatecast_push_commands_total{command=\"send_to_all\"} 0"),
		"every command has a series of push commands");
	tap_ok(has_line(&out, "gatecast_push_results_total{command=\"send_to_uid\",result=\"partial\"} 1"),
		"a result seen is listed by command and result");
	tap_ok(!contains(&out, "result=\"ok\"}"), "results never seen are not listed");
	tap_ok(has_line(&out, "gatecast_worker_queued_messages{queue=\"no_worker\"} 12"),
		"the wait queue's length is a labelled gauge");
	tap_ok(has_line(&out, "gatecast_workers_live 2"), "live workers are shown");

	tap_ok(has_line(&out, "gatecast_push_write_seconds_bucket{le=\"0.00005\"} 2"),
		"a bucket's bound is in seconds, in plain decimal");
	tap_ok(has_line(&out, "gatecast_push_write_seconds_bucket{le=\"0.0001\"} 3"),
		"histogram buckets are cumulative");
	tap_ok(has_line(&out, "gatecast_push_write_seconds_bucket{le=\"+Inf\"} 4"),
		"the +Inf bucket holds every latency");
	tap_ok(has_line(&out, "gatecast_push_write_seconds_count 4"), "the histogram counts");
	tap_ok(has_line(&out, "gatecast_push_write_seconds_sum 2.50005"),
		"the sum is in seconds, exact, without trailing zeros");

	struct proto_stats st;
	memset(&st, 0, sizeof st);
	f.draining = true;
	gateway_metrics_stats(&f, &st);
	tap_ok(st.connections == 3 && st.msgs_in == 11 && st.msgs_out == 13 && st.pushes == 10,
		"status shows connections, messages and pushes from the figures");
	tap_ok(st.draining, "status shows a stopping gateway as draining");
	buf_fini(&out);
	return tap_done();
}

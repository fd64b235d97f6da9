/*
 * status — see status.h.
 */
#include "launcher/status.h"

#include <nng/nng.h>
#include <nng/protocol/reqrep0/req.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "common/buf.h"
#include "common/clock.h"
#include "cluster/cluster.h"
#include "common/config.h"
#include "common/xmalloc.h"
#include "proto/msg.h"

#define STATUS_TIMEOUT_MS 2000

/* One row of the table. */
struct status_row {
	const char *role;
	const struct proto_stats *st; /* NULL: known to the launcher only */
	const struct status_child *kid;
};

static void
status_human_bytes(char *out, size_t n, uint64_t v)
{
	if (v >= 10ull << 30)
		snprintf(out, n, "%lluG", (unsigned long long)(v >> 30));
	else if (v >= 10ull << 20)
		snprintf(out, n, "%lluM", (unsigned long long)(v >> 20));
	else if (v >= 1ull << 20)
		snprintf(out, n, "%.1fM", (double)v / (1 << 20));
	else
		snprintf(out, n, "%lluK", (unsigned long long)(v >> 10));
}

static void
status_uptime(char *out, size_t n, uint64_t started, uint64_t now)
{
	uint64_t s = started != 0 && now > started ? (now - started) / 1000 : 0;
	if (s >= 86400)
		snprintf(out, n, "%llud%02lluh", (unsigned long long)(s / 86400),
			(unsigned long long)(s % 86400 / 3600));
	else if (s >= 3600)
		snprintf(out, n, "%lluh%02llum", (unsigned long long)(s / 3600),
			(unsigned long long)(s % 3600 / 60));
	else
		snprintf(out, n, "%llum%02llus", (unsigned long long)(s / 60),
			(unsigned long long)(s % 60));
}

#define STATUS_FMT "%-9s %7s %-14s %8s %-10s %7s %7s %7s %7s %10s %10s %8s\n"

static void
status_render(const struct status_row *rows, size_t n, struct buf *out)
{
	uint64_t now = clock_wall_ms();
	uint64_t conns = 0, uids = 0, groups = 0, rss = 0, in = 0, outm = 0, rate = 0;
	unsigned count[3] = {0, 0, 0};
	buf_printf(out, STATUS_FMT, "ROLE", "PID", "HOST", "UPTIME", "STATE", "CONNS", "UIDS",
		"GROUPS", "RSS", "MSGS_IN", "MSGS_OUT", "PUSH/S");
	for (size_t i = 0; i < n; i++) {
		const struct status_row *r = &rows[i];
		const struct proto_stats *st = r->st;
		char pid[16], host[64], up[32], mem[16], c[24], u[24], g[24], mi[24], mo[24], pr[24];
		count[strcmp(r->role, "register") == 0 ? 0 : strcmp(r->role, "gateway") == 0 ? 1 : 2]++;
		if (st == NULL) {
			snprintf(pid, sizeof pid, "%d", r->kid->pid);
			buf_printf(out, STATUS_FMT, r->role, r->kid->pid ? pid : "-", "-", "-",
				r->kid->pid ? "not joined" : "restarting", "-", "-", "-", "-", "-", "-",
				"-");
			continue;
		}
		snprintf(pid, sizeof pid, "%u", st->pid);
		snprintf(host, sizeof host, "%.*s", (int)(st->host.n < 14 ? st->host.n : 14),
			st->host.p != NULL ? st->host.p : "");
		status_uptime(up, sizeof up, st->started, now);
		status_human_bytes(mem, sizeof mem, st->rss);
		bool reg = strcmp(r->role, "register") == 0, gw = strcmp(r->role, "gateway") == 0;
		snprintf(c, sizeof c, "%llu", (unsigned long long)st->connections);
		snprintf(u, sizeof u, "%llu", (unsigned long long)st->uids);
		snprintf(g, sizeof g, "%llu", (unsigned long long)st->groups);
		snprintf(mi, sizeof mi, "%llu", (unsigned long long)st->msgs_in);
		snprintf(mo, sizeof mo, "%llu", (unsigned long long)st->msgs_out);
		snprintf(pr, sizeof pr, "%u", st->push_rate);
		buf_printf(out, STATUS_FMT, r->role, pid, host, up, st->draining ? "draining" : "ok",
			gw ? c : "-", gw ? u : "-", gw ? g : "-", mem, reg ? "-" : mi, reg ? "-" : mo,
			reg ? "-" : pr);
		rss += st->rss;
		if (gw) {
			conns += st->connections;
			uids += st->uids;
			groups += st->groups;
		}
		if (!reg) {
			in += st->msgs_in;
			outm += st->msgs_out;
		}
		if (gw)
			rate += st->push_rate; /* a push is counted where it entered */
	}
	char mem[16];
	status_human_bytes(mem, sizeof mem, rss);
	buf_printf(out, "\ntotal: %u register, %u gateways, %u workers; connections %llu, "
			"uids %llu and groups %llu (summed over gateways), RSS %s, messages in %llu, "
			"out %llu, pushes/s %llu\n",
		count[0], count[1], count[2], (unsigned long long)conns, (unsigned long long)uids,
		(unsigned long long)groups, mem, (unsigned long long)in, (unsigned long long)outm,
		(unsigned long long)rate);
}

/* Sends one status query to url and waits for the answer. 0 with *reply
 * (the nng message, which the decoded pm points into) or -1 with err. */
static int
status_ask(struct cluster *cl, const char *url, nng_msg **reply, struct proto_msg *pm, char *err,
	size_t errlen)
{
	nng_socket s;
	nng_msg *msg;
	struct proto_msg q;
	struct buf b = BUF_INIT;
	int rc;
	char to[CLUSTER_TO_MAX];

	if ((rc = nng_req0_open(&s)) != 0) {
		snprintf(err, errlen, "nng: %s", nng_strerror(rc));
		return -1;
	}
	nng_socket_set_ms(s, NNG_OPT_RECVTIMEO, STATUS_TIMEOUT_MS);
	nng_socket_set_ms(s, NNG_OPT_SENDTIMEO, STATUS_TIMEOUT_MS);
	if ((rc = cluster_dial(cl, s, url, 0)) != 0) {
		snprintf(err, errlen, "cannot reach the register at %s: %s", url, strerror(-rc));
		nng_close(s);
		return -1;
	}
	memset(&q, 0, sizeof q);
	q.type = PROTO_STATUS_QUERY;
	proto_encode(&q, &b);
	if (nng_msg_alloc(&msg, b.len) != 0)
		abort();
	memcpy(nng_msg_body(msg), b.p, b.len);
	buf_fini(&b);
	cluster_seal(cl, msg, CLUSTER_TO_REGISTER);
	if ((rc = nng_sendmsg(s, msg, 0)) != 0) {
		nng_msg_free(msg);
		snprintf(err, errlen, "register %s: %s", url, nng_strerror(rc));
		nng_close(s);
		return -1;
	}
	cluster_to_member(to, cluster_id(cl));
	uint64_t from;
	if ((rc = nng_recvmsg(s, &msg, 0)) != 0) {
		snprintf(err, errlen, "register %s did not answer (%s): is it running, and does "
				      "it hold the same cluster.secret?", url, nng_strerror(rc));
		nng_close(s);
		return -1;
	}
	nng_close(s);
	if (cluster_open(cl, msg, to, url, &from) != 0 ||
		proto_decode(nng_msg_body(msg), nng_msg_len(msg), pm) != 0) {
		nng_msg_free(msg);
		snprintf(err, errlen, "register %s sent an answer that does not open", url);
		return -1;
	}
	if (pm->type != PROTO_STATUS) {
		proto_msg_fini(pm);
		nng_msg_free(msg);
		snprintf(err, errlen, "register %s answered with message type %u", url, pm->type);
		return -1;
	}
	*reply = msg;
	return 0;
}

int
status_from_register(const struct config *c, const struct status_child *kids, size_t nkids,
	struct buf *out, char *err, size_t errlen)
{
	uint64_t self;
	if (getrandom(&self, sizeof self, 0) != (ssize_t)sizeof self) {
		snprintf(err, errlen, "getrandom failed");
		return -1;
	}
	struct config cc = *c;
	char *secret = getenv("GATECAST_CLUSTER_SECRET");
	if (cc.cluster_secret[0] == '\0' && secret != NULL)
		cc.cluster_secret = secret; /* the launcher's generated one */
	struct cluster *cl = cluster_new(&cc, self, err, errlen);
	if (cl == NULL)
		return -1;

	const char *urls = c->register_connect[0] ? c->register_connect : c->register_listen;
	char *copy = xstrdup(urls), *save = NULL;
	nng_msg *reply = NULL;
	struct proto_msg pm;
	int rc = -1;
	for (char *u = strtok_r(copy, ", ", &save); u != NULL && rc != 0; u = strtok_r(NULL, ", ", &save))
		rc = status_ask(cl, u, &reply, &pm, err, errlen);
	free(copy);
	if (rc != 0) {
		cluster_free(cl);
		return -1;
	}

	const struct proto_status *st = &pm.u.status;
	struct status_row *rows = xcalloc(st->n + nkids + 2, sizeof *rows);
	size_t n = 0;
	rows[n++] = (struct status_row){"register", &st->self, NULL};
	for (int role = ROLE_GATEWAY; role <= ROLE_WORKER; role++)
		for (uint32_t i = 0; i < st->n; i++)
			if (st->v[i].role == role)
				rows[n++] = (struct status_row){role == ROLE_GATEWAY ? "gateway" : "worker",
					&st->v[i].stats, NULL};
	/* The launcher's children the register does not list. */
	for (size_t k = 0; k < nkids; k++) {
		bool listed = strcmp(kids[k].role, "register") == 0;
		for (uint32_t i = 0; i < st->n && !listed; i++)
			listed = kids[k].pid != 0 && st->v[i].stats.pid == (uint32_t)kids[k].pid;
		if (!listed)
			rows[n++] = (struct status_row){kids[k].role, NULL, &kids[k]};
	}
	status_render(rows, n, out);
	free(rows);
	proto_msg_fini(&pm);
	nng_msg_free(reply);
	cluster_free(cl);
	return 0;
}

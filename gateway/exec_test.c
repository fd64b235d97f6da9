/*
 * exec_test — a worker's orders on a gateway's connections, through a fake
 * ops table that records what each connection was sent and whether it was
 * closed: fan-out de-duplication, exclude lists, max tabs per uid, the join
 * rules.
 */
#include "gateway/exec.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/config.h"
#include "common/jwt.h"
#include "gateway/client.h"
#include "gateway/conn_index.h"
#include "proto/clientid.h"
#include "tests/tap.h"
#include "ws/ws_frame.h"

#define SELF 0x1111222233334444ULL
#define OTHER 0x5555666677778888ULL
#define NCLIENTS 8

/* What the fake connections saw. */
struct fake {
	int frames[NCLIENTS + 1];
	char last[NCLIENTS + 1][256];
	int closed[NCLIENTS + 1]; /* 0, or 1 + enum exec_close */
	int refuse;               /* the seq whose sends fail, or 0 */
};

static struct fake fk;
static struct client clients[NCLIENTS + 1];

static int
fake_send(void *arg, struct client *cl, struct ws_out *f)
{
	struct fake *k = arg;
	if ((int)cl->seq == k->refuse)
		return -ENOBUFS;
	k->frames[cl->seq]++;
	/* data is header + payload; payloads here are short (2-byte header). */
	size_t n = f->len - 2 < sizeof k->last[0] - 1 ? f->len - 2 : sizeof k->last[0] - 1;
	memcpy(k->last[cl->seq], f->data + 2, n);
	k->last[cl->seq][n] = '\0';
	return 0;
}

static void
fake_close(void *arg, struct client *cl, enum exec_close why)
{
	struct fake *k = arg;
	k->closed[cl->seq] = 1 + (int)why;
}

static bool
fake_is_open(void *arg, const struct client *cl)
{
	struct fake *k = arg;
	return k->closed[cl->seq] == 0;
}

static const struct exec_ops fake_ops = {
	.send = fake_send,
	.close = fake_close,
	.is_open = fake_is_open,
};

static void
fake_reset(void)
{
	int refuse = fk.refuse;
	memset(&fk, 0, sizeof fk);
	fk.refuse = refuse;
}

static int
frames_total(void)
{
	int n = 0;
	for (int i = 0; i <= NCLIENTS; i++)
		n += fk.frames[i];
	return n;
}

/* Client ids in a command point into this pool. */
static char idpool[32][CLIENTID_LEN + 1];
static int nids;

static struct pstr
cid(uint64_t gateway, uint64_t seq)
{
	char *s = idpool[nids++ % 32];
	clientid_format(gateway, seq, s);
	return (struct pstr){s, CLIENTID_LEN};
}

#define P(lit) ((struct pstr){lit, sizeof(lit) - 1})
#define LIST(...)                                                                   \
	((struct pstr_list){(struct pstr[]){__VA_ARGS__},                           \
		sizeof((struct pstr[]){__VA_ARGS__}) / sizeof(struct pstr)})

static struct proto_result
run(struct exec_ctx *x, struct proto_cmd *cmd)
{
	struct proto_result r;
	struct strvec scratch = STRVEC_INIT;
	memset(&r, 0, sizeof r);
	exec_op(x, cmd, 0, &r, &scratch);
	free(r.strs.v);
	r.strs.v = NULL;
	strvec_fini(&scratch);
	return r;
}

static struct proto_cmd
send_cmd(enum cmd_type type, const char *text)
{
	struct proto_cmd cmd;
	memset(&cmd, 0, sizeof cmd);
	cmd.type = type;
	cmd.data = (struct pstr){text, (uint32_t)strlen(text)};
	cmd.has_data = true;
	return cmd;
}

static void
test_fan_out(struct conn_index *ix, struct exec_ctx *x)
{
	/* 1 and 2 in group a, 2 and 3 in group b; 4 in neither. */
	conn_index_join(ix, 1, "a", 1);
	conn_index_join(ix, 2, "a", 1);
	conn_index_join(ix, 2, "b", 1);
	conn_index_join(ix, 3, "b", 1);

	fake_reset();
	struct proto_cmd cmd = send_cmd(CMD_SEND_TO_GROUP, "hi");
	cmd.groups = LIST(P("a"), P("b"));
	struct proto_result r = run(x, &cmd);
	tap_ok(r.ok, "a send to two groups succeeds");
	tap_ok(fk.frames[1] == 1 && fk.frames[2] == 1 && fk.frames[3] == 1 && fk.frames[4] == 0,
		"a connection in two of a send's groups gets the frame once");
	tap_eq_int(r.delivered, 3, "delivered counts connections, not memberships");
	tap_eq_str(fk.last[2], "hi", "the frame carries the command's data");

	fake_reset();
	r = run(x, &cmd);
	tap_eq_int(r.delivered, 3, "the next send delivers again (a new stamp)");

	fake_reset();
	conn_index_bind(ix, 5, "u", 1);
	conn_index_bind(ix, 6, "u", 1);
	conn_index_bind(ix, 7, "v", 1);
	cmd = send_cmd(CMD_SEND_TO_UID, "x");
	cmd.uids = LIST(P("u"), P("u"), P("v"), P("nobody"));
	r = run(x, &cmd);
	tap_ok(fk.frames[5] == 1 && fk.frames[6] == 1 && fk.frames[7] == 1,
		"a uid named twice gets each of its connections one frame");
	tap_eq_int(r.delivered, 3, "a send to uids counts each connection once");

	fake_reset();
	cmd = send_cmd(CMD_SEND_TO_CLIENT, "y");
	cmd.clients = LIST(cid(SELF, 1), cid(SELF, 1), cid(OTHER, 2), cid(SELF, 99));
	r = run(x, &cmd);
	tap_ok(fk.frames[1] == 1 && fk.frames[2] == 0,
		"a client named twice gets one frame; another gateway's id is not ours");
	tap_eq_int(r.delivered, 1, "unknown and foreign client ids deliver nothing");

	fake_reset();
	fk.refuse = 2;
	cmd = send_cmd(CMD_SEND_TO_GROUP, "z");
	cmd.groups = LIST(P("a"));
	r = run(x, &cmd);
	fk.refuse = 0;
	tap_ok(fk.frames[1] == 1 && fk.frames[2] == 0, "a refused frame is not written");
	tap_eq_int(r.delivered, 1, "a frame the connection refused does not count as delivered");
}

static void
test_exclude(struct conn_index *ix, struct exec_ctx *x)
{
	fake_reset();
	struct proto_cmd cmd = send_cmd(CMD_SEND_TO_GROUP, "hi");
	cmd.groups = LIST(P("a"), P("b"));
	cmd.exclude = LIST(cid(SELF, 2), cid(OTHER, 3));
	struct proto_result r = run(x, &cmd);
	tap_ok(fk.frames[1] == 1 && fk.frames[2] == 0 && fk.frames[3] == 1,
		"an excluded client gets nothing, and another gateway's id excludes no one here");
	tap_eq_int(r.delivered, 2, "excluded clients are not counted");

	fake_reset();
	cmd = send_cmd(CMD_SEND_TO_ALL, "all");
	cmd.exclude = LIST(cid(SELF, 1), cid(SELF, 4));
	r = run(x, &cmd);
	tap_ok(fk.frames[1] == 0 && fk.frames[4] == 0 && fk.frames[2] == 1 && fk.frames[8] == 1,
		"a send to all skips the excluded and reaches everyone else");
	tap_eq_int(r.delivered, NCLIENTS - 2, "a send to all counts everyone but the excluded");

	fake_reset();
	cmd = send_cmd(CMD_SEND_TO_GROUP, "again");
	cmd.groups = LIST(P("a"));
	r = run(x, &cmd);
	tap_ok(fk.frames[1] == 1 && fk.frames[2] == 1, "an exclusion lasts for its send only");
	(void)ix;
}

static void
test_tabs(struct conn_index *ix, struct exec_ctx *x)
{
	/* cfg: gateway.max_connections_per_uid = 2. */
	struct exec_stats before = exec_stats(x);
	fake_reset();
	exec_bind(x, &clients[1], "t", 1);
	exec_bind(x, &clients[3], "t", 1);
	tap_ok(fk.closed[1] == 0 && fk.closed[3] == 0, "tabs up to the limit stay open");
	exec_bind(x, &clients[2], "t", 1);
	tap_eq_int(fk.closed[1], 1 + EXEC_CLOSE_TOO_MANY_TABS,
		"one tab too many closes the uid's oldest tab (lowest seq)");
	tap_ok(fk.closed[2] == 0 && fk.closed[3] == 0, "the new tab and the others stay open");
	tap_eq_int(conn_index_count_of_uid(ix, "t", 1), 3,
		"the closed tab keeps its uid until its connection is gone");
	exec_bind(x, &clients[4], "t", 1);
	tap_ok(fk.closed[2] == 1 + EXEC_CLOSE_TOO_MANY_TABS && fk.closed[3] == 0,
		"a tab already closing does not count: the oldest open one makes room");
	struct exec_stats after = exec_stats(x);
	tap_eq_int(after.closed_too_many - before.closed_too_many, 2, "each closed tab is counted");
	tap_eq_int(after.logins - before.logins, 4, "each new binding counts a login");
	exec_bind(x, &clients[4], "t", 1);
	tap_eq_int(exec_stats(x).logins, after.logins, "binding the uid a client has is no login");
	tap_eq_int(exec_stats(x).closed_too_many, after.closed_too_many,
		"binding the uid a client has closes no tab");
}

static int group_changes;

static void
count_change(void *arg, const char *group, size_t len)
{
	group_changes++;
}

static void
test_join(struct conn_index *ix, const struct config *cfg)
{
	/* token mode; cfg: gateway.max_groups = 2. */
	struct exec_ctx *x = exec_new(ix, cfg, SELF, true, &fake_ops, &fk);
	exec_on_group_change(x, count_change, NULL);
	struct jwt_claims claims;
	memset(&claims, 0, sizeof claims);
	static char pattern[] = "room:*";
	char *groups[] = {pattern, NULL};
	claims.groups = groups;
	claims.ngroups = 1;
	clients[6].claims = &claims;

	struct proto_cmd cmd;
	memset(&cmd, 0, sizeof cmd);
	cmd.type = CMD_JOIN_GROUP;
	cmd.clients = LIST(cid(SELF, 5));
	cmd.groups = LIST(P("room:1"));
	cmd.data = P("{\"joined\":1}");
	cmd.has_data = true;
	cmd.from_client = true;

	fake_reset();
	group_changes = 0;
	struct proto_result r = run(x, &cmd);
	tap_ok(!r.ok && r.error.n == 9 && memcmp(r.error.p, "forbidden", 9) == 0,
		"a client's own join needs a token whose groups allow it");
	tap_ok(fk.frames[5] == 1 && strstr(fk.last[5], "\"error\":\"forbidden\"") != NULL,
		"a refused client join sends the client an error frame, not the data");
	tap_eq_int(conn_index_group_count_of(ix, 5), 0, "a refused join joins nothing");

	cmd.clients = LIST(cid(SELF, 6));
	fake_reset();
	r = run(x, &cmd);
	tap_ok(r.ok, "a token allowing the group lets the client join");
	tap_eq_str(fk.last[6], "{\"joined\":1}", "a client's join sends it the app's data");
	tap_eq_int(group_changes, 1, "a join reports the group's change");

	fake_reset();
	r = run(x, &cmd);
	tap_ok(r.ok && group_changes == 1, "joining a group again changes nothing");

	memset(&cmd, 0, sizeof cmd);
	cmd.type = CMD_JOIN_GROUP;
	cmd.clients = LIST(cid(SELF, 5));
	cmd.groups = LIST(P("backend:1"));
	fake_reset();
	r = run(x, &cmd);
	tap_ok(r.ok && conn_index_group_count_of(ix, 5) == 1,
		"a join without data (the backend's) needs no token");
	tap_eq_int(frames_total(), 0, "a backend join sends the client nothing");

	cmd.groups = LIST(P("backend:2"));
	run(x, &cmd);
	cmd.groups = LIST(P("backend:3"));
	r = run(x, &cmd);
	tap_ok(!r.ok && r.error.n == 15 && memcmp(r.error.p, "too_many_groups", 15) == 0,
		"a join past gateway.max_groups fails");
	tap_eq_int(conn_index_group_count_of(ix, 5), 2, "the connection stays at max_groups");
	tap_eq_int(frames_total(), 0, "a refused backend join sends no error frame");
	cmd.groups = LIST(P("backend:1"));
	r = run(x, &cmd);
	tap_ok(r.ok, "joining a group it is in already is fine at the limit");

	cmd.type = CMD_JOIN_GROUP;
	cmd.clients = LIST(cid(OTHER, 5));
	r = run(x, &cmd);
	tap_ok(!r.ok && r.error.n == 9 && memcmp(r.error.p, "not_found", 9) == 0,
		"a join for another gateway's client is not found here");

	memset(&cmd, 0, sizeof cmd);
	cmd.type = CMD_JOIN_GROUP;
	cmd.clients = LIST(cid(SELF, 6));
	cmd.groups = LIST(P("other:1"));
	cmd.data = P("{\"by\":\"backend\"}");
	cmd.has_data = true;
	fake_reset();
	r = run(x, &cmd);
	tap_ok(r.ok && conn_index_group_count_of(ix, 6) == 2,
		"a join with data that is not from the client needs no token");
	tap_eq_str(fk.last[6], "{\"by\":\"backend\"}", "  ... and still sends its data");
	clients[6].claims = NULL;
	exec_free(x);
}

int
main(void)
{
	struct config cfg;
	memset(&cfg, 0, sizeof cfg);
	cfg.gateway_max_groups = 2;
	cfg.gateway_max_connections_per_uid = 2;
	struct conn_index *ix = conn_index_new();
	for (uint64_t i = 1; i <= NCLIENTS; i++) {
		clients[i].seq = i;
		conn_index_add(ix, i, &clients[i]);
	}
	struct conn_index *jx = conn_index_new();
	for (uint64_t i = 5; i <= 6; i++)
		conn_index_add(jx, i, &clients[i]);

	/* Not token mode: sends and tabs do not depend on it. */
	struct exec_ctx *x = exec_new(ix, &cfg, SELF, false, &fake_ops, &fk);
	test_fan_out(ix, x);
	test_exclude(ix, x);
	tap_ok(exec_stats(x).delivered > 0, "exec counts the frames its sends delivered");
	test_tabs(ix, x);
	exec_free(x);
	test_join(jx, &cfg);

	conn_index_free(jx);
	conn_index_free(ix);
	exec_free(NULL);
	return tap_done();
}

/*
 * msg_test — the cluster message codec: round trips of every message type,
 * the exact bytes of a few messages, and every way the decoder says no.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/xmalloc.h"
#include "proto/msg.h"
#include "proto/msg_eq.h"
#include "tests/tap.h"

/* Binary payload with NUL bytes inside and at the end. */
static const char payload[] = {'a', '\0', 'b', '\xff', '\0'};

static const char *const cid1 = "65a1f0c27d3e9b10000000000001";
static const char *const cid2 = "65a1f0c27d3e9b10000000000002";

static struct pstr
pbin(void)
{
	struct pstr s = {payload, sizeof payload};
	return s;
}

/* ---- sample messages, every field set ---- */

static struct pstr list_a[] = {{"42", 2}, {"", 0}, {"u\0x", 3}};
static struct pstr list_b[] = {{"g1", 2}, {"g2", 2}};
static struct pstr list_c[1];
static struct pstr list_d[1];
static struct proto_member members_v[3];
static struct proto_stats stats_v[4];
static struct proto_status_member status_v[3];

/* A host name with a NUL inside, so that it is compared as bytes. */
static const char host_bytes[] = {'g', 'w', '\0', '7'};

static void
samples_init(void)
{
	list_c[0] = pstr_c(cid1);
	list_d[0] = pstr_c(cid2);
	members_v[0] = (struct proto_member){ROLE_GATEWAY, 0x65a1f0c27d3e9b10ULL,
		pstr_c("ipc:///run/gatecast/gw1"), false};
	members_v[1] = (struct proto_member){ROLE_WORKER, UINT64_MAX,
		pstr_c("tcp://10.0.0.7:7301"), true};
	members_v[2] = (struct proto_member){ROLE_WORKER, 0, {NULL, 0}, false};

	/* Every field distinct and in a different integer width, so that two
	 * swapped fields or a truncating read cannot go unseen. */
	stats_v[0] = (struct proto_stats){
		.pid = UINT32_MAX,
		.host = {host_bytes, sizeof host_bytes},
		.started = 1790000000123ULL,
		.rss = 0x123456789aULL,
		.connections = UINT64_MAX,
		.uids = 70000,
		.groups = 300,
		.msgs_in = 1ULL << 32,
		.msgs_out = (1ULL << 32) + 1,
		.pushes = 127,
		.push_rate = UINT32_MAX - 1,
		.draining = true,
	};
	/* A worker: no connections, uids or groups. */
	stats_v[1] = (struct proto_stats){
		.pid = 4242,
		.host = pstr_c("node-2.example"),
		.started = 1789999999000ULL,
		.rss = 52428800,
		.msgs_in = 9,
		.msgs_out = 8,
		.pushes = 7,
		.push_rate = 6,
		.draining = false,
	};
	/* The register: no push figures. */
	stats_v[2] = (struct proto_stats){
		.pid = 1,
		.host = pstr_c("reg"),
		.started = 1,
		.rss = 2,
		.msgs_in = 3,
		.msgs_out = 4,
	};
	stats_v[3] = stats_v[0];
	stats_v[3].draining = false;
	stats_v[3].host = pstr_c("gw-3");
	status_v[0] = (struct proto_status_member){ROLE_GATEWAY, 0x65a1f0c27d3e9b10ULL, stats_v[0]};
	status_v[1] = (struct proto_status_member){ROLE_WORKER, UINT64_MAX, stats_v[1]};
	status_v[2] = (struct proto_status_member){ROLE_GATEWAY, 0, stats_v[3]};
}

static struct proto_cmd
sample_cmd(enum cmd_type t)
{
	struct proto_cmd c;
	memset(&c, 0, sizeof c);
	c.type = (uint8_t)t;
	c.uids = (struct pstr_list){list_a, 3};
	c.groups = (struct pstr_list){list_b, 2};
	c.clients = (struct pstr_list){list_c, 1};
	c.exclude = (struct pstr_list){list_d, 1};
	c.data = pbin();
	c.has_data = true;
	c.binary = true;
	c.session = pstr_c("{\"name\":\"ann\"}");
	return c;
}

static struct proto_msg
sample(enum proto_type t)
{
	struct proto_msg m;
	memset(&m, 0, sizeof m);
	m.type = (uint8_t)t;
	switch (t) {
	case PROTO_ANNOUNCE:
		m.u.announce.self = members_v[1];
		m.u.announce.lease_ms = UINT32_MAX;
		m.u.announce.leaving = true;
		m.u.announce.has_stats = true;
		m.u.announce.stats = stats_v[0];
		break;
	case PROTO_STATUS_QUERY:
		break;
	case PROTO_STATUS:
		m.u.status.self = stats_v[2];
		m.u.status.n = 3;
		m.u.status.v = status_v;
		break;
	case PROTO_MEMBERS:
		m.u.members.version = 1ULL << 40;
		m.u.members.n = 3;
		m.u.members.v = members_v;
		break;
	case PROTO_EVENT:
		m.u.event.gateway = 0x65a1f0c27d3e9b10ULL;
		m.u.event.client_id = pstr_c(cid1);
		m.u.event.kind = EVENT_CLOSE;
		m.u.event.binary = true;
		m.u.event.data = pbin();
		m.u.event.uid = pstr_c("42");
		m.u.event.close_code = 4001;
		break;
	case PROTO_REQUEST:
		m.u.request.gateway = 0x65a1f0c27d3e9b10ULL;
		m.u.request.req = 77;
		m.u.request.cmd = sample_cmd(CMD_SEND_TO_GROUP);
		m.u.request.expires = 1790000000123ULL;
		m.u.request.pushed_us = 1789999995123456ULL;
		break;
	case PROTO_OP:
		m.u.op.worker = 9;
		m.u.op.op = UINT64_MAX;
		m.u.op.cmd = sample_cmd(CMD_GET_SESSION);
		m.u.op.pushed_us = UINT64_MAX;
		m.u.op.expires = 1790000000456ULL;
		break;
	case PROTO_RESULT:
	case PROTO_REPLY:
		m.u.result.id = 123456789;
		m.u.result.ok = true;
		m.u.result.error = pstr_c("timeout");
		m.u.result.message = pstr_c("2 of 3 gateways answered");
		m.u.result.delivered = t == PROTO_RESULT ? -5 : INT64_MIN;
		m.u.result.count = INT64_MAX;
		m.u.result.strs = (struct pstr_list){list_a, 3};
		m.u.result.session = pbin();
		m.u.result.partial = true;
		m.u.result.answered = 2;
		m.u.result.expected = UINT32_MAX;
		break;
	}
	return m;
}

/* The same type with every string and list empty and every number at its
 * lowest valid value. */
static struct proto_msg
sample_empty(enum proto_type t)
{
	struct proto_msg m;
	memset(&m, 0, sizeof m);
	m.type = (uint8_t)t;
	switch (t) {
	case PROTO_ANNOUNCE:
		m.u.announce.self.role = ROLE_GATEWAY;
		break;
	case PROTO_STATUS_QUERY:
	case PROTO_STATUS:
		break;
	case PROTO_MEMBERS:
		break;
	case PROTO_EVENT:
		m.u.event.kind = EVENT_CONNECT;
		break;
	case PROTO_REQUEST:
		m.u.request.cmd.type = CMD_SEND_TO_UID;
		break;
	case PROTO_OP:
		m.u.op.cmd.type = CMD__COUNT - 1;
		m.u.op.cmd.has_data = true; /* an empty payload, not none */
		break;
	case PROTO_RESULT:
	case PROTO_REPLY:
		break;
	}
	return m;
}

/* Encodes m, decodes it back and compares; checks that decoded strings
 * point into the encoded bytes. */
static void
round_trip(const struct proto_msg *m, const char *name)
{
	struct buf b = BUF_INIT;
	struct proto_msg d;
	int rc;

	tap_eq_int(proto_encode(m, &b), 0, name);
	rc = proto_decode(b.p, b.len, &d);
	tap_eq_int(rc, 0, "  ... and decodes");
	tap_ok(rc == 0 && msg_eq(m, &d), "  ... to the same message");
	if (rc == 0 && d.type == PROTO_EVENT && d.u.event.data.n > 0)
		tap_ok(d.u.event.data.p >= b.p && d.u.event.data.p < b.p + b.len,
			"  ... whose payload points into the input bytes");
	if (rc == 0 && d.type == PROTO_ANNOUNCE && d.u.announce.has_stats &&
	    d.u.announce.stats.host.n > 0)
		tap_ok(d.u.announce.stats.host.p >= b.p &&
		       d.u.announce.stats.host.p < b.p + b.len,
			"  ... whose host points into the input bytes");
	proto_msg_fini(&d);
	buf_fini(&b);
}

static void
test_round_trips(void)
{
	static const char *const full[] = {
		[PROTO_ANNOUNCE] = "ANNOUNCE with every field and its stats set round-trips",
		[PROTO_MEMBERS] = "MEMBERS with three members round-trips",
		[PROTO_EVENT] = "EVENT with binary data holding NULs round-trips",
		[PROTO_REQUEST] = "REQUEST with every command field set round-trips",
		[PROTO_OP] = "OP with every command field set round-trips",
		[PROTO_RESULT] = "RESULT with every field set round-trips",
		[PROTO_REPLY] = "REPLY with every field set round-trips",
		[PROTO_STATUS_QUERY] = "STATUS_QUERY round-trips",
		[PROTO_STATUS] = "STATUS with its own stats and three members round-trips",
	};
	static const char *const empty[] = {
		[PROTO_ANNOUNCE] = "ANNOUNCE with an empty inbox and no stats round-trips",
		[PROTO_MEMBERS] = "MEMBERS with no members round-trips",
		[PROTO_EVENT] = "EVENT with empty strings round-trips",
		[PROTO_REQUEST] = "REQUEST with empty lists and strings round-trips",
		[PROTO_OP] = "OP with an empty payload round-trips",
		[PROTO_RESULT] = "RESULT with nothing set round-trips",
		[PROTO_REPLY] = "REPLY with nothing set round-trips",
		[PROTO_STATUS_QUERY] = "STATUS_QUERY (nothing to set) round-trips again",
		[PROTO_STATUS] = "STATUS with zeroed stats and no members round-trips",
	};
	for (int t = PROTO_ANNOUNCE; t <= PROTO_STATUS; t++) {
		struct proto_msg m = sample((enum proto_type)t);
		round_trip(&m, full[t]);
		m = sample_empty((enum proto_type)t);
		round_trip(&m, empty[t]);
	}

	struct proto_msg m = sample(PROTO_OP);
	m.u.op.cmd.type = CMD__COUNT - 1;
	round_trip(&m, "OP with the last command type round-trips");
	m.u.op.cmd.type = CMD_SEND_TO_UID;
	round_trip(&m, "OP with the first command type round-trips");
}

/* ---- exact bytes ---- */

static void
expect_bytes(const struct proto_msg *m, const char *want, size_t wlen, const char *name)
{
	struct buf b = BUF_INIT;
	struct proto_msg d;

	tap_eq_int(proto_encode(m, &b), 0, name);
	if (!tap_eq_mem(b.p, b.len, want, wlen, "  ... into exactly the documented bytes")) {
		printf("#   got");
		for (size_t i = 0; i < b.len; i++)
			printf(" %02x", (unsigned char)b.p[i]);
		printf("\n");
	}
	tap_eq_int(proto_decode(want, wlen, &d), 0, "  ... and those bytes decode");
	tap_ok(msg_eq(m, &d), "  ... to the same message");
	proto_msg_fini(&d);
	buf_fini(&b);
}

static const char announce_bytes[] =
	"\x95"                             /* array of 5: no stats */
	"\x01"                             /* version 1 */
	"\x01"                             /* type ANNOUNCE */
	"\x94"                             /* self: array of 4 */
	"\x01"                             /*   role GATEWAY */
	"\xcf\x65\xa1\xf0\xc2\x7d\x3e\x9b\x10" /*   id: uint64 */
	"\xad" "ipc:///tmp/g1"             /*   inbox: fixstr of 13 */
	"\xc2"                             /*   left: false */
	"\xcd\x13\x88"                     /* lease_ms: uint16 5000 */
	"\xc2";                            /* leaving: false */

static const char announce_stats_bytes[] =
	"\x96"                             /* array of 6 */
	"\x01"                             /* version 1 */
	"\x01"                             /* type ANNOUNCE */
	"\x94"                             /* self: array of 4 */
	"\x02"                             /*   role WORKER */
	"\x09"                             /*   id: 9 */
	"\xa1" "w"                         /*   inbox: fixstr of 1 */
	"\xc2"                             /*   left: false */
	"\xcd\x13\x88"                     /* lease_ms: uint16 5000 */
	"\xc3"                             /* leaving: true */
	"\x9c"                             /* stats: array of 12 */
	"\xcd\x10\x92"                     /*   pid: uint16 4242 */
	"\xa3" "gw1"                       /*   host: fixstr of 3 */
	"\xcf\x00\x00\x01\xa0\xc4\x50\x6c\x7b" /*   started: uint64 1790000000123 */
	"\xce\x03\x20\x00\x00"             /*   rss: uint32 52428800 */
	"\xcd\x03\xe8"                     /*   connections: uint16 1000 */
	"\xcd\x01\x2c"                     /*   uids: uint16 300 */
	"\x07"                             /*   groups: 7 */
	"\xce\x00\x01\x11\x70"             /*   msgs_in: uint32 70000 */
	"\xcc\xc8"                         /*   msgs_out: uint8 200 */
	"\x00"                             /*   pushes: 0 */
	"\x0c"                             /*   push_rate: 12 */
	"\xc3";                            /*   draining: true */

static const char members_bytes[] =
	"\x94"                             /* array of 4 */
	"\x01"                             /* version 1 */
	"\x02"                             /* type MEMBERS */
	"\x03"                             /* version: 3 */
	"\x92"                             /* members: array of 2 */
	"\x94" "\x01" "\x01" "\xa1" "a" "\xc2" /*   [GATEWAY, 1, "a", left: false] */
	"\x94" "\x02" "\xcd\x01\x02" "\xa0" "\xc3"; /*   [WORKER, 258, "", left: true] */

static const char status_query_bytes[] =
	"\x92"                             /* array of 2 */
	"\x01"                             /* version 1 */
	"\x08";                            /* type STATUS_QUERY */

/* The stats of a process that has nothing to tell but its pid and host. */
#define STATS_P1_H "\x9c\x01\xa1" "h" "\x00\x00\x00\x00\x00\x00\x00\x00\x00\xc2"

static const char status_bytes[] =
	"\x94"                             /* array of 4 */
	"\x01"                             /* version 1 */
	"\x09"                             /* type STATUS */
	STATS_P1_H                         /* self: [1, "h", 0 x 9, false] */
	"\x92"                             /* members: array of 2 */
	"\x93" "\x01" "\x05" STATS_P1_H     /*   [GATEWAY, 5, stats] */
	"\x93" "\x02" "\xcc\xff"             /*   [WORKER, uint8 255, */
	"\x9c\x02\xa0\x00\x00\x00\x00\x00\x00\x00\x00\x00\xc3"; /* [2, "", 0 x 9, true]] */

static const char event_bytes[] =
	"\x99"                             /* array of 9 */
	"\x01"                             /* version 1 */
	"\x03"                             /* type EVENT */
	"\xcf\x65\xa1\xf0\xc2\x7d\x3e\x9b\x10" /* gateway: uint64 */
	"\xbc" "65a1f0c27d3e9b10000000000001" /* client_id: fixstr of 28 */
	"\x02"                             /* kind MESSAGE */
	"\xc3"                             /* binary: true */
	"\xc4\x03" "a\0b"                  /* data: bin 8 of 3, a NUL inside */
	"\xa2" "42"                        /* uid: fixstr of 2 */
	"\x00";                            /* close_code: 0 */

static const char op_bytes[] =
	"\x97"                             /* array of 7 */
	"\x01"                             /* version 1 */
	"\x05"                             /* type OP */
	"\x07"                             /* worker: 7 */
	"\x00"                             /* op: 0, fire and forget */
	"\x9a"                             /* cmd: array of 10 */
	"\x01"                             /*   type send_to_uid */
	"\x91" "\xa2" "42"                 /*   uids: ["42"] */
	"\x90"                             /*   groups: [] */
	"\x90"                             /*   clients: [] */
	"\x90"                             /*   exclude: [] */
	"\xc4\x02" "hi"                    /*   data: bin 8 of 2 */
	"\xc3"                             /*   has_data: true */
	"\xc2"                             /*   binary: false */
	"\xa0"                             /*   session: "" */
	"\xc2"                             /*   from_client: false */
	"\x00"                             /* pushed_us: 0, not from a push */
	"\xcf\x00\x00\x01\xa0\xc4\x50\x6c\x7b"; /* expires: uint64 1790000000123 */

static const char result_bytes[] =
	"\x9d"                             /* array of 13 */
	"\x01"                             /* version 1 */
	"\x06"                             /* type RESULT */
	"\xcc\xc8"                         /* id: uint8 200 */
	"\xc3"                             /* ok: true */
	"\xa0"                             /* error: "" */
	"\xa0"                             /* message: "" */
	"\xff"                             /* delivered: -1 (negative fixint) */
	"\xd1\xfe\xd4"                     /* count: int16 -300 */
	"\x92" "\xa1" "a" "\xa1" "b"       /* strs: ["a", "b"] */
	"\xa0"                             /* session: "" */
	"\xc2"                             /* partial: false */
	"\x03"                             /* answered: 3 */
	"\x03";                            /* expected: 3 */

static void
test_exact_bytes(void)
{
	struct proto_msg m;
	struct pstr ab[2] = {{"a", 1}, {"b", 1}};
	struct pstr u42 = {"42", 2};
	struct proto_member mbv[2] = {
		{ROLE_GATEWAY, 1, {"a", 1}, false},
		{ROLE_WORKER, 258, {NULL, 0}, true},
	};
	struct proto_status_member sv[2];

	memset(sv, 0, sizeof sv);
	sv[0].role = ROLE_GATEWAY;
	sv[0].id = 5;
	sv[0].stats.pid = 1;
	sv[0].stats.host = pstr_c("h");
	sv[1].role = ROLE_WORKER;
	sv[1].id = 255;
	sv[1].stats.pid = 2;
	sv[1].stats.draining = true;

	memset(&m, 0, sizeof m);
	m.type = PROTO_ANNOUNCE;
	m.u.announce.self.role = ROLE_GATEWAY;
	m.u.announce.self.id = 0x65a1f0c27d3e9b10ULL;
	m.u.announce.self.inbox = pstr_c("ipc:///tmp/g1");
	m.u.announce.lease_ms = 5000;
	expect_bytes(&m, announce_bytes, sizeof announce_bytes - 1,
		"ANNOUNCE without stats encodes");

	memset(&m, 0, sizeof m);
	m.type = PROTO_ANNOUNCE;
	m.u.announce.self.role = ROLE_WORKER;
	m.u.announce.self.id = 9;
	m.u.announce.self.inbox = pstr_c("w");
	m.u.announce.lease_ms = 5000;
	m.u.announce.leaving = true;
	m.u.announce.has_stats = true;
	m.u.announce.stats.pid = 4242;
	m.u.announce.stats.host = pstr_c("gw1");
	m.u.announce.stats.started = 1790000000123ULL;
	m.u.announce.stats.rss = 52428800;
	m.u.announce.stats.connections = 1000;
	m.u.announce.stats.uids = 300;
	m.u.announce.stats.groups = 7;
	m.u.announce.stats.msgs_in = 70000;
	m.u.announce.stats.msgs_out = 200;
	m.u.announce.stats.push_rate = 12;
	m.u.announce.stats.draining = true;
	expect_bytes(&m, announce_stats_bytes, sizeof announce_stats_bytes - 1,
		"ANNOUNCE with stats encodes");

	memset(&m, 0, sizeof m);
	m.type = PROTO_MEMBERS;
	m.u.members.version = 3;
	m.u.members.n = 2;
	m.u.members.v = mbv;
	expect_bytes(&m, members_bytes, sizeof members_bytes - 1, "MEMBERS encodes");

	memset(&m, 0, sizeof m);
	m.type = PROTO_STATUS_QUERY;
	expect_bytes(&m, status_query_bytes, sizeof status_query_bytes - 1,
		"STATUS_QUERY encodes");

	memset(&m, 0, sizeof m);
	m.type = PROTO_STATUS;
	m.u.status.self.pid = 1;
	m.u.status.self.host = pstr_c("h");
	m.u.status.n = 2;
	m.u.status.v = sv;
	expect_bytes(&m, status_bytes, sizeof status_bytes - 1, "STATUS encodes");

	memset(&m, 0, sizeof m);
	m.type = PROTO_EVENT;
	m.u.event.gateway = 0x65a1f0c27d3e9b10ULL;
	m.u.event.client_id = pstr_c(cid1);
	m.u.event.kind = EVENT_MESSAGE;
	m.u.event.binary = true;
	m.u.event.data = (struct pstr){"a\0b", 3};
	m.u.event.uid = u42;
	expect_bytes(&m, event_bytes, sizeof event_bytes - 1, "EVENT encodes");

	memset(&m, 0, sizeof m);
	m.type = PROTO_OP;
	m.u.op.worker = 7;
	m.u.op.cmd.type = CMD_SEND_TO_UID;
	m.u.op.cmd.uids = (struct pstr_list){&u42, 1};
	m.u.op.cmd.data = pstr_c("hi");
	m.u.op.cmd.has_data = true;
	m.u.op.expires = 1790000000123ULL;
	expect_bytes(&m, op_bytes, sizeof op_bytes - 1, "OP encodes");

	memset(&m, 0, sizeof m);
	m.type = PROTO_RESULT;
	m.u.result.id = 200;
	m.u.result.ok = true;
	m.u.result.delivered = -1;
	m.u.result.count = -300;
	m.u.result.strs = (struct pstr_list){ab, 2};
	m.u.result.answered = 3;
	m.u.result.expected = 3;
	expect_bytes(&m, result_bytes, sizeof result_bytes - 1,
		"RESULT with negative numbers encodes");
}

/* ---- decoder errors ---- */

static void
expect_rc(const char *p, size_t len, int want, const char *name)
{
	struct proto_msg m;
	/* An exact-size copy, so reading one byte too far trips ASan. */
	char *copy = xmemdup(p, len);
	int rc = proto_decode(copy, len, &m);
	tap_eq_int(rc, want, name);
	if (rc == 0)
		proto_msg_fini(&m);
	else
		tap_ok(m.arena == NULL, "  ... and leaves nothing to free");
	free(copy);
}

#define EXPECT(bytes, want, name) expect_rc(bytes, sizeof bytes - 1, want, name)

/* A valid stats array: pid 0, host "", every counter 0, not draining. */
#define STATS0 "\x9c\x00\xa0\x00\x00\x00\x00\x00\x00\x00\x00\x00\xc2"
/* The fields of an ANNOUNCE after [1, 1] in its old shape: a member of three
 * fields, lease 0, not leaving. */
#define ANN_BODY "\x93\x01\x01\xa0" "\x00" "\xc2"

static void
test_shape_errors(void)
{
	struct proto_msg m;

	memset(&m, 0xa5, sizeof m);
	tap_eq_int(proto_decode(NULL, 0, &m), -EPROTO, "empty input is rejected");
	tap_ok(m.arena == NULL, "  ... and leaves nothing to free");
	proto_msg_fini(&m);

	EXPECT("\x01", -EPROTO, "a bare integer is not a message");
	EXPECT("\x82\x01\x01\x02\x01", -EPROTO, "a map is not a message");
	EXPECT("\x91\x01", -EPROTO, "an array of only the version is rejected");
	EXPECT("\x90", -EPROTO, "an empty array is rejected");
	EXPECT("\xc1", -EPROTO, "the never-used byte 0xc1 is rejected");

	EXPECT("\x95" "\x02" "\x01" "\x93\x01\x01\xa0" "\x00" "\xc2", -EPROTO,
		"version 2 is rejected");
	EXPECT("\x95" "\x00" "\x01" "\x93\x01\x01\xa0" "\x00" "\xc2", -EPROTO,
		"version 0 is rejected");
	EXPECT("\x95" "\xa1" "1" "\x01" "\x93\x01\x01\xa0" "\x00" "\xc2", -EPROTO,
		"a version that is a string is rejected");
	EXPECT("\x95" "\xcc\x01" "\x01" "\x93\x01\x01\xa0" "\x00" "\xc2", 0,
		"a version in a wider integer encoding is accepted");
	EXPECT("\x95" "\x01" "\xd0\x01" "\x93\x01\x01\xa0" "\x00" "\xc2", 0,
		"a type as a positive int 8 is accepted");

	EXPECT("\x92\x01\x00", -EPROTO, "message type 0 is unknown");
	EXPECT("\x92\x01\x0a", -EPROTO, "message type 10 is unknown");
	EXPECT("\x95\x01\x0a\x93\x01\x01\xa0\x00\xc2", -EPROTO,
		"an unknown type is rejected even with a plausible body");
	EXPECT("\x95\x01\x09\x93\x01\x01\xa0\x00\xc2", -EPROTO,
		"an ANNOUNCE body under type STATUS is rejected");
	EXPECT("\x95\x01\xcd\x01\x01\x93\x01\x01\xa0\x00\xc2", -EPROTO,
		"message type 257 is unknown");

	EXPECT("\x94" "\x01\x01" "\x93\x01\x01\xa0" "\x00", -EPROTO,
		"an ANNOUNCE with a field missing is rejected");
	EXPECT("\x95" "\x01\x01" "\x92\x01\x01" "\x00" "\xc2" "\xa0", -EPROTO,
		"a member with a field missing is rejected");
	EXPECT("\x95" "\x01\x05" "\x00\x00" "\x98\x01\x90\x90\x90\x90\xa0\xc2\xc2", -EPROTO,
		"a cmd with a field missing is rejected");
	EXPECT("\x93" "\x01\x09" STATS0, -EPROTO, "a STATUS without its member list is rejected");
	EXPECT("\x92" "\x01\x09", -EPROTO, "a STATUS with no field is rejected");
	EXPECT("\x93" "\x01\x02" "\x00", -EPROTO, "a MEMBERS without its list is rejected");
}

static void
test_field_type_errors(void)
{
	/* ANNOUNCE base: [1, 1, [role, id, inbox], lease_ms, leaving] */
	EXPECT("\x95\x01\x01" "\x93\x01\x01\xa0" "\xa1" "5" "\xc2", -EPROTO,
		"a lease that is a string is rejected");
	EXPECT("\x95\x01\x01" "\x93\x01\x01\xa0" "\x00" "\x01", -EPROTO,
		"an integer where a bool belongs is rejected");
	EXPECT("\x95\x01\x01" "\x93\x01\x01\xc0" "\x00" "\xc2", -EPROTO,
		"nil where a string belongs is rejected");
	EXPECT("\x95\x01\x01" "\x93\x01\x01\x90" "\x00" "\xc2", -EPROTO,
		"an array where a string belongs is rejected");
	EXPECT("\x95\x01\x01" "\x93\x01\xca\x00\x00\x00\x00\xa0" "\x00" "\xc2", -EPROTO,
		"a float where an integer belongs is rejected");
	EXPECT("\x95\x01\x01" "\x93\x01\xff\xa0" "\x00" "\xc2", -EPROTO,
		"a negative member id is rejected");
	EXPECT("\x95\x01\x01" "\x93\x00\x01\xa0" "\x00" "\xc2", -EPROTO,
		"role 0 is rejected");
	EXPECT("\x95\x01\x01" "\x93\x03\x01\xa0" "\x00" "\xc2", -EPROTO,
		"role 3 is rejected");
	EXPECT("\x95\x01\x01" "\x93\x01\x01\xa0" "\xce\xff\xff\xff\xff" "\xc2", 0,
		"a lease of UINT32_MAX is accepted");
	EXPECT("\x95\x01\x01" "\x93\x01\x01\xa0" "\xcf\x00\x00\x00\x01\x00\x00\x00\x00" "\xc2",
		-EPROTO, "a lease over UINT32_MAX is rejected");
	EXPECT("\x95\x01\x01" "\x01" "\x00" "\xc2", -EPROTO,
		"a member that is not an array is rejected");

	/* EVENT base: [1, 3, gateway, client_id, kind, binary, data, uid, code] */
	EXPECT("\x99\x01\x03" "\x01" "\x01" "\x01" "\xc2" "\xa0" "\xa0" "\x00", -EPROTO,
		"a client id that is an integer is rejected");
	EXPECT("\x99\x01\x03" "\x01" "\xc4\x01" "c" "\x01" "\xc2" "\xa1" "d" "\xc4\x00" "\x00",
		0, "bin where a string belongs and str where bin belongs are accepted");
	EXPECT("\x99\x01\x03" "\x01" "\xa0" "\x00" "\xc2" "\xa0" "\xa0" "\x00", -EPROTO,
		"event kind 0 is rejected");
	EXPECT("\x99\x01\x03" "\x01" "\xa0" "\x04" "\xc2" "\xa9" "company:7" "\xa0" "\x00", 0,
		"event kind 4 (presence, the group in data) is accepted");
	EXPECT("\x99\x01\x03" "\x01" "\xa0" "\x05" "\xc2" "\xa0" "\xa0" "\x00", -EPROTO,
		"event kind 5 is rejected");
	EXPECT("\x99\x01\x03" "\x01" "\xa0" "\x03" "\xc2" "\xa0" "\xa0" "\xcd\xff\xff", 0,
		"a close code of 65535 is accepted");
	EXPECT("\x99\x01\x03" "\x01" "\xa0" "\x03" "\xc2" "\xa0" "\xa0" "\xce\x00\x01\x00\x00",
		-EPROTO, "a close code over 65535 is rejected");

	/* OP base: [1, 5, worker, op, [type, uids, groups, clients, exclude,
	 * data, has_data, binary, session]] */
	EXPECT("\x95\x01\x05\x00\x00" "\x99\x00\x90\x90\x90\x90\xa0\xc2\xc2\xa0", -EPROTO,
		"command type 0 is rejected");
	EXPECT("\x95\x01\x05\x00\x00" "\x99\x16\x90\x90\x90\x90\xa0\xc2\xc2\xa0", 0,
		"the last command type is accepted");
	EXPECT("\x95\x01\x05\x00\x00" "\x99\x17\x90\x90\x90\x90\xa0\xc2\xc2\xa0", -EPROTO,
		"command type CMD__COUNT is rejected");
	EXPECT("\x95\x01\x05\x00\x00" "\x99\x01\x91\x01\x90\x90\x90\xa0\xc2\xc2\xa0", -EPROTO,
		"a list holding an integer is rejected");
	EXPECT("\x95\x01\x05\x00\x00" "\x99\x01\xa0\x90\x90\x90\xa0\xc2\xc2\xa0", -EPROTO,
		"a string where a list belongs is rejected");
	EXPECT("\x95\x01\x05\x00\x00" "\x99\x01\x91\xc4\x01" "x" "\x90\x90\x90\xa0\xc2\xc2\xa0",
		0, "a list of bin is accepted");
	EXPECT("\x95\x01\x05\x00\x00" "\xa0", -EPROTO, "a cmd that is not an array is rejected");

	/* RESULT: int64 fields */
	EXPECT("\x9d\x01\x06\x00\xc3\xa0\xa0" "\xcf\x80\x00\x00\x00\x00\x00\x00\x00"
	       "\x00\x90\xa0\xc2\x00\x00",
		-EPROTO, "a delivered count over INT64_MAX is rejected");
	EXPECT("\x9d\x01\x06\x00\xc3\xa0\xa0" "\xd3\x80\x00\x00\x00\x00\x00\x00\x00"
	       "\x00\x90\xa0\xc2\x00\x00",
		0, "a delivered count of INT64_MIN is accepted");
}

static void
test_list_bounds(void)
{
	struct buf b = BUF_INIT;
	struct proto_msg m, d;
	struct pstr *v = xcalloc(PROTO_MAX_LIST + 1, sizeof *v);
	struct proto_member *mv = xcalloc(PROTO_MAX_MEMBERS + 1, sizeof *mv);

	EXPECT("\x95\x01\x05\x00\x00" "\x99\x01" "\xdd\x00\x01\x86\xa1", -EMSGSIZE,
		"a list header over PROTO_MAX_LIST is rejected before its entries");
	EXPECT("\x95\x01\x05\x00\x00" "\x99\x01" "\xdd\x00\x01\x86\xa0" "\xa0", -EPROTO,
		"a list count beyond the input is rejected");
	EXPECT("\x94\x01\x02\x00" "\xdc\x10\x01", -EMSGSIZE,
		"a member count over PROTO_MAX_MEMBERS is rejected");
	EXPECT("\x94\x01\x02\x00" "\xdc\x10\x00" "\x93\x01\x01\xa0", -EPROTO,
		"a member count beyond the input is rejected");

	memset(&m, 0, sizeof m);
	m.type = PROTO_REQUEST;
	m.u.request.cmd.type = CMD_SEND_TO_UID;
	m.u.request.cmd.uids = (struct pstr_list){v, PROTO_MAX_LIST};
	m.u.request.cmd.exclude = (struct pstr_list){v, PROTO_MAX_LIST};
	proto_encode(&m, &b);
	tap_eq_int(proto_decode(b.p, b.len, &d), 0,
		"two lists of PROTO_MAX_LIST entries each are accepted");
	tap_ok(msg_eq(&m, &d), "  ... and decode to the same lists");
	proto_msg_fini(&d);

	buf_reset(&b);
	m.u.request.cmd.groups = (struct pstr_list){v, PROTO_MAX_LIST + 1};
	proto_encode(&m, &b);
	tap_eq_int(proto_decode(b.p, b.len, &d), -EMSGSIZE,
		"a list of PROTO_MAX_LIST + 1 entries is rejected");
	tap_ok(d.arena == NULL, "  ... and leaves nothing to free");

	for (int i = 0; i <= PROTO_MAX_MEMBERS; i++)
		mv[i].role = ROLE_WORKER;
	memset(&m, 0, sizeof m);
	m.type = PROTO_MEMBERS;
	m.u.members.v = mv;
	m.u.members.n = PROTO_MAX_MEMBERS;
	buf_reset(&b);
	proto_encode(&m, &b);
	tap_eq_int(proto_decode(b.p, b.len, &d), 0, "PROTO_MAX_MEMBERS members are accepted");
	proto_msg_fini(&d);
	m.u.members.n = PROTO_MAX_MEMBERS + 1;
	buf_reset(&b);
	proto_encode(&m, &b);
	tap_eq_int(proto_decode(b.p, b.len, &d), -EMSGSIZE,
		"PROTO_MAX_MEMBERS + 1 members are rejected");

	buf_fini(&b);
	free(v);
	free(mv);
}

/* Every strict prefix of a valid message is an error, never a crash. */
static void
test_truncation(void)
{
	static const char *const names[] = {
		[PROTO_ANNOUNCE] = "every truncation of an ANNOUNCE is rejected",
		[PROTO_MEMBERS] = "every truncation of a MEMBERS is rejected",
		[PROTO_EVENT] = "every truncation of an EVENT is rejected",
		[PROTO_REQUEST] = "every truncation of a REQUEST is rejected",
		[PROTO_OP] = "every truncation of an OP is rejected",
		[PROTO_RESULT] = "every truncation of a RESULT is rejected",
		[PROTO_REPLY] = "every truncation of a REPLY is rejected",
		[PROTO_STATUS_QUERY] = "every truncation of a STATUS_QUERY is rejected",
		[PROTO_STATUS] = "every truncation of a STATUS is rejected",
	};
	for (int t = PROTO_ANNOUNCE; t <= PROTO_STATUS; t++) {
		struct proto_msg m = sample((enum proto_type)t), d;
		struct buf b = BUF_INIT;
		int bad = 0;

		proto_encode(&m, &b);
		for (size_t k = 0; k < b.len; k++) {
			char *copy = xmemdup(b.p, k);
			int rc = proto_decode(copy, k, &d);
			if (rc != -EPROTO || d.arena != NULL) {
				printf("#   prefix of %zu bytes: %d\n", k, rc);
				bad++;
			}
			proto_msg_fini(&d);
			free(copy);
		}
		tap_eq_int(bad, 0, names[t]);
		buf_fini(&b);
	}
}

static void
test_trailing(void)
{
	struct proto_msg m = sample(PROTO_OP), d;
	struct buf b = BUF_INIT;
	size_t len;

	proto_encode(&m, &b);
	len = b.len;
	buf_append_char(&b, '\xc0');
	tap_eq_int(proto_decode(b.p, b.len, &d), -EBADMSG, "a trailing nil is rejected");
	tap_ok(d.arena == NULL, "  ... and leaves nothing to free");
	b.len = len;
	proto_encode(&m, &b);
	tap_eq_int(proto_decode(b.p, b.len, &d), -EBADMSG,
		"two messages in one buffer are rejected");
	tap_eq_int(proto_decode(b.p, len, &d), 0, "  ... while the first alone decodes");
	tap_ok(msg_eq(&m, &d), "  ... to the message");
	proto_msg_fini(&d);
	buf_fini(&b);

	EXPECT("\x95\x01\x01\x93\x01\x01\xa0\x00\xc2" "\x00", -EBADMSG,
		"a trailing zero after an ANNOUNCE is rejected");
}

struct batch_seen {
	const struct proto_msg *want[3];
	size_t n, bad;
};

static void
batch_visit(void *arg, struct proto_msg *m)
{
	struct batch_seen *s = arg;
	if (s->n >= 3 || !msg_eq(s->want[s->n], m))
		s->bad++;
	s->n++;
}

/* Messages back to back (an outlink batch): proto_decode_next takes them
 * one by one; proto_decode refuses the concatenation. */
static void
test_decode_next(void)
{
	struct proto_msg a = sample(PROTO_REQUEST), b = sample(PROTO_EVENT), c = sample(PROTO_REPLY);
	struct buf all = BUF_INIT;
	size_t la, lb;
	proto_encode(&a, &all);
	la = all.len;
	proto_encode(&b, &all);
	lb = all.len - la;
	proto_encode(&c, &all);

	struct proto_msg m;
	size_t used = 0, off = 0;
	tap_eq_int(proto_decode(all.p, all.len, &m), -EBADMSG, "proto_decode refuses a batch");
	tap_eq_int(proto_decode_next(all.p, all.len, &m, &used), 0, "the first of a batch decodes");
	tap_ok(msg_eq(&a, &m) && used == la, "  ... equal to what was sent, with its length");
	proto_msg_fini(&m);
	off += used;
	tap_eq_int(proto_decode_next(all.p + off, all.len - off, &m, &used), 0, "the second decodes");
	tap_ok(msg_eq(&b, &m) && used == lb, "  ... equal, with its length");
	proto_msg_fini(&m);
	off += used;
	tap_eq_int(proto_decode_next(all.p + off, all.len - off, &m, &used), 0, "the third decodes");
	tap_ok(msg_eq(&c, &m) && off + used == all.len, "  ... and ends the batch");
	proto_msg_fini(&m);
	/* A batch cut in the middle of its last message fails on that one. */
	off = la;
	tap_eq_int(proto_decode_next(all.p + off, lb - 1, &m, &used), -EPROTO,
		"a message cut short fails");
	tap_ok(m.arena == NULL, "  ... and leaves nothing to free");

	/* proto_decode_batch: every message to the visitor, in order; a bad
	 * one ends the batch and says how much was left. */
	struct batch_seen seen = {{&a, &b, &c}, 0, 0};
	size_t left = 99;
	tap_eq_int(proto_decode_batch(all.p, all.len, batch_visit, &seen, &left), 0,
		"a batch decodes whole");
	tap_ok(seen.n == 3 && seen.bad == 0 && left == 0, "  ... each message once, in order");
	seen.n = 0;
	buf_append(&all, "\xc1", 1); /* never used in msgpack */
	tap_eq_int(proto_decode_batch(all.p, all.len, batch_visit, &seen, &left), -EPROTO,
		"a batch with a bad message at the end fails");
	tap_ok(seen.n == 3 && seen.bad == 0 && left == 1, "  ... after the good ones, 1 byte left");
	buf_fini(&all);
}

static void
test_forward_compat(void)
{
	/* An ANNOUNCE from a newer sender: after its stats (which carry an extra
	 * field of their own) come 2 extra top-level fields (a map holding an
	 * array and a float, and a nil); its member has an extra field after
	 * left. */
	static const char newer_announce[] =
		"\x98"                         /* array of 8 */
		"\x01\x01"                     /* version, ANNOUNCE */
		"\x95"                         /* self: array of 5 */
		"\x02" "\x05" "\xa1" "q"       /*   role, id, inbox */
		"\xc3"                         /*   left: true */
		"\xd4\x01\x00"                 /*   extra: fixext 1 */
		"\xcd\x13\x88"                 /* lease_ms 5000 */
		"\xc3"                         /* leaving */
		"\x9d"                         /* stats: array of 13 */
		"\x11" "\xa1" "h" "\x12\x13\x14\x15\x16\x17\x18\x19\x1a" "\xc3" /* ... */
		"\x91\xc0"                     /*   extra: [nil] */
		"\x81\xa1" "k" "\x92\x01\xcb\x40\x04\x00\x00\x00\x00\x00\x00" /* {"k": [1, 2.5]} */
		"\xc0";                        /* nil */
	/* An OP whose cmd carries an extra field and whose top level carries a
	 * nested array after both optional fields. */
	static const char newer_op[] =
		"\x98\x01\x05\x07\x00"
		"\x9b\x01\x91\xa2" "42" "\x90\x90\x90\xc4\x02" "hi" "\xc3\xc2\xa0\xc2" /* cmd + */
		"\xc4\x01" "z"                 /*   extra bin */
		"\xcd\x01\x00"                 /* pushed_us 256 */
		"\xcd\x01\x01"                 /* expires 257 */
		"\x92\x92\x90\x80\xa0";        /* extra [[[], {}], ""] */
	/* A MEMBERS whose one member has two fields after left. */
	static const char newer_members[] =
		"\x94\x01\x02\x01"
		"\x91" "\x96\x01\x02\xa1" "m" "\xc3" "\xc0" "\x90"; /* [1, 2, "m", true, nil, []] */
	/* A STATUS with an extra field in its own stats, in a member entry, in
	 * that entry's stats and at the top level; and a STATUS_QUERY with
	 * fields. */
	static const char newer_status[] =
		"\x95\x01\x09"
		"\x9d\x01\xa1" "r" "\x00\x00\x00\x00\x00\x00\x00\x00\x00\xc2" "\xa1" "x"
		"\x91" "\x94\x02\x03"
		"\x9d\x04\xa0\x00\x00\x00\x00\x00\x00\x00\x00\x05\xc3" "\x80"
		"\x92\x01\x02"                 /*   entry extra: [1, 2] */
		"\x81\x01\x02";                /* top-level extra: {1: 2} */
	static const char newer_query[] = "\x94\x01\x08" "\xc0" "\x91\xa0";
	struct proto_msg m;

	memset(&m, 0x01, sizeof m);
	tap_eq_int(proto_decode(newer_announce, sizeof newer_announce - 1, &m), 0,
		"extra fields after an ANNOUNCE's stats, its stats' and its member's are accepted");
	tap_ok(m.type == PROTO_ANNOUNCE && m.u.announce.self.role == ROLE_WORKER &&
	       m.u.announce.self.id == 5 && pstr_eq_c(m.u.announce.self.inbox, "q") &&
	       m.u.announce.self.left && m.u.announce.lease_ms == 5000 &&
	       m.u.announce.leaving && m.u.announce.has_stats,
		"  ... and the known fields are read");
	tap_ok(m.u.announce.stats.pid == 0x11 && pstr_eq_c(m.u.announce.stats.host, "h") &&
	       m.u.announce.stats.started == 0x12 && m.u.announce.stats.rss == 0x13 &&
	       m.u.announce.stats.connections == 0x14 && m.u.announce.stats.uids == 0x15 &&
	       m.u.announce.stats.groups == 0x16 && m.u.announce.stats.msgs_in == 0x17 &&
	       m.u.announce.stats.msgs_out == 0x18 && m.u.announce.stats.pushes == 0x19 &&
	       m.u.announce.stats.push_rate == 0x1a && m.u.announce.stats.draining,
		"  ... and so are the stats");
	proto_msg_fini(&m);

	tap_eq_int(proto_decode(newer_op, sizeof newer_op - 1, &m), 0,
		"extra fields after an OP's expiry and its cmd are accepted");
	tap_ok(m.type == PROTO_OP && m.u.op.worker == 7 && m.u.op.cmd.uids.n == 1 &&
	       pstr_eq_c(m.u.op.cmd.uids.v[0], "42") && pstr_eq_c(m.u.op.cmd.data, "hi") &&
	       m.u.op.cmd.has_data && !m.u.op.cmd.binary && !m.u.op.cmd.from_client &&
	       m.u.op.pushed_us == 256 &&
	       m.u.op.expires == 257,
		"  ... and the known fields are read");
	proto_msg_fini(&m);

	tap_eq_int(proto_decode(newer_members, sizeof newer_members - 1, &m), 0,
		"extra fields after a member's left are accepted");
	tap_ok(m.type == PROTO_MEMBERS && m.u.members.version == 1 && m.u.members.n == 1 &&
	       m.u.members.v[0].role == ROLE_GATEWAY && m.u.members.v[0].id == 2 &&
	       pstr_eq_c(m.u.members.v[0].inbox, "m") && m.u.members.v[0].left,
		"  ... and the known fields are read");
	proto_msg_fini(&m);

	tap_eq_int(proto_decode(newer_status, sizeof newer_status - 1, &m), 0,
		"extra fields in a STATUS, its stats and its entries are accepted");
	tap_ok(m.type == PROTO_STATUS && m.u.status.self.pid == 1 &&
	       pstr_eq_c(m.u.status.self.host, "r") && !m.u.status.self.draining &&
	       m.u.status.n == 1 && m.u.status.v[0].role == ROLE_WORKER &&
	       m.u.status.v[0].id == 3 && m.u.status.v[0].stats.pid == 4 &&
	       m.u.status.v[0].stats.host.n == 0 && m.u.status.v[0].stats.push_rate == 5 &&
	       m.u.status.v[0].stats.draining,
		"  ... and the known fields are read");
	proto_msg_fini(&m);

	EXPECT(newer_query, 0, "extra fields after a STATUS_QUERY are accepted");

	/* Malformed extras, each after a complete ANNOUNCE with stats. */
	EXPECT("\x97\x01\x01" ANN_BODY STATS0 "\x92\x01", -EPROTO,
		"a truncated extra field is rejected");
	EXPECT("\x97\x01\x01" ANN_BODY STATS0 "\xdd\xff\xff\xff\xff\x00", -EPROTO,
		"an extra field claiming 4G entries is rejected");
	EXPECT("\x97\x01\x01" ANN_BODY STATS0 "\xc1", -EPROTO,
		"an extra field that is not msgpack is rejected");
	EXPECT("\x97\x01\x01" ANN_BODY STATS0, -EPROTO,
		"an array promising an extra field that is missing is rejected");
	EXPECT("\x97\x01\x01" ANN_BODY STATS0 "\xc0", 0,
		"  ... and accepted once it is there");
}

static void
test_lifetimes(void)
{
	struct proto_msg m, d;
	struct buf b = BUF_INIT;

	memset(&m, 0, sizeof m);
	proto_msg_fini(&m);
	tap_ok(1, "fini on a zeroed message is safe");

	m = sample(PROTO_RESULT);
	proto_encode(&m, &b);
	memset(&d, 0x5a, sizeof d);
	tap_eq_int(proto_decode(b.p, b.len, &d), 0, "decoding into uninitialised memory works");
	tap_ok(msg_eq(&m, &d), "  ... and gives the message");
	proto_msg_fini(&d);
	proto_msg_fini(&d);
	tap_ok(d.arena == NULL, "fini twice is safe");

	m.type = 0;
	buf_reset(&b);
	tap_eq_int(proto_encode(&m, &b), -EINVAL, "encoding type 0 fails");
	m.type = PROTO_STATUS + 1;
	tap_eq_int(proto_encode(&m, &b), -EINVAL, "encoding type 10 fails");
	tap_eq_int(b.len, 0, "  ... appending nothing");

	buf_append_str(&b, "prefix");
	m = sample(PROTO_EVENT);
	proto_encode(&m, &b);
	tap_ok(memcmp(b.p, "prefix", 6) == 0, "encoding appends after existing bytes");
	tap_eq_int(proto_decode(b.p + 6, b.len - 6, &d), 0, "  ... and what it appended decodes");
	proto_msg_fini(&d);

	/* A STATUS's member array is the decoder's one allocation. */
	m = sample(PROTO_STATUS);
	buf_reset(&b);
	proto_encode(&m, &b);
	memset(&d, 0x5a, sizeof d);
	tap_eq_int(proto_decode(b.p, b.len, &d), 0, "a STATUS decodes into uninitialised memory");
	tap_ok(d.arena != NULL && d.arena == (void *)d.u.status.v,
		"  ... its members held by the message");
	tap_ok(msg_eq(&m, &d), "  ... and gives the message");
	proto_msg_fini(&d);
	proto_msg_fini(&d);
	tap_ok(d.arena == NULL, "  ... and fini twice is safe");

	m = sample_empty(PROTO_STATUS);
	buf_reset(&b);
	proto_encode(&m, &b);
	memset(&d, 0x5a, sizeof d);
	tap_eq_int(proto_decode(b.p, b.len, &d), 0, "a STATUS without members decodes");
	tap_ok(d.u.status.n == 0 && d.u.status.v == NULL && d.arena == NULL,
		"  ... allocating nothing");
	proto_msg_fini(&d);
	buf_fini(&b);
}

/* ---- fields appended to a layout ---- */

/* Encodes m, cuts its last `drop` top-level fields (each a uint64 of
 * `widths[i]` bytes at the end, last field first) by rewriting the fixarray
 * header, and decodes what is left into d. */
static int
decode_without(const struct proto_msg *m, int drop, const size_t *widths, struct proto_msg *d)
{
	struct buf b = BUF_INIT;
	size_t len;
	int rc;

	proto_encode(m, &b);
	len = b.len;
	for (int i = 0; i < drop; i++)
		len -= widths[i];
	b.p[0] = (char)((uint8_t)b.p[0] - drop);
	rc = proto_decode(b.p, len, d);
	buf_fini(&b);
	return rc;
}

static void
test_optional_fields(void)
{
	/* uint64 encodings: 0xcf + 8 bytes for large values, one byte for 0. */
	static const size_t wide[] = {9, 9}, narrow[] = {1, 9};
	struct proto_msg m, d;
	struct buf b = BUF_INIT;

	memset(&m, 0, sizeof m);
	m.type = PROTO_REQUEST;
	m.u.request.gateway = 7;
	m.u.request.req = 9;
	m.u.request.cmd.type = CMD_SEND_TO_ALL;
	m.u.request.expires = 1790000000123ULL;
	m.u.request.pushed_us = 1789999995123456ULL;
	proto_encode(&m, &b);
	tap_ok((uint8_t)b.p[0] == 0x97 && (uint8_t)b.p[b.len - 18] == 0xcf &&
	       (uint8_t)b.p[b.len - 9] == 0xcf,
		"a REQUEST ends with its expiry and push time, each a uint64");
	tap_eq_int(proto_decode(b.p, b.len, &d), 0, "a REQUEST with a push time decodes");
	tap_ok(d.u.request.expires == m.u.request.expires &&
	       d.u.request.pushed_us == m.u.request.pushed_us,
		"  ... and both survive the round trip");
	proto_msg_fini(&d);
	buf_fini(&b);

	m.u.request.pushed_us = 0;
	round_trip(&m, "a REQUEST without a push time (0) round-trips");
	tap_eq_int(decode_without(&m, 1, narrow, &d), 0,
		"a REQUEST of four fields (before the push time existed) decodes");
	tap_ok(d.u.request.expires == 1790000000123ULL && d.u.request.pushed_us == 0,
		"  ... with its expiry, and no push time");
	proto_msg_fini(&d);

	m.u.request.pushed_us = 1789999995123456ULL;
	tap_eq_int(decode_without(&m, 2, wide, &d), 0,
		"a REQUEST of three fields (before the expiry existed) decodes");
	tap_ok(d.u.request.expires == 0 && d.u.request.pushed_us == 0 &&
	       d.u.request.req == 9 && d.u.request.cmd.type == CMD_SEND_TO_ALL,
		"  ... with the known fields read and both optional ones 0");
	proto_msg_fini(&d);

	memset(&m, 0, sizeof m);
	m.type = PROTO_OP;
	m.u.op.worker = 3;
	m.u.op.op = 4;
	m.u.op.cmd.type = CMD_SEND_TO_UID;
	m.u.op.pushed_us = 1789999995123456ULL;
	m.u.op.expires = 1790000000123ULL;
	proto_encode(&m, &b);
	tap_ok((uint8_t)b.p[0] == 0x97 && (uint8_t)b.p[b.len - 18] == 0xcf &&
	       (uint8_t)b.p[b.len - 9] == 0xcf &&
	       memcmp(b.p + b.len - 8, "\x00\x00\x01\xa0\xc4\x50\x6c\x7b", 8) == 0,
		"an OP ends with its push time, then its expiry, each a uint64");
	buf_fini(&b);
	round_trip(&m, "an OP with a push time and an expiry round-trips");
	memset(&d, 0x5a, sizeof d);
	tap_eq_int(decode_without(&m, 1, wide, &d), 0,
		"an OP of four fields (before the expiry existed) decodes");
	tap_ok(d.u.op.expires == 0 && d.u.op.pushed_us == 1789999995123456ULL &&
	       d.u.op.worker == 3 && d.u.op.op == 4,
		"  ... with its push time, and expiry 0");
	proto_msg_fini(&d);
	memset(&d, 0x5a, sizeof d);
	tap_eq_int(decode_without(&m, 2, wide, &d), 0,
		"an OP of three fields (before the push time existed) decodes");
	tap_ok(d.u.op.pushed_us == 0 && d.u.op.expires == 0 && d.u.op.worker == 3 &&
	       d.u.op.op == 4,
		"  ... with the known fields read and both optional ones 0");
	proto_msg_fini(&d);
	m.u.op.expires = 0;
	round_trip(&m, "an OP with a push time and no expiry (0) round-trips");
	m.u.op.pushed_us = 0;
	m.u.op.expires = UINT64_MAX;
	round_trip(&m, "an OP with an expiry and no push time (0) round-trips");
	m.u.op.expires = 0;
	round_trip(&m, "an OP with neither (both 0) round-trips");
	EXPECT("\x96\x01\x05\x07\x08" "\x99\x01\x90\x90\x90\x90\xa0\xc2\xc2\xa0" "\xcd\x01\x00",
		0, "an OP in the shape before the expiry (as bytes) decodes");
	EXPECT("\x97\x01\x05\x00\x00" "\x99\x01\x90\x90\x90\x90\xa0\xc2\xc2\xa0" "\x00"
	       "\xa1" "1",
		-EPROTO, "an OP expiry that is a string is rejected");
	EXPECT("\x97\x01\x05\x00\x00" "\x99\x01\x90\x90\x90\x90\xa0\xc2\xc2\xa0" "\x00"
	       "\xff",
		-EPROTO, "a negative OP expiry is rejected");
	EXPECT("\x97\x01\x05\x00\x00" "\x99\x01\x90\x90\x90\x90\xa0\xc2\xc2\xa0" "\x00"
	       "\xc0",
		-EPROTO, "an OP expiry that is nil is rejected");
	EXPECT("\x97\x01\x05\x00\x00" "\x99\x01\x90\x90\x90\x90\xa0\xc2\xc2\xa0" "\x00",
		-EPROTO, "an OP promising an expiry that is missing is rejected");
	EXPECT("\x98\x01\x05\x00\x00" "\x99\x01\x90\x90\x90\x90\xa0\xc2\xc2\xa0" "\x00"
	       "\x00" "\xc0",
		0, "an OP with a field after the expiry is accepted");

	/* The new fields are checked like any other. */
	EXPECT("\x96\x01\x05\x00\x00" "\x99\x01\x90\x90\x90\x90\xa0\xc2\xc2\xa0" "\xa1" "1",
		-EPROTO, "an OP push time that is a string is rejected");
	EXPECT("\x96\x01\x05\x00\x00" "\x99\x01\x90\x90\x90\x90\xa0\xc2\xc2\xa0" "\xff",
		-EPROTO, "a negative OP push time is rejected");
	EXPECT("\x97\x01\x04\x00\x00" "\x99\x01\x90\x90\x90\x90\xa0\xc2\xc2\xa0" "\x00" "\xc0",
		-EPROTO, "a REQUEST push time that is nil is rejected");
	EXPECT("\x98\x01\x04\x00\x00" "\x99\x01\x90\x90\x90\x90\xa0\xc2\xc2\xa0" "\x00\x05"
	       "\xc0",
		0, "a REQUEST with a field after the push time is accepted");
	EXPECT("\x97\x01\x04\x00\x00" "\x99\x01\x90\x90\x90\x90\xa0\xc2\xc2\xa0" "\x00",
		-EPROTO, "a REQUEST promising a push time that is missing is rejected");
}

/* A cmd's from_client was appended after its 9 fields: an older sender's cmd
 * reads it as has_data (what marked a client's own join before). */
static void
test_from_client(void)
{
	static const char old_with_data[] =
		"\x95\x01\x05\x00\x00" "\x99\x08\x90\x91\xa1" "g" "\x90\x90\xa0\xc3\xc2\xa0";
	static const char old_without[] =
		"\x95\x01\x05\x00\x00" "\x99\x08\x90\x91\xa1" "g" "\x90\x90\xa0\xc2\xc2\xa0";
	static const char new_not_client[] =
		"\x95\x01\x05\x00\x00" "\x9a\x08\x90\x91\xa1" "g" "\x90\x90\xa0\xc3\xc2\xa0\xc2";
	static const char new_client[] =
		"\x95\x01\x05\x00\x00" "\x9a\x08\x90\x91\xa1" "g" "\x90\x90\xa0\xc2\xc2\xa0\xc3";
	struct proto_msg m;

	tap_eq_int(proto_decode(old_with_data, sizeof old_with_data - 1, &m), 0,
		"a cmd without from_client decodes");
	tap_ok(m.u.op.cmd.type == CMD_JOIN_GROUP && m.u.op.cmd.from_client,
		"  ... and one with data reads as a client's own request");
	proto_msg_fini(&m);
	tap_eq_int(proto_decode(old_without, sizeof old_without - 1, &m), 0,
		"a cmd without from_client or data decodes");
	tap_ok(!m.u.op.cmd.from_client, "  ... and reads as not a client's request");
	proto_msg_fini(&m);
	tap_eq_int(proto_decode(new_not_client, sizeof new_not_client - 1, &m), 0,
		"a cmd with from_client false decodes");
	tap_ok(m.u.op.cmd.has_data && !m.u.op.cmd.from_client,
		"  ... and from_client false wins over has_data");
	proto_msg_fini(&m);
	tap_eq_int(proto_decode(new_client, sizeof new_client - 1, &m), 0,
		"a cmd with from_client true decodes");
	tap_ok(!m.u.op.cmd.has_data && m.u.op.cmd.from_client,
		"  ... and from_client is read without data");
	proto_msg_fini(&m);
	EXPECT("\x95\x01\x05\x00\x00" "\x9a\x08\x90\x90\x90\x90\xa0\xc2\xc2\xa0\x01", -EPROTO,
		"a from_client that is not a bool is rejected");

	struct proto_msg e;
	memset(&e, 0, sizeof e);
	e.type = PROTO_OP;
	e.u.op.cmd.type = CMD_JOIN_GROUP;
	e.u.op.cmd.from_client = true;
	round_trip(&e, "an OP whose cmd is a client's own request round-trips");
}

/* ---- stats, left, STATUS_QUERY and STATUS ---- */

/* Encodes m, checks the first byte (the top-level fixarray header), decodes
 * into memory full of junk, compares and returns the decode's result. */
static int
encode_decode(const struct proto_msg *m, uint8_t want_hdr, struct proto_msg *d,
	const char *name)
{
	struct buf b = BUF_INIT;
	int rc;

	proto_encode(m, &b);
	tap_eq_int((uint8_t)b.p[0], want_hdr, name);
	memset(d, 0x01, sizeof *d);
	rc = proto_decode(b.p, b.len, d);
	if (rc == 0)
		tap_ok(msg_eq(m, d), "  ... and decodes to the same message");
	proto_msg_fini(d);
	buf_fini(&b);
	return rc;
}

static void
test_announce_stats(void)
{
	static const char old_announce[] =
		"\x95\x01\x01" "\x93\x02\x07\xa1" "i" "\xcd\x13\x88" "\xc3";
	struct proto_msg m, d;
	struct buf b = BUF_INIT;
	int rc;

	m = sample(PROTO_ANNOUNCE);
	tap_eq_int(encode_decode(&m, 0x96, &d, "an ANNOUNCE with stats is an array of 6"), 0,
		"  ... which decodes");
	/* Field by field, so that a failure says which one. */
	proto_encode(&m, &b);
	memset(&d, 0, sizeof d);
	rc = proto_decode(b.p, b.len, &d);
	tap_eq_int(rc, 0, "an ANNOUNCE with stats decodes");
	tap_ok(d.u.announce.has_stats, "  ... with has_stats");
	tap_ok(d.u.announce.stats.pid == UINT32_MAX, "  ... pid");
	tap_ok(d.u.announce.stats.host.n == sizeof host_bytes &&
	       memcmp(d.u.announce.stats.host.p, host_bytes, sizeof host_bytes) == 0,
		"  ... host, byte for byte (a NUL inside)");
	tap_ok(d.u.announce.stats.started == 1790000000123ULL, "  ... started");
	tap_ok(d.u.announce.stats.rss == 0x123456789aULL, "  ... rss");
	tap_ok(d.u.announce.stats.connections == UINT64_MAX, "  ... connections");
	tap_ok(d.u.announce.stats.uids == 70000, "  ... uids");
	tap_ok(d.u.announce.stats.groups == 300, "  ... groups");
	tap_ok(d.u.announce.stats.msgs_in == 1ULL << 32, "  ... msgs_in");
	tap_ok(d.u.announce.stats.msgs_out == (1ULL << 32) + 1, "  ... msgs_out");
	tap_ok(d.u.announce.stats.pushes == 127, "  ... pushes");
	tap_ok(d.u.announce.stats.push_rate == UINT32_MAX - 1, "  ... push_rate");
	tap_ok(d.u.announce.stats.draining, "  ... draining");
	tap_ok(d.u.announce.self.left && d.u.announce.self.id == UINT64_MAX &&
	       d.u.announce.lease_ms == UINT32_MAX && d.u.announce.leaving,
		"  ... and the fields before the stats");
	proto_msg_fini(&d);
	buf_fini(&b);

	m.u.announce.stats.draining = false;
	m.u.announce.stats.host = pstr_c("");
	tap_eq_int(encode_decode(&m, 0x96, &d, "an ANNOUNCE with an empty host, not draining"),
		0, "  ... decodes");
	memset(&m.u.announce.stats, 0, sizeof m.u.announce.stats);
	tap_eq_int(encode_decode(&m, 0x96, &d, "an ANNOUNCE with zeroed stats is still an array of 6"),
		0, "  ... and decodes");

	/* has_stats false: the stats are not sent, whatever they hold. */
	m = sample(PROTO_ANNOUNCE);
	m.u.announce.has_stats = false;
	tap_eq_int(encode_decode(&m, 0x95, &d, "an ANNOUNCE without stats is an array of 5"), 0,
		"  ... which decodes");
	proto_encode(&m, &b);
	memset(&d, 0x01, sizeof d);
	tap_eq_int(proto_decode(b.p, b.len, &d), 0, "an ANNOUNCE without stats decodes");
	tap_ok(!d.u.announce.has_stats, "  ... without has_stats");
	proto_msg_fini(&d);
	buf_fini(&b);

	/* The old shape: no stats, a member of three fields. */
	memset(&d, 0x01, sizeof d);
	rc = proto_decode(old_announce, sizeof old_announce - 1, &d);
	tap_eq_int(rc, 0, "an ANNOUNCE of the old shape decodes");
	tap_ok(rc == 0 && !d.u.announce.has_stats && !d.u.announce.self.left &&
	       d.u.announce.self.role == ROLE_WORKER && d.u.announce.self.id == 7 &&
	       pstr_eq_c(d.u.announce.self.inbox, "i") && d.u.announce.lease_ms == 5000 &&
	       d.u.announce.leaving,
		"  ... with no stats and left false");
	proto_msg_fini(&d);

	/* The 4th field must be a stats array. */
	EXPECT("\x96\x01\x01" ANN_BODY "\xc0", -EPROTO,
		"an ANNOUNCE whose 4th field is nil is rejected");
	EXPECT("\x96\x01\x01" ANN_BODY "\x00", -EPROTO,
		"an ANNOUNCE whose 4th field is an integer is rejected");
	EXPECT("\x96\x01\x01" ANN_BODY "\xa0", -EPROTO,
		"an ANNOUNCE whose 4th field is a string is rejected");
	EXPECT("\x96\x01\x01" ANN_BODY "\x80", -EPROTO,
		"an ANNOUNCE whose 4th field is a map is rejected");
	EXPECT("\x96\x01\x01" ANN_BODY "\x90", -EPROTO,
		"an ANNOUNCE whose 4th field is an empty array is rejected");
	EXPECT("\x96\x01\x01" ANN_BODY "\x9b\x00\xa0\x00\x00\x00\x00\x00\x00\x00\x00\x00", -EPROTO,
		"an ANNOUNCE whose stats have 11 fields is rejected");
	EXPECT("\x96\x01\x01" ANN_BODY STATS0, 0, "an ANNOUNCE with 12 stats fields is accepted");
	EXPECT("\x96\x01\x01" ANN_BODY "\x9c\x00\xa0\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00",
		-EPROTO, "stats whose draining is an integer are rejected");
	EXPECT("\x96\x01\x01" ANN_BODY "\x9c\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\xc2",
		-EPROTO, "stats whose host is an integer are rejected");
	EXPECT("\x96\x01\x01" ANN_BODY "\x9c\x00\xc4\x01" "h" "\x00\x00\x00\x00\x00\x00\x00\x00\x00\xc2",
		0, "stats whose host is bin are accepted");
	EXPECT("\x96\x01\x01" ANN_BODY "\x9c\xce\xff\xff\xff\xff\xa0\x00\x00\x00\x00\x00\x00\x00\x00\x00\xc2",
		0, "a pid of UINT32_MAX is accepted");
	EXPECT("\x96\x01\x01" ANN_BODY "\x9c\xcf\x00\x00\x00\x01\x00\x00\x00\x00\xa0"
	       "\x00\x00\x00\x00\x00\x00\x00\x00\x00\xc2",
		-EPROTO, "a pid over UINT32_MAX is rejected");
	EXPECT("\x96\x01\x01" ANN_BODY "\x9c\x00\xa0\x00\x00\x00\x00\x00\x00\x00\x00"
	       "\xcf\x00\x00\x00\x01\x00\x00\x00\x00" "\xc2",
		-EPROTO, "a push rate over UINT32_MAX is rejected");
	EXPECT("\x96\x01\x01" ANN_BODY "\x9c\x00\xa0\xff\x00\x00\x00\x00\x00\x00\x00\x00\xc2",
		-EPROTO, "a negative start time is rejected");
	EXPECT("\x96\x01\x01" ANN_BODY "\x9c\x00\xa0\x00\x00\x00\x00\x00\x00\x00\xca\x00\x00\x00\x00"
	       "\x00\xc2",
		-EPROTO, "a float counter is rejected");
}

static void
test_members_left(void)
{
	/* [1, 2, 5, [[GATEWAY, 1, "a"], [WORKER, 2, "b", true]]] */
	static const char old_members[] =
		"\x94\x01\x02\x05" "\x92" "\x93\x01\x01\xa1" "a" "\x94\x02\x02\xa1" "b" "\xc3";
	struct proto_member mv[2] = {
		{ROLE_GATEWAY, 1, {"a", 1}, true},
		{ROLE_WORKER, 2, {"b", 1}, false},
	};
	struct proto_msg m, d;
	struct buf b = BUF_INIT;
	int rc;

	memset(&m, 0, sizeof m);
	m.type = PROTO_MEMBERS;
	m.u.members.version = 5;
	m.u.members.n = 2;
	m.u.members.v = mv;
	proto_encode(&m, &b);
	memset(&d, 0, sizeof d);
	rc = proto_decode(b.p, b.len, &d);
	tap_eq_int(rc, 0, "MEMBERS with one member left and one not decodes");
	tap_ok(rc == 0 && d.u.members.n == 2 && d.u.members.v[0].left &&
	       !d.u.members.v[1].left,
		"  ... keeping each member's left");
	proto_msg_fini(&d);
	buf_fini(&b);

	mv[0].left = false;
	mv[1].left = true;
	round_trip(&m, "MEMBERS with left swapped round-trips");
	mv[1].left = false;
	round_trip(&m, "MEMBERS with no member left round-trips");
	mv[0].left = mv[1].left = true;
	round_trip(&m, "MEMBERS with every member left round-trips");

	/* Members of the old shape, three fields: left reads false. */
	memset(&d, 0x01, sizeof d);
	rc = proto_decode(old_members, sizeof old_members - 1, &d);
	tap_eq_int(rc, 0, "MEMBERS with an old-shape member beside a new one decodes");
	tap_ok(rc == 0 && d.u.members.n == 2 && !d.u.members.v[0].left &&
	       d.u.members.v[0].id == 1 && pstr_eq_c(d.u.members.v[0].inbox, "a") &&
	       d.u.members.v[1].left && d.u.members.v[1].id == 2,
		"  ... the old one with left false, the new one with left true");
	proto_msg_fini(&d);

	EXPECT("\x94\x01\x02\x05" "\x91" "\x94\x01\x01\xa0\x01", -EPROTO,
		"a member whose left is an integer is rejected");
	EXPECT("\x94\x01\x02\x05" "\x91" "\x94\x01\x01\xa0\xc0", -EPROTO,
		"a member whose left is nil is rejected");
	EXPECT("\x94\x01\x02\x05" "\x91" "\x94\x01\x01\xa0", -EPROTO,
		"a member promising a left that is missing is rejected");
	EXPECT("\x95\x01\x01" "\x94\x01\x01\xa0\xa0" "\x00\xc2", -EPROTO,
		"an ANNOUNCE whose member's left is a string is rejected");
}

static void
test_status(void)
{
	struct proto_msg m, d;
	struct buf b = BUF_INIT;
	struct proto_status_member *sv = xcalloc(PROTO_MAX_MEMBERS + 1, sizeof *sv);
	int rc;

	/* STATUS_QUERY: no fields. */
	memset(&m, 0, sizeof m);
	m.type = PROTO_STATUS_QUERY;
	proto_encode(&m, &b);
	memset(&d, 0x5a, sizeof d);
	rc = proto_decode(b.p, b.len, &d);
	tap_eq_int(rc, 0, "a STATUS_QUERY decodes");
	tap_ok(rc == 0 && d.type == PROTO_STATUS_QUERY && d.arena == NULL,
		"  ... to its type, allocating nothing");
	proto_msg_fini(&d);
	buf_fini(&b);

	/* STATUS with no members. */
	memset(&m, 0, sizeof m);
	m.type = PROTO_STATUS;
	m.u.status.self = stats_v[2];
	round_trip(&m, "a STATUS with only the register's stats round-trips");
	m.u.status.self = stats_v[0];
	round_trip(&m, "a STATUS whose own stats use every field round-trips");

	/* Several members, each field checked by msg_eq; then each one by name. */
	m = sample(PROTO_STATUS);
	round_trip(&m, "a STATUS with three members round-trips");
	proto_encode(&m, &b);
	memset(&d, 0x5a, sizeof d);
	rc = proto_decode(b.p, b.len, &d);
	tap_eq_int(rc, 0, "a STATUS with three members decodes");
	tap_ok(rc == 0 && d.u.status.n == 3, "  ... to three members");
	if (rc == 0 && d.u.status.n == 3) {
		tap_ok(stats_eq(&d.u.status.self, &stats_v[2]) &&
		       pstr_eq_c(d.u.status.self.host, "reg"),
			"  ... the register's own stats");
		tap_ok(d.u.status.v[0].role == ROLE_GATEWAY &&
		       d.u.status.v[0].id == 0x65a1f0c27d3e9b10ULL &&
		       stats_eq(&d.u.status.v[0].stats, &stats_v[0]) &&
		       d.u.status.v[0].stats.draining,
			"  ... the first member, a draining gateway");
		tap_ok(d.u.status.v[1].role == ROLE_WORKER && d.u.status.v[1].id == UINT64_MAX &&
		       stats_eq(&d.u.status.v[1].stats, &stats_v[1]) &&
		       pstr_eq_c(d.u.status.v[1].stats.host, "node-2.example"),
			"  ... the second, a worker");
		tap_ok(d.u.status.v[2].role == ROLE_GATEWAY && d.u.status.v[2].id == 0 &&
		       stats_eq(&d.u.status.v[2].stats, &stats_v[3]) &&
		       !d.u.status.v[2].stats.draining,
			"  ... the third, in order");
		tap_ok(d.u.status.v[0].stats.host.p >= b.p &&
		       d.u.status.v[0].stats.host.p < b.p + b.len,
			"  ... whose hosts point into the input bytes");
	}
	proto_msg_fini(&d);
	buf_fini(&b);

	/* Bounds on the member count. */
	for (int i = 0; i <= PROTO_MAX_MEMBERS; i++) {
		sv[i].role = i % 2 ? ROLE_WORKER : ROLE_GATEWAY;
		sv[i].id = (uint64_t)i;
		sv[i].stats.pid = (uint32_t)i;
	}
	memset(&m, 0, sizeof m);
	m.type = PROTO_STATUS;
	m.u.status.v = sv;
	m.u.status.n = PROTO_MAX_MEMBERS;
	proto_encode(&m, &b);
	rc = proto_decode(b.p, b.len, &d);
	tap_eq_int(rc, 0, "a STATUS of PROTO_MAX_MEMBERS members is accepted");
	tap_ok(rc == 0 && msg_eq(&m, &d), "  ... and decodes to the same members");
	proto_msg_fini(&d);
	m.u.status.n = PROTO_MAX_MEMBERS + 1;
	buf_reset(&b);
	proto_encode(&m, &b);
	tap_eq_int(proto_decode(b.p, b.len, &d), -EMSGSIZE,
		"a STATUS of PROTO_MAX_MEMBERS + 1 members is rejected");
	tap_ok(d.arena == NULL, "  ... and leaves nothing to free");
	buf_fini(&b);
	free(sv);
	EXPECT("\x94\x01\x09" STATS0 "\xdc\x10\x01", -EMSGSIZE,
		"a STATUS member count over PROTO_MAX_MEMBERS is rejected before its entries");
	EXPECT("\x94\x01\x09" STATS0 "\xdc\x10\x00" "\x93\x01\x01" STATS0, -EPROTO,
		"a STATUS member count beyond the input is rejected");

	/* Roles. */
	EXPECT("\x94\x01\x09" STATS0 "\x91" "\x93\x00\x01" STATS0, -EPROTO,
		"a STATUS member of role 0 is rejected");
	EXPECT("\x94\x01\x09" STATS0 "\x91" "\x93\x03\x01" STATS0, -EPROTO,
		"a STATUS member of role 3 is rejected");
	EXPECT("\x94\x01\x09" STATS0 "\x91" "\x93\xa1" "1" "\x01" STATS0, -EPROTO,
		"a STATUS member whose role is a string is rejected");
	EXPECT("\x94\x01\x09" STATS0 "\x92" "\x93\x01\x01" STATS0 "\x93\x02\x02" STATS0, 0,
		"STATUS members of both roles are accepted");
	/* Short stats, in the register's own and in a member's. */
	EXPECT("\x94\x01\x09" "\x9b\x00\xa0\x00\x00\x00\x00\x00\x00\x00\x00\x00" "\x90", -EPROTO,
		"a STATUS whose own stats have 11 fields is rejected");
	EXPECT("\x94\x01\x09" STATS0 "\x91" "\x93\x01\x01"
	       "\x9b\x00\xa0\x00\x00\x00\x00\x00\x00\x00\x00\x00",
		-EPROTO, "a STATUS member whose stats have 11 fields is rejected");
	EXPECT("\x94\x01\x09" STATS0 "\x91" "\x92\x01\x01", -EPROTO,
		"a STATUS member without stats is rejected");
	/* Wrong types. */
	EXPECT("\x94\x01\x09" "\x90" "\x90", -EPROTO,
		"a STATUS whose own stats are an empty array is rejected");
	EXPECT("\x94\x01\x09" "\xc0" "\x90", -EPROTO,
		"a STATUS whose own stats are nil is rejected");
	EXPECT("\x94\x01\x09" STATS0 "\x80", -EPROTO,
		"a STATUS whose member list is a map is rejected");
	EXPECT("\x94\x01\x09" STATS0 "\x00", -EPROTO,
		"a STATUS whose member list is an integer is rejected");
	EXPECT("\x94\x01\x09" STATS0 "\x91" "\x01", -EPROTO,
		"a STATUS member that is not an array is rejected");
	EXPECT("\x94\x01\x09" STATS0 "\x91" "\x93\x01\xff" STATS0, -EPROTO,
		"a negative STATUS member id is rejected");
	EXPECT("\x94\x01\x09" STATS0 "\x91" "\x93\x01\xa0" STATS0, -EPROTO,
		"a STATUS member id that is a string is rejected");
	EXPECT("\x94\x01\x09" STATS0 "\x91" "\x93\x01\x01" "\xa0", -EPROTO,
		"a STATUS member whose stats are a string is rejected");
	EXPECT("\x94\x01\x09" STATS0 "\x91" "\x93\x01\x01"
	       "\x9c\x00\xa0\x00\x00\x00\x00\x00\x00\x00\x00\x00\xc0",
		-EPROTO, "a STATUS member whose draining is nil is rejected");
	/* A bad second member after a good first: the first's allocation is
	 * released (valgrind/ASan tell). */
	EXPECT("\x94\x01\x09" STATS0 "\x92" "\x93\x01\x01" STATS0 "\x93\x04\x01" STATS0, -EPROTO,
		"a STATUS whose second member is bad is rejected");
	EXPECT("\x94\x01\x09" STATS0 "\x91" "\x93\x01\x01" STATS0 "\xc0", -EBADMSG,
		"a trailing nil after a STATUS is rejected");
}

int
main(void)
{
	samples_init();
	test_round_trips();
	test_exact_bytes();
	test_shape_errors();
	test_field_type_errors();
	test_list_bounds();
	test_truncation();
	test_trailing();
	test_forward_compat();
	test_decode_next();
	test_lifetimes();
	test_optional_fields();
	test_from_client();
	test_announce_stats();
	test_members_left();
	test_status();
	return tap_done();
}

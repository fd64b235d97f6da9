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

static bool
list_eq(const struct pstr_list *a, const struct pstr_list *b)
{
	if (a->n != b->n)
		return false;
	for (uint32_t i = 0; i < a->n; i++)
		if (!pstr_eq(a->v[i], b->v[i]))
			return false;
	return true;
}

static bool
member_eq(const struct proto_member *a, const struct proto_member *b)
{
	return a->role == b->role && a->id == b->id && pstr_eq(a->inbox, b->inbox);
}

static bool
cmd_eq(const struct proto_cmd *a, const struct proto_cmd *b)
{
	return a->type == b->type && list_eq(&a->uids, &b->uids) &&
	       list_eq(&a->groups, &b->groups) && list_eq(&a->clients, &b->clients) &&
	       list_eq(&a->exclude, &b->exclude) && pstr_eq(a->data, b->data) &&
	       a->has_data == b->has_data && a->binary == b->binary &&
	       pstr_eq(a->session, b->session);
}

static bool
msg_eq(const struct proto_msg *a, const struct proto_msg *b)
{
	if (a->type != b->type)
		return false;
	switch (a->type) {
	case PROTO_ANNOUNCE:
		return member_eq(&a->u.announce.self, &b->u.announce.self) &&
		       a->u.announce.lease_ms == b->u.announce.lease_ms &&
		       a->u.announce.leaving == b->u.announce.leaving;
	case PROTO_MEMBERS:
		if (a->u.members.version != b->u.members.version ||
		    a->u.members.n != b->u.members.n)
			return false;
		for (uint32_t i = 0; i < a->u.members.n; i++)
			if (!member_eq(&a->u.members.v[i], &b->u.members.v[i]))
				return false;
		return true;
	case PROTO_EVENT:
		return a->u.event.gateway == b->u.event.gateway &&
		       pstr_eq(a->u.event.client_id, b->u.event.client_id) &&
		       a->u.event.kind == b->u.event.kind &&
		       a->u.event.binary == b->u.event.binary &&
		       pstr_eq(a->u.event.data, b->u.event.data) &&
		       pstr_eq(a->u.event.uid, b->u.event.uid) &&
		       a->u.event.close_code == b->u.event.close_code;
	case PROTO_REQUEST:
		return a->u.request.gateway == b->u.request.gateway &&
		       a->u.request.req == b->u.request.req &&
		       cmd_eq(&a->u.request.cmd, &b->u.request.cmd) &&
		       a->u.request.expires == b->u.request.expires &&
		       a->u.request.pushed_us == b->u.request.pushed_us;
	case PROTO_OP:
		return a->u.op.worker == b->u.op.worker && a->u.op.op == b->u.op.op &&
		       cmd_eq(&a->u.op.cmd, &b->u.op.cmd) &&
		       a->u.op.pushed_us == b->u.op.pushed_us;
	case PROTO_RESULT:
	case PROTO_REPLY:
		return a->u.result.id == b->u.result.id && a->u.result.ok == b->u.result.ok &&
		       pstr_eq(a->u.result.error, b->u.result.error) &&
		       pstr_eq(a->u.result.message, b->u.result.message) &&
		       a->u.result.delivered == b->u.result.delivered &&
		       a->u.result.count == b->u.result.count &&
		       list_eq(&a->u.result.strs, &b->u.result.strs) &&
		       pstr_eq(a->u.result.session, b->u.result.session) &&
		       a->u.result.partial == b->u.result.partial &&
		       a->u.result.answered == b->u.result.answered &&
		       a->u.result.expected == b->u.result.expected;
	}
	return false;
}

/* ---- sample messages, every field set ---- */

static struct pstr list_a[] = {{"42", 2}, {"", 0}, {"u\0x", 3}};
static struct pstr list_b[] = {{"g1", 2}, {"g2", 2}};
static struct pstr list_c[1];
static struct pstr list_d[1];
static struct proto_member members_v[3];

static void
samples_init(void)
{
	list_c[0] = pstr_c(cid1);
	list_d[0] = pstr_c(cid2);
	members_v[0] = (struct proto_member){ROLE_GATEWAY, 0x65a1f0c27d3e9b10ULL,
		pstr_c("ipc:///run/gatecast/gw1")};
	members_v[1] = (struct proto_member){ROLE_WORKER, UINT64_MAX,
		pstr_c("tcp://10.0.0.7:7301")};
	members_v[2] = (struct proto_member){ROLE_WORKER, 0, {NULL, 0}};
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
	proto_msg_fini(&d);
	buf_fini(&b);
}

static void
test_round_trips(void)
{
	static const char *const full[] = {
		[PROTO_ANNOUNCE] = "ANNOUNCE with every field set round-trips",
		[PROTO_MEMBERS] = "MEMBERS with three members round-trips",
		[PROTO_EVENT] = "EVENT with binary data holding NULs round-trips",
		[PROTO_REQUEST] = "REQUEST with every command field set round-trips",
		[PROTO_OP] = "OP with every command field set round-trips",
		[PROTO_RESULT] = "RESULT with every field set round-trips",
		[PROTO_REPLY] = "REPLY with every field set round-trips",
	};
	static const char *const empty[] = {
		[PROTO_ANNOUNCE] = "ANNOUNCE with an empty inbox round-trips",
		[PROTO_MEMBERS] = "MEMBERS with no members round-trips",
		[PROTO_EVENT] = "EVENT with empty strings round-trips",
		[PROTO_REQUEST] = "REQUEST with empty lists and strings round-trips",
		[PROTO_OP] = "OP with an empty payload round-trips",
		[PROTO_RESULT] = "RESULT with nothing set round-trips",
		[PROTO_REPLY] = "REPLY with nothing set round-trips",
	};
	for (int t = PROTO_ANNOUNCE; t <= PROTO_REPLY; t++) {
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
	"\x95"                             /* array of 5 */
	"\x01"                             /* version 1 */
	"\x01"                             /* type ANNOUNCE */
	"\x93"                             /* self: array of 3 */
	"\x01"                             /*   role GATEWAY */
	"\xcf\x65\xa1\xf0\xc2\x7d\x3e\x9b\x10" /*   id: uint64 */
	"\xad" "ipc:///tmp/g1"             /*   inbox: fixstr of 13 */
	"\xcd\x13\x88"                     /* lease_ms: uint16 5000 */
	"\xc2";                            /* leaving: false */

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
	"\x96"                             /* array of 6 */
	"\x01"                             /* version 1 */
	"\x05"                             /* type OP */
	"\x07"                             /* worker: 7 */
	"\x00"                             /* op: 0, fire and forget */
	"\x99"                             /* cmd: array of 9 */
	"\x01"                             /*   type send_to_uid */
	"\x91" "\xa2" "42"                 /*   uids: ["42"] */
	"\x90"                             /*   groups: [] */
	"\x90"                             /*   clients: [] */
	"\x90"                             /*   exclude: [] */
	"\xc4\x02" "hi"                    /*   data: bin 8 of 2 */
	"\xc3"                             /*   has_data: true */
	"\xc2"                             /*   binary: false */
	"\xa0"                             /*   session: "" */
	"\x00";                            /* pushed_us: 0, not from a push */

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

	memset(&m, 0, sizeof m);
	m.type = PROTO_ANNOUNCE;
	m.u.announce.self.role = ROLE_GATEWAY;
	m.u.announce.self.id = 0x65a1f0c27d3e9b10ULL;
	m.u.announce.self.inbox = pstr_c("ipc:///tmp/g1");
	m.u.announce.lease_ms = 5000;
	expect_bytes(&m, announce_bytes, sizeof announce_bytes - 1,
		"ANNOUNCE encodes");

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
	EXPECT("\x92\x01\x08", -EPROTO, "message type 8 is unknown");
	EXPECT("\x95\x01\x08\x93\x01\x01\xa0\x00\xc2", -EPROTO,
		"an unknown type is rejected even with a plausible body");
	EXPECT("\x95\x01\xcd\x01\x01\x93\x01\x01\xa0\x00\xc2", -EPROTO,
		"message type 257 is unknown");

	EXPECT("\x94" "\x01\x01" "\x93\x01\x01\xa0" "\x00", -EPROTO,
		"an ANNOUNCE with a field missing is rejected");
	EXPECT("\x95" "\x01\x01" "\x92\x01\x01" "\x00" "\xc2" "\xa0", -EPROTO,
		"a member with a field missing is rejected");
	EXPECT("\x95" "\x01\x05" "\x00\x00" "\x98\x01\x90\x90\x90\x90\xa0\xc2\xc2", -EPROTO,
		"a cmd with a field missing is rejected");
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
	EXPECT("\x99\x01\x03" "\x01" "\xa0" "\x04" "\xc2" "\xa0" "\xa0" "\x00", -EPROTO,
		"event kind 4 is rejected");
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
	};
	for (int t = PROTO_ANNOUNCE; t <= PROTO_REPLY; t++) {
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

static void
test_forward_compat(void)
{
	/* An ANNOUNCE from a newer sender: 2 extra top-level fields (a map
	 * holding an array and a float, and a nil) and an extra member field. */
	static const char newer_announce[] =
		"\x97"                         /* array of 7 */
		"\x01\x01"                     /* version, ANNOUNCE */
		"\x94"                         /* self: array of 4 */
		"\x02" "\x05" "\xa1" "q"       /*   role, id, inbox */
		"\xd4\x01\x00"                 /*   extra: fixext 1 */
		"\xcd\x13\x88"                 /* lease_ms 5000 */
		"\xc3"                         /* leaving */
		"\x81\xa1" "k" "\x92\x01\xcb\x40\x04\x00\x00\x00\x00\x00\x00" /* {"k": [1, 2.5]} */
		"\xc0";                        /* nil */
	/* An OP whose cmd carries an extra field and whose top level carries a
	 * nested array. */
	static const char newer_op[] =
		"\x97\x01\x05\x07\x00"
		"\x9a\x01\x91\xa2" "42" "\x90\x90\x90\xc4\x02" "hi" "\xc3\xc2\xa0" /* cmd + */
		"\xc4\x01" "z"                 /*   extra bin */
		"\xcd\x01\x00"                 /* pushed_us 256 */
		"\x92\x92\x90\x80\xa0";        /* extra [[[], {}], ""] */
	struct proto_msg m;

	tap_eq_int(proto_decode(newer_announce, sizeof newer_announce - 1, &m), 0,
		"extra fields after an ANNOUNCE and its member are accepted");
	tap_ok(m.type == PROTO_ANNOUNCE && m.u.announce.self.role == ROLE_WORKER &&
	       m.u.announce.self.id == 5 && pstr_eq_c(m.u.announce.self.inbox, "q") &&
	       m.u.announce.lease_ms == 5000 && m.u.announce.leaving,
		"  ... and the known fields are read");
	proto_msg_fini(&m);

	tap_eq_int(proto_decode(newer_op, sizeof newer_op - 1, &m), 0,
		"extra fields after an OP and its cmd are accepted");
	tap_ok(m.type == PROTO_OP && m.u.op.worker == 7 && m.u.op.cmd.uids.n == 1 &&
	       pstr_eq_c(m.u.op.cmd.uids.v[0], "42") && pstr_eq_c(m.u.op.cmd.data, "hi") &&
	       m.u.op.cmd.has_data && !m.u.op.cmd.binary && m.u.op.pushed_us == 256,
		"  ... and the known fields are read");
	proto_msg_fini(&m);

	EXPECT("\x96\x01\x01\x93\x01\x01\xa0\x00\xc2" "\x92\x01", -EPROTO,
		"a truncated extra field is rejected");
	EXPECT("\x96\x01\x01\x93\x01\x01\xa0\x00\xc2" "\xdd\xff\xff\xff\xff\x00", -EPROTO,
		"an extra field claiming 4G entries is rejected");
	EXPECT("\x96\x01\x01\x93\x01\x01\xa0\x00\xc2" "\xc1", -EPROTO,
		"an extra field that is not msgpack is rejected");
	EXPECT("\x96\x01\x01\x93\x01\x01\xa0\x00\xc2", -EPROTO,
		"an array promising an extra field that is missing is rejected");
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
	m.type = PROTO_REPLY + 1;
	tap_eq_int(proto_encode(&m, &b), -EINVAL, "encoding type 8 fails");
	tap_eq_int(b.len, 0, "  ... appending nothing");

	buf_append_str(&b, "prefix");
	m = sample(PROTO_EVENT);
	proto_encode(&m, &b);
	tap_ok(memcmp(b.p, "prefix", 6) == 0, "encoding appends after existing bytes");
	tap_eq_int(proto_decode(b.p + 6, b.len - 6, &d), 0, "  ... and what it appended decodes");
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
	round_trip(&m, "an OP with a push time round-trips");
	tap_eq_int(decode_without(&m, 1, wide, &d), 0,
		"an OP of three fields (before the push time existed) decodes");
	tap_ok(d.u.op.pushed_us == 0 && d.u.op.worker == 3 && d.u.op.op == 4,
		"  ... with the known fields read and no push time");
	proto_msg_fini(&d);
	m.u.op.pushed_us = 0;
	round_trip(&m, "an OP without a push time (0) round-trips");

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
	test_lifetimes();
	test_optional_fields();
	return tap_done();
}

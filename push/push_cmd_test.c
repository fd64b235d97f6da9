/*
 * push_cmd_test — push-port lines to commands: every command with its
 * fields, every error with its message, and the id an error reply echoes.
 */
#include <errno.h>
#include <jansson.h>
#include <stdbool.h>
#include <string.h>

#include "common/buf.h"
#include "push/push_cmd.h"
#include "push/push_reply.h"
#include "proto/msg.h"
#include "tests/tap.h"

#define CID1 "65a1f0c27d3e9b10000000000001"
#define CID2 "65a1f0c27d3e9b10000000000002"
#define CID3 "65A1F0C27D3E9B10000000000003"

static const struct push_limits lim = {16, 8, 4};

static int
parse(const char *line, struct push_cmd *c, struct push_error *e)
{
	return push_cmd_parse(line, strlen(line), &lim, c, e);
}

/* "a,b,c" from a list, for compact comparisons. */
static void
join(const struct pstr_list *l, char *out, size_t size)
{
	size_t o = 0;

	out[0] = '\0';
	for (uint32_t i = 0; i < l->n; i++) {
		int k = snprintf(out + o, size - o, "%s%.*s", i ? "," : "", (int)l->v[i].n,
			l->v[i].p);
		if (k < 0 || (size_t)k >= size - o)
			return;
		o += (size_t)k;
	}
}

struct parse_case {
	const char *name;
	const char *line;
	enum cmd_type type;
	const char *uids, *groups, *clients, *exclude; /* joined with ',' */
	const char *data;                              /* NULL: has_data is false */
	const char *session;
};

static const struct parse_case parse_cases[] = {
	{"send_to_uid takes one string uid and string data",
		"{\"type\":\"send_to_uid\",\"uid\":\"42\",\"data\":\"hello\"}", CMD_SEND_TO_UID,
		"42", "", "", "", "hello", ""},
	{"send_to_uid turns integer uids into their decimal text",
		"{\"type\":\"send_to_uid\",\"uid\":-7,\"data\":\"x\"}", CMD_SEND_TO_UID, "-7", "", "",
		"", "x", ""},
	{"send_to_uid takes an array of strings and numbers",
		"{\"type\":\"send_to_uid\",\"uid\":[\"a\",5,\"b\",-123456789012345],\"data\":\"x\"}",
		CMD_SEND_TO_UID, "a,5,b,-123456789012345", "", "", "", "x", ""},
	{"send_to_group takes groups, exclude and object data",
		"{\"type\":\"send_to_group\",\"group\":[\"g1\",2],\"exclude\":[\"" CID1 "\",\"" CID2
		"\"],\"data\":{\"a\": 1, \"b\": [1, 2]}}",
		CMD_SEND_TO_GROUP, "", "g1,2", "", CID1 "," CID2, "{\"a\":1,\"b\":[1,2]}", ""},
	{"send_to_group takes one group and no exclude",
		"{\"type\":\"send_to_group\",\"group\":\"g\",\"data\":\"x\"}", CMD_SEND_TO_GROUP, "",
		"g", "", "", "x", ""},
	{"send_to_all takes a single exclude",
		"{\"type\":\"send_to_all\",\"exclude\":\"" CID3 "\",\"data\":\"x\"}", CMD_SEND_TO_ALL,
		"", "", "", CID3, "x", ""},
	{"send_to_all takes an empty exclude list",
		"{\"type\":\"send_to_all\",\"exclude\":[],\"data\":\"x\"}", CMD_SEND_TO_ALL, "", "",
		"", "", "x", ""},
	{"send_to_client takes an array of client ids",
		"{\"type\":\"send_to_client\",\"client_id\":[\"" CID1 "\",\"" CID3
		"\"],\"data\":\"x\"}",
		CMD_SEND_TO_CLIENT, "", "", CID1 "," CID3, "", "x", ""},
	{"send_to_client takes one client id",
		"{\"type\":\"send_to_client\",\"client_id\":\"" CID2 "\",\"data\":\"x\"}",
		CMD_SEND_TO_CLIENT, "", "", CID2, "", "x", ""},
	{"close_client takes a final message",
		"{\"type\":\"close_client\",\"client_id\":\"" CID1 "\",\"data\":\"bye\"}",
		CMD_CLOSE_CLIENT, "", "", CID1, "", "bye", ""},
	{"close_client without data has no data",
		"{\"type\":\"close_client\",\"client_id\":\"" CID1 "\"}", CMD_CLOSE_CLIENT, "", "",
		CID1, "", NULL, ""},
	{"bind_uid takes a client id and a numeric uid",
		"{\"type\":\"bind_uid\",\"client_id\":\"" CID1 "\",\"uid\":1001}", CMD_BIND_UID,
		"1001", "", CID1, "", NULL, ""},
	{"unbind_uid passes a given uid",
		"{\"type\":\"unbind_uid\",\"client_id\":\"" CID1 "\",\"uid\":\"u\"}", CMD_UNBIND_UID,
		"u", "", CID1, "", NULL, ""},
	{"unbind_uid works without a uid",
		"{\"type\":\"unbind_uid\",\"client_id\":\"" CID1 "\"}", CMD_UNBIND_UID, "", "", CID1,
		"", NULL, ""},
	{"join_group takes a client id and a group",
		"{\"type\":\"join_group\",\"client_id\":\"" CID1 "\",\"group\":\"room\"}",
		CMD_JOIN_GROUP, "", "room", CID1, "", NULL, ""},
	{"leave_group takes a client id and a group",
		"{\"type\":\"leave_group\",\"client_id\":\"" CID1 "\",\"group\":7}", CMD_LEAVE_GROUP,
		"", "7", CID1, "", NULL, ""},
	{"ungroup takes a group", "{\"type\":\"ungroup\",\"group\":\"room\"}", CMD_UNGROUP, "",
		"room", "", "", NULL, ""},
	{"is_uid_online takes a uid", "{\"type\":\"is_uid_online\",\"uid\":\"42\"}",
		CMD_IS_UID_ONLINE, "42", "", "", "", NULL, ""},
	{"get_client_id_by_uid takes a uid", "{\"type\":\"get_client_id_by_uid\",\"uid\":42}",
		CMD_GET_CLIENT_ID_BY_UID, "42", "", "", "", NULL, ""},
	{"get_uid_by_client_id takes a client id",
		"{\"type\":\"get_uid_by_client_id\",\"client_id\":\"" CID1 "\"}",
		CMD_GET_UID_BY_CLIENT_ID, "", "", CID1, "", NULL, ""},
	{"get_client_count_by_group takes a group",
		"{\"type\":\"get_client_count_by_group\",\"group\":\"g\"}",
		CMD_GET_CLIENT_COUNT_BY_GROUP, "", "g", "", "", NULL, ""},
	{"get_uid_list_by_group takes a group", "{\"type\":\"get_uid_list_by_group\",\"group\":\"g\"}",
		CMD_GET_UID_LIST_BY_GROUP, "", "g", "", "", NULL, ""},
	{"get_uid_count_by_group takes a group",
		"{\"type\":\"get_uid_count_by_group\",\"group\":\"g\"}", CMD_GET_UID_COUNT_BY_GROUP,
		"", "g", "", "", NULL, ""},
	{"get_all_uid_count takes nothing", "{\"type\":\"get_all_uid_count\"}",
		CMD_GET_ALL_UID_COUNT, "", "", "", "", NULL, ""},
	{"get_all_client_count takes nothing", "{\"type\":\"get_all_client_count\"}",
		CMD_GET_ALL_CLIENT_COUNT, "", "", "", "", NULL, ""},
	{"get_all_group_id_list takes nothing", "{\"type\":\"get_all_group_id_list\"}",
		CMD_GET_ALL_GROUP_ID_LIST, "", "", "", "", NULL, ""},
	{"set_session stores the object as compact text in its order",
		"{\"type\":\"set_session\",\"client_id\":\"" CID1
		"\",\"session\":{ \"z\" : 1 , \"a\" : {\"n\":0.1,\"s\":\"\\u00e9\"} }}",
		CMD_SET_SESSION, "", "", CID1, "", NULL, "{\"z\":1,\"a\":{\"n\":0.1,\"s\":\"\xc3\xa9\"}}"},
	{"update_session takes a session",
		"{\"type\":\"update_session\",\"client_id\":\"" CID1 "\",\"session\":{}}",
		CMD_UPDATE_SESSION, "", "", CID1, "", NULL, "{}"},
	{"get_session takes a client id",
		"{\"type\":\"get_session\",\"client_id\":\"" CID1 "\"}", CMD_GET_SESSION, "", "",
		CID1, "", NULL, ""},
	{"fields a command does not use are ignored",
		"{\"type\":\"ungroup\",\"group\":\"g\",\"uid\":true,\"data\":[],\"x\":{}}", CMD_UNGROUP,
		"", "g", "", "", NULL, ""},
	{"a trailing carriage return is ignored",
		"{\"type\":\"get_all_uid_count\"}\r", CMD_GET_ALL_UID_COUNT, "", "", "", "", NULL,
		""},
	{"a uid as long as the limit is fine",
		"{\"type\":\"is_uid_online\",\"uid\":\"0123456789abcdef\"}", CMD_IS_UID_ONLINE,
		"0123456789abcdef", "", "", "", NULL, ""},
	{"a list as long as the limit is fine",
		"{\"type\":\"send_to_uid\",\"uid\":[1,2,3,4],\"data\":\"x\"}", CMD_SEND_TO_UID,
		"1,2,3,4", "", "", "", "x", ""},
};

static void
test_parse_cases(void)
{
	for (size_t i = 0; i < sizeof parse_cases / sizeof parse_cases[0]; i++) {
		const struct parse_case *pc = &parse_cases[i];
		struct push_cmd c;
		struct push_error e;
		char u[256], g[256], cl[256], ex[256];
		int rc = parse(pc->line, &c, &e);
		join(&c.cmd.uids, u, sizeof u);
		join(&c.cmd.groups, g, sizeof g);
		join(&c.cmd.clients, cl, sizeof cl);
		join(&c.cmd.exclude, ex, sizeof ex);
		bool data_ok = pc->data == NULL
			? !c.cmd.has_data
			: c.cmd.has_data && !c.cmd.binary && pstr_eq_c(c.cmd.data, pc->data);
		bool ok = rc == 0 && c.cmd.type == pc->type && strcmp(u, pc->uids) == 0 &&
			strcmp(g, pc->groups) == 0 && strcmp(cl, pc->clients) == 0 &&
			strcmp(ex, pc->exclude) == 0 && data_ok &&
			pstr_eq_c(c.cmd.session, pc->session) && c.id == NULL;
		if (!tap_ok(ok, pc->name))
			printf("#   rc %d (%s: %s) type %d uids [%s] groups [%s] clients [%s] "
			       "exclude [%s] data %d [%.*s] session [%.*s]\n",
				rc, rc != 0 ? proto_error_name(e.code) : "-", e.message, c.cmd.type, u, g, cl, ex,
				c.cmd.has_data, (int)c.cmd.data.n, c.cmd.data.p ? c.cmd.data.p : "",
				(int)c.cmd.session.n, c.cmd.session.p ? c.cmd.session.p : "");
		push_cmd_fini(&c);
	}
}

/* Parses line expecting success; returns the data bytes via c. */
static void
check_data(const char *line, const char *want, size_t wlen, bool binary, const char *name)
{
	struct push_cmd c;
	struct push_error e;
	int rc = parse(line, &c, &e);
	bool ok = rc == 0 && c.cmd.has_data && c.cmd.binary == binary &&
		c.cmd.data.n == wlen && (wlen == 0 || memcmp(c.cmd.data.p, want, wlen) == 0);
	if (!tap_ok(ok, name))
		printf("#   rc %d (%s) binary %d data [%.*s]\n", rc, e.message, c.cmd.binary,
			(int)c.cmd.data.n, c.cmd.data.p ? c.cmd.data.p : "");
	push_cmd_fini(&c);
}

static void
test_data(void)
{
	check_data("{\"type\":\"send_to_all\",\"data\":\"line\\nnext \\u00e9 \\\"q\\\"\"}",
		"line\nnext \xc3\xa9 \"q\"", 16, false,
		"string data is delivered as its text, not quoted");
	check_data("{\"type\":\"send_to_all\",\"data\":\"\"}", "", 0, false,
		"empty string data is data");
	check_data("{\"type\":\"send_to_all\",\"data\":{\"a\":1,\"b\":[1,2]}}", "{\"a\":1,\"b\":[1,2]}",
		17, false, "object data is its compact JSON");
	check_data("{\"type\":\"send_to_all\",\"data\":{\"z\":1,\"a\":2,\"m\":3}}",
		"{\"z\":1,\"a\":2,\"m\":3}", 19, false, "object data keeps the key order given");
	check_data("{\"type\":\"send_to_all\",\"data\":[0.1, 1e300, -0.0, 3.0, 2.5e-8]}",
		"[0.1,1e+300,-0.0,3.0,2.5e-08]", 29, false,
		"reals in data are written in their shortest exact form");
	check_data("{\"type\":\"send_to_all\",\"data\":42}", "42", 2, false,
		"number data is its JSON text");
	check_data("{\"type\":\"send_to_all\",\"data\":null}", "null", 4, false,
		"null data is the text null");
	check_data("{\"type\":\"send_to_all\",\"data\":{\"s\":\"a\\\"b\\u0001\\u00e9\"}}",
		"{\"s\":\"a\\\"b\\u0001\xc3\xa9\"}", 20, false,
		"strings inside object data are re-escaped");
	check_data("{\"type\":\"send_to_all\",\"data_base64\":\"AAEC/w==\"}", "\x00\x01\x02\xff", 4,
		true, "data_base64 is decoded into binary data");
	check_data("{\"type\":\"send_to_all\",\"data_base64\":\"AAEC/w\"}", "\x00\x01\x02\xff", 4,
		true, "data_base64 may leave out the padding");
	check_data("{\"type\":\"send_to_all\",\"data_base64\":\"aGk+Pz8=\"}", "hi>??", 5, true,
		"data_base64 decodes + and / digits");
	check_data("{\"type\":\"send_to_all\",\"data_base64\":\"\"}", "", 0, true,
		"empty data_base64 is empty binary data");
}

static void
check_error(const char *line, const struct push_limits *l, const char *code,
	const char *message, const char *name)
{
	struct push_cmd c;
	struct push_error e;
	int rc = push_cmd_parse(line, strlen(line), l ? l : &lim, &c, &e);
	bool ok = rc == -EINVAL && strcmp(proto_error_name(e.code), code) == 0 &&
		strcmp(e.message, message) == 0;
	if (!tap_ok(ok, name))
		printf("#   rc %d, got %s \"%s\", want %s \"%s\"\n", rc, proto_error_name(e.code),
			e.message, code, message);
	push_cmd_fini(&c);
}

static void
test_errors(void)
{
	check_error("{\"type\":", NULL, "bad_json",
		"line 1, column 8: unexpected token near end of file",
		"a cut line is bad_json naming line and column");
	check_error("{\"type\":\"send_to_all\" \"data\":1}", NULL, "bad_json",
		"line 1, column 28: '}' expected near '\"data\"'",
		"a missing comma is bad_json at the right column");
	check_error("", NULL, "bad_json", "line 1, column 0: unexpected token near end of file",
		"an empty line is bad_json");
	check_error("{\"type\":\"ungroup\",\"group\":\"a\",\"group\":\"b\"}", NULL, "bad_json",
		"line 1, column 37: duplicate object key near '\"group\"'",
		"duplicate keys are bad_json");
	check_error("{\"type\":\"ungroup\",\"group\":\"\xff\"}", NULL, "bad_json",
		"line 1, column 27: unable to decode byte 0xff near '\"'",
		"invalid UTF-8 in the line is bad_json");
	check_error("{\"type\":\"get_all_uid_count\"} {}", NULL, "bad_json",
		"line 1, column 30: end of file expected near '{'", "trailing bytes are bad_json");
	check_error("[1,2]", NULL, "bad_request", "request must be a JSON object",
		"an array is not a request");
	check_error("\"send_to_all\"", NULL, "bad_request", "request must be a JSON object",
		"a string is not a request");
	check_error("{\"uid\":1}", NULL, "bad_request", "field \"type\": required",
		"a missing type is bad_request");
	check_error("{\"type\":3}", NULL, "bad_request", "field \"type\": must be a string",
		"a non-string type is bad_request");
	check_error("{\"type\":\"sendToUid\"}", NULL, "unknown_type", "unknown type \"sendToUid\"",
		"an unknown type is unknown_type naming it");
	check_error("{\"type\":\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\"}",
		NULL, "unknown_type",
		"unknown type \"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\"...",
		"a long unknown type is cut in the message");
	check_error("{\"type\":\"send_to_uid\",\"data\":\"x\"}", NULL, "bad_request",
		"field \"uid\": required", "a missing uid is bad_request");
	check_error("{\"type\":\"send_to_uid\",\"uid\":true,\"data\":\"x\"}", NULL, "bad_request",
		"field \"uid\": must be a string, number or array",
		"a boolean uid list is bad_request");
	check_error("{\"type\":\"bind_uid\",\"client_id\":\"" CID1 "\",\"uid\":[\"a\"]}", NULL,
		"bad_request", "field \"uid\": must be a string or number",
		"bind_uid takes no uid array");
	check_error("{\"type\":\"send_to_uid\",\"uid\":1.5,\"data\":\"x\"}", NULL, "bad_request",
		"field \"uid\": a number must be an integer", "a real uid is bad_request");
	check_error("{\"type\":\"send_to_uid\",\"uid\":[\"a\",2.0],\"data\":\"x\"}", NULL,
		"bad_request", "field \"uid\"[1]: a number must be an integer",
		"a real uid in a list names its index");
	check_error("{\"type\":\"send_to_uid\",\"uid\":[\"a\",[\"b\"]],\"data\":\"x\"}", NULL,
		"bad_request", "field \"uid\"[1]: must be a string or number",
		"nested uid arrays are bad_request");
	check_error("{\"type\":\"is_uid_online\",\"uid\":\"\"}", NULL, "bad_request",
		"field \"uid\": must not be empty", "an empty uid is bad_request");
	check_error("{\"type\":\"is_uid_online\",\"uid\":\"0123456789abcdefX\"}", NULL,
		"bad_request", "field \"uid\": longer than 16 bytes",
		"a uid over the limit is bad_request");
	check_error("{\"type\":\"is_uid_online\",\"uid\":12345678901234567}", NULL, "bad_request",
		"field \"uid\": longer than 16 bytes", "a numeric uid is bounded by its text");
	check_error("{\"type\":\"ungroup\",\"group\":\"123456789\"}", NULL, "bad_request",
		"field \"group\": longer than 8 bytes", "a group over the limit is bad_request");
	check_error("{\"type\":\"send_to_group\",\"group\":[],\"data\":\"x\"}", NULL, "bad_request",
		"field \"group\": must not be empty", "an empty group list is bad_request");
	check_error("{\"type\":\"send_to_uid\",\"uid\":[1,2,3,4,5],\"data\":\"x\"}", NULL,
		"too_large", "field \"uid\": more than 4 entries", "a uid list over the limit is too_large");
	check_error("{\"type\":\"send_to_all\",\"exclude\":[\"" CID1 "\",\"" CID1 "\",\"" CID1
		    "\",\"" CID1 "\",\"" CID1 "\"],\"data\":\"x\"}",
		NULL, "too_large", "field \"exclude\": more than 4 entries",
		"an exclude list over the limit is too_large");
	check_error("{\"type\":\"bind_uid\",\"uid\":\"u\"}", NULL, "bad_request",
		"field \"client_id\": required", "a missing client id is bad_request");
	check_error("{\"type\":\"get_session\",\"client_id\":\"" CID1 "0\"}", NULL, "bad_request",
		"field \"client_id\": not a client id", "a client id of 29 digits is refused");
	check_error("{\"type\":\"get_session\",\"client_id\":\"65a1f0c27d3e9b1000000000000g\"}", NULL,
		"bad_request", "field \"client_id\": not a client id",
		"a client id with a non-hex digit is refused");
	check_error("{\"type\":\"get_session\",\"client_id\":42}", NULL, "bad_request",
		"field \"client_id\": must be a client id string", "a numeric client id is refused");
	check_error("{\"type\":\"get_session\",\"client_id\":[\"" CID1 "\"]}", NULL, "bad_request",
		"field \"client_id\": must be a client id string",
		"a client id array is refused where one is expected");
	check_error("{\"type\":\"send_to_client\",\"client_id\":[\"" CID1 "\",\"x\"],\"data\":\"x\"}",
		NULL, "bad_request", "field \"client_id\"[1]: not a client id",
		"a bad client id in a list names its index");
	check_error("{\"type\":\"send_to_all\",\"exclude\":[\"nope\"],\"data\":\"x\"}", NULL,
		"bad_request", "field \"exclude\"[0]: not a client id",
		"a bad exclude entry is bad_request");
	check_error("{\"type\":\"send_to_all\",\"exclude\":{},\"data\":\"x\"}", NULL, "bad_request",
		"field \"exclude\": must be a client id string or an array of them",
		"an object exclude is bad_request");
	check_error("{\"type\":\"send_to_all\"}", NULL, "bad_request", "field \"data\": required",
		"a send without data is bad_request");
	check_error("{\"type\":\"send_to_all\",\"data\":\"x\",\"data_base64\":\"eA==\"}", NULL,
		"bad_request", "fields \"data\" and \"data_base64\": give only one",
		"data and data_base64 together are bad_request");
	check_error("{\"type\":\"send_to_all\",\"data_base64\":5}", NULL, "bad_request",
		"field \"data_base64\": must be a string", "non-string data_base64 is bad_request");
	check_error("{\"type\":\"send_to_all\",\"data_base64\":\"ab*d\"}", NULL, "bad_request",
		"field \"data_base64\": not base64", "a non-base64 digit is bad_request");
	check_error("{\"type\":\"send_to_all\",\"data_base64\":\"abcde\"}", NULL, "bad_request",
		"field \"data_base64\": not base64", "a base64 length of 4n+1 is bad_request");
	check_error("{\"type\":\"send_to_all\",\"data_base64\":\"ab=c\"}", NULL, "bad_request",
		"field \"data_base64\": not base64", "padding inside base64 is bad_request");
	check_error("{\"type\":\"send_to_all\",\"data_base64\":\"abc==\"}", NULL, "bad_request",
		"field \"data_base64\": not base64", "padding on a ragged length is bad_request");
	check_error("{\"type\":\"set_session\",\"client_id\":\"" CID1 "\"}", NULL, "bad_request",
		"field \"session\": required", "set_session without session is bad_request");
	check_error("{\"type\":\"set_session\",\"client_id\":\"" CID1 "\",\"session\":\"{}\"}", NULL,
		"bad_request", "field \"session\": must be a JSON object",
		"a session given as text is bad_request");
	check_error("{\"type\":\"send_to_uid\",\"uid\":[1,2,3,4,5],\"data\":\"x\"}",
		&(struct push_limits){16, 16, 0}, "too_large", "field \"uid\": more than 0 entries",
		"a zero list limit refuses every list");
}

static void
test_id(void)
{
	struct push_cmd c;
	struct push_error e;
	struct buf b = BUF_INIT;
	int rc;

	rc = parse("{\"id\":\"r1\",\"type\":\"nope\"}", &c, &e);
	tap_ok(rc == -EINVAL && json_is_string(c.id) &&
			strcmp(json_string_value(c.id), "r1") == 0,
		"the id is kept when the type is unknown");
	push_reply_error(c.id, e.code, e.message, &b);
	tap_eq_str(b.p, "{\"id\":\"r1\",\"ok\":false,\"error\":\"unknown_type\","
			"\"message\":\"unknown type \\\"nope\\\"\"}\n",
		"an unknown_type reply echoes the id");
	push_cmd_fini(&c);
	buf_reset(&b);

	rc = parse("{\"type\":\"send_to_uid\",\"id\":{\"n\":7,\"t\":[0.1,null]},\"uid\":[]}", &c, &e);
	tap_ok(rc == -EINVAL && json_is_object(c.id), "the id is kept when a field is bad");
	push_reply_error(c.id, e.code, e.message, &b);
	tap_eq_str(b.p, "{\"id\":{\"n\":7,\"t\":[0.1,null]},\"ok\":false,\"error\":\"bad_request\","
			"\"message\":\"field \\\"uid\\\": must not be empty\"}\n",
		"a bad_request reply echoes a structured id in its order");
	push_cmd_fini(&c);
	buf_reset(&b);

	rc = parse("{\"id\":null}", &c, &e);
	tap_ok(rc == -EINVAL && json_is_null(c.id), "a null id is an id");
	push_cmd_fini(&c);

	rc = parse("{\"id\":5,\"type\":\"get_all_client_count\"}", &c, &e);
	tap_ok(rc == 0 && json_integer_value(c.id) == 5, "the id comes with a parsed command");
	push_cmd_fini(&c);
	tap_ok(c.id == NULL && c.store == NULL && c.cmd.type == 0, "fini leaves the struct empty");
	push_cmd_fini(&c);
	tap_ok(1, "fini twice is safe");

	memset(&c, 0, sizeof c);
	push_cmd_fini(&c);
	tap_ok(1, "fini of a zeroed struct is safe");

	rc = parse("{\"id\":1,", &c, &e);
	tap_ok(rc == -EINVAL && c.id == NULL, "a line that is not JSON has no id");
	push_reply_error(c.id, e.code, e.message, &b);
	tap_eq_str(b.p, "{\"ok\":false,\"error\":\"bad_json\",\"message\":\"line 1, column 8: "
			"string or '}' expected near end of file\"}\n",
		"a bad_json reply has no id");
	push_cmd_fini(&c);
	buf_fini(&b);
}

int
main(void)
{
	test_parse_cases();
	test_data();
	test_errors();
	test_id();
	return tap_done();
}

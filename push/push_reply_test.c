/*
 * push_reply_test — results to reply lines, byte for byte, including the
 * escaping of hostile strings; the code and delivered count a framing gets
 * with a line; and the HTTP status of each code.
 */
#include <jansson.h>
#include <stdbool.h>
#include <string.h>

#include "common/buf.h"
#include "proto/msg.h"
#include "push/push_reply.h"
#include "tests/tap.h"

#define CID1 "65a1f0c27d3e9b10000000000001"
#define CID2 "65a1f0c27d3e9b10000000000002"

static void
check_render(enum cmd_type t, const char *id_json, const struct proto_result *r, const char *want,
	const char *name)
{
	json_t *id = id_json ? json_loads(id_json, JSON_DECODE_ANY, NULL) : NULL;
	struct buf b = BUF_INIT;

	push_reply_render(t, id, r, &b, NULL);
	tap_eq_str(b.p, want, name);
	buf_fini(&b);
	json_decref(id);
}

static void
test_render(void)
{
	struct pstr two[] = {{"7", 1}, {"u8", 2}};
	struct proto_result r;

	memset(&r, 0, sizeof r);
	r.ok = true;
	r.delivered = 3;
	r.strs = (struct pstr_list){two, 2};
	check_render(CMD_SEND_TO_UID, "\"a1\"", &r,
		"{\"id\":\"a1\",\"ok\":true,\"delivered\":3,\"offline\":[\"7\",\"u8\"]}\n",
		"send_to_uid reports delivered and offline uids");
	r.strs = (struct pstr_list){NULL, 0};
	check_render(CMD_SEND_TO_UID, NULL, &r, "{\"ok\":true,\"delivered\":3,\"offline\":[]}\n",
		"send_to_uid with everyone online has an empty offline list");
	check_render(CMD_SEND_TO_GROUP, "12", &r, "{\"id\":12,\"ok\":true,\"delivered\":3}\n",
		"send_to_group reports delivered");
	check_render(CMD_SEND_TO_ALL, NULL, &r, "{\"ok\":true,\"delivered\":3}\n",
		"send_to_all reports delivered");
	check_render(CMD_SEND_TO_CLIENT, NULL, &r, "{\"ok\":true,\"delivered\":3}\n",
		"send_to_client reports delivered");
	check_render(CMD_BIND_UID, "\"x\"", &r, "{\"id\":\"x\",\"ok\":true}\n",
		"bind_uid replies only ok");
	check_render(CMD_CLOSE_CLIENT, NULL, &r, "{\"ok\":true}\n", "close_client replies only ok");
	check_render(CMD_SET_SESSION, NULL, &r, "{\"ok\":true}\n", "set_session replies only ok");

	memset(&r, 0, sizeof r);
	r.ok = true;
	r.count = 2;
	check_render(CMD_IS_UID_ONLINE, NULL, &r, "{\"ok\":true,\"online\":true}\n",
		"is_uid_online is true with connections");
	r.count = 0;
	check_render(CMD_IS_UID_ONLINE, NULL, &r, "{\"ok\":true,\"online\":false}\n",
		"is_uid_online is false without");
	r.count = 5;
	check_render(CMD_GET_CLIENT_COUNT_BY_GROUP, NULL, &r, "{\"ok\":true,\"count\":5}\n",
		"get_client_count_by_group reports count");
	check_render(CMD_GET_UID_COUNT_BY_GROUP, NULL, &r, "{\"ok\":true,\"count\":5}\n",
		"get_uid_count_by_group reports count");
	check_render(CMD_GET_ALL_UID_COUNT, NULL, &r, "{\"ok\":true,\"count\":5}\n",
		"get_all_uid_count reports count");
	check_render(CMD_GET_ALL_CLIENT_COUNT, NULL, &r, "{\"ok\":true,\"count\":5}\n",
		"get_all_client_count reports count");

	struct pstr cids[] = {{CID1, 28}, {CID2, 28}};
	memset(&r, 0, sizeof r);
	r.ok = true;
	r.strs = (struct pstr_list){cids, 2};
	check_render(CMD_GET_CLIENT_ID_BY_UID, NULL, &r,
		"{\"ok\":true,\"client_ids\":[\"" CID1 "\",\"" CID2 "\"]}\n",
		"get_client_id_by_uid lists client ids");
	r.strs = (struct pstr_list){two, 2};
	check_render(CMD_GET_UID_LIST_BY_GROUP, NULL, &r, "{\"ok\":true,\"uids\":[\"7\",\"u8\"]}\n",
		"get_uid_list_by_group lists uids");
	check_render(CMD_GET_ALL_GROUP_ID_LIST, NULL, &r,
		"{\"ok\":true,\"groups\":[\"7\",\"u8\"]}\n", "get_all_group_id_list lists groups");
	r.strs = (struct pstr_list){two + 1, 1};
	check_render(CMD_GET_UID_BY_CLIENT_ID, NULL, &r, "{\"ok\":true,\"uid\":\"u8\"}\n",
		"get_uid_by_client_id gives the uid");
	r.strs = (struct pstr_list){NULL, 0};
	check_render(CMD_GET_UID_BY_CLIENT_ID, NULL, &r, "{\"ok\":true,\"uid\":null}\n",
		"get_uid_by_client_id gives null without a uid");

	memset(&r, 0, sizeof r);
	r.ok = true;
	r.session = pstr_c("{\"a\":1,\"b\":{\"c\":[true]}}");
	check_render(CMD_GET_SESSION, NULL, &r,
		"{\"ok\":true,\"session\":{\"a\":1,\"b\":{\"c\":[true]}}}\n",
		"get_session embeds the session object");
	r.session = pstr_c("");
	check_render(CMD_GET_SESSION, NULL, &r, "{\"ok\":true,\"session\":null}\n",
		"get_session gives null without a session");
	r.session = pstr_c("{\"a\":");
	check_render(CMD_GET_SESSION, NULL, &r, "{\"ok\":true,\"session\":null}\n",
		"get_session never embeds broken JSON");
	r.session = pstr_c("{\n \"a\": 1\n}");
	check_render(CMD_GET_SESSION, NULL, &r, "{\"ok\":true,\"session\":{\"a\":1}}\n",
		"get_session never embeds a newline");

	memset(&r, 0, sizeof r);
	r.ok = true;
	r.count = 3;
	r.partial = true;
	r.answered = 2;
	r.expected = 3;
	check_render(CMD_GET_ALL_CLIENT_COUNT, "\"q\"", &r,
		"{\"id\":\"q\",\"ok\":true,\"count\":3,\"partial\":true,\"answered\":2,"
		"\"expected\":3}\n",
		"a partial answer says how many gateways answered");

	r.ok = false;
	r.error = pstr_c("timeout");
	r.message = pstr_c("no gateway answered in 5000 ms");
	check_render(CMD_GET_ALL_CLIENT_COUNT, "1", &r,
		"{\"id\":1,\"ok\":false,\"error\":\"timeout\",\"message\":\"no gateway answered in "
		"5000 ms\",\"partial\":true,\"answered\":2,\"expected\":3}\n",
		"a failed partial answer has error, message and counts");
	r.partial = false;
	r.error = pstr_c("no_worker");
	r.message = pstr_c("no worker");
	check_render(CMD_SEND_TO_UID, NULL, &r,
		"{\"ok\":false,\"error\":\"no_worker\",\"message\":\"no worker\"}\n",
		"a failed send has no delivered count");

	struct buf b = BUF_INIT;
	push_reply_error(NULL, PROTO_ERR_BAD_REQUEST, "field \"uid\": required", &b);
	tap_eq_str(b.p,
		"{\"ok\":false,\"error\":\"bad_request\",\"message\":\"field \\\"uid\\\": "
		"required\"}\n",
		"push_reply_error without an id");
	buf_fini(&b);
}

static void
check_escape(const char *in, size_t n, const char *want, const char *name)
{
	struct pstr s = {in, (uint32_t)n};
	struct proto_result r;
	struct buf b = BUF_INIT;
	json_error_t je;

	memset(&r, 0, sizeof r);
	r.ok = true;
	r.strs = (struct pstr_list){&s, 1};
	push_reply_render(CMD_GET_UID_BY_CLIENT_ID, NULL, &r, &b, NULL);
	tap_eq_str(b.p, want, name);
	json_t *v = json_loadb(b.p, b.len, JSON_ALLOW_NUL, &je);
	if (!tap_ok(v != NULL, "... and the reply is valid JSON"))
		printf("#   %s\n", je.text);
	json_decref(v);
	buf_fini(&b);
}

static void
test_escape(void)
{
	check_escape("a\"b\\c/", 6, "{\"ok\":true,\"uid\":\"a\\\"b\\\\c/\"}\n",
		"quotes and backslashes are escaped");
	check_escape("\x01\b\f\n\r\t\x1f\x7f", 8,
		"{\"ok\":true,\"uid\":\"\\u0001\\b\\f\\n\\r\\t\\u001f\x7f\"}\n",
		"control characters are escaped");
	check_escape("a\0b", 3, "{\"ok\":true,\"uid\":\"a\\u0000b\"}\n", "a NUL byte is escaped");
	check_escape("\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80", 9,
		"{\"ok\":true,\"uid\":\"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\"}\n",
		"well-formed UTF-8 passes through");
	check_escape("a\xff"
		     "b\xc3",
		4, "{\"ok\":true,\"uid\":\"a\\ufffdb\\ufffd\"}\n",
		"stray and truncated bytes become U+FFFD");
	check_escape("\xc0\xaf\xe0\x80\xaf", 5,
		"{\"ok\":true,\"uid\":\"\\ufffd\\ufffd\\ufffd\\ufffd\\ufffd\"}\n",
		"overlong encodings become U+FFFD");
	check_escape("\xed\xa0\x80", 3, "{\"ok\":true,\"uid\":\"\\ufffd\\ufffd\\ufffd\"}\n",
		"encoded surrogates become U+FFFD");
	check_escape("\xf4\x90\x80\x80", 4,
		"{\"ok\":true,\"uid\":\"\\ufffd\\ufffd\\ufffd\\ufffd\"}\n",
		"code points above U+10FFFF become U+FFFD");
	check_escape("", 0, "{\"ok\":true,\"uid\":\"\"}\n", "an empty string is \"\"");

	struct buf b = BUF_INIT;
	push_reply_error(NULL, PROTO_ERR_BAD_JSON, "near '\xff\n'", &b);
	tap_eq_str(b.p, "{\"ok\":false,\"error\":\"bad_json\",\"message\":\"near '\\ufffd\\n'\"}\n",
		"error messages are escaped too");
	buf_fini(&b);
}

static void
test_fields(void)
{
	struct proto_result r;
	struct push_reply rep;
	struct buf b = BUF_INIT;

	memset(&r, 0, sizeof r);
	r.ok = true;
	r.delivered = 3;
	push_reply_render(CMD_SEND_TO_ALL, NULL, &r, &b, &rep);
	tap_ok(rep.error == PROTO_ERR_NONE && rep.delivered == 3,
		"a send's reply comes with no error and its delivered count");
	buf_reset(&b);
	r.count = 3;
	push_reply_render(CMD_GET_ALL_CLIENT_COUNT, NULL, &r, &b, &rep);
	tap_ok(rep.error == PROTO_ERR_NONE && rep.delivered == 0,
		"a query's reply has no delivered count");
	buf_reset(&b);
	r.ok = false;
	r.error = pstr_c("timeout");
	push_reply_render(CMD_SEND_TO_UID, NULL, &r, &b, &rep);
	tap_ok(rep.error == PROTO_ERR_TIMEOUT && rep.delivered == 0,
		"a failed result's code is read from its name");
	buf_reset(&b);
	r.error = pstr_c("made_up");
	push_reply_render(CMD_SEND_TO_UID, NULL, &r, &b, &rep);
	tap_ok(rep.error == PROTO_ERR_OTHER, "a code the table does not know is OTHER");
	tap_eq_str(b.p, "{\"ok\":false,\"error\":\"made_up\",\"message\":\"\"}\n",
		"... and its name is still written as it came");
	buf_reset(&b);
	r.error = pstr_c("");
	push_reply_render(CMD_SEND_TO_UID, NULL, &r, &b, &rep);
	tap_ok(rep.error == PROTO_ERR_OTHER, "a failed result without a code is not an ok one");
	buf_fini(&b);
}

static void
test_status(void)
{
	tap_eq_int(push_reply_status(PROTO_ERR_NONE), 200, "ok is 200");
	tap_eq_int(push_reply_status(PROTO_ERR_BAD_JSON), 400, "bad_json is 400");
	tap_eq_int(push_reply_status(PROTO_ERR_BAD_REQUEST), 400, "bad_request is 400");
	tap_eq_int(push_reply_status(PROTO_ERR_UNKNOWN_TYPE), 400, "unknown_type is 400");
	tap_eq_int(push_reply_status(PROTO_ERR_UNAUTHORIZED), 401, "unauthorized is 401");
	tap_eq_int(push_reply_status(PROTO_ERR_FORBIDDEN), 403, "forbidden is 403");
	tap_eq_int(push_reply_status(PROTO_ERR_NOT_FOUND), 404, "not_found is 404");
	tap_eq_int(push_reply_status(PROTO_ERR_TOO_MANY_GROUPS), 409, "too_many_groups is 409");
	tap_eq_int(push_reply_status(PROTO_ERR_TOO_LARGE), 413, "too_large is 413");
	tap_eq_int(push_reply_status(PROTO_ERR_LENGTH_REQUIRED), 411, "length_required is 411");
	tap_eq_int(push_reply_status(PROTO_ERR_NO_WORKER), 503, "no_worker is 503");
	tap_eq_int(push_reply_status(PROTO_ERR_OVERLOADED), 503, "overloaded is 503");
	tap_eq_int(push_reply_status(PROTO_ERR_TIMEOUT), 504, "timeout is 504");
	tap_eq_int(push_reply_status(PROTO_ERR_INTERNAL), 500, "internal is 500");
	tap_eq_int(push_reply_status(PROTO_ERR_OTHER), 500,
		"a code the table does not know is 500");
}

int
main(void)
{
	test_render();
	test_escape();
	test_fields();
	test_status();
	return tap_done();
}

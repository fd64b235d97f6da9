/*
 * demo_test — /demo/push's policy: the JSON content type, which commands
 * pass, and the status its answers get.
 */
#include <string.h>

#include "common/buf.h"
#include "gateway/demo.h"
#include "push/push_cmd.h"
#include "tests/tap.h"

/* The parts of a POST the demo looks at. */
struct post {
	struct http_span path, content_type;
};

static struct post
post(const char *content_type)
{
	struct post p;
	memset(&p, 0, sizeof p);
	p.path = (struct http_span){"/demo/push", 10};
	p.content_type = (struct http_span){content_type, content_type ? strlen(content_type) : 0};
	return p;
}

/* Does the command pass demo_push_filter? -1 when it does not even parse. */
static int
passes(const char *json)
{
	struct push_limits lim = {128, 128, 10000};
	struct push_cmd cmd;
	struct push_error err;
	enum proto_error code = PROTO_ERR_NONE;
	const char *message = NULL;
	int rc = push_cmd_parse(json, strlen(json), &lim, &cmd, &err);
	if (rc == 0)
		rc = demo_push_filter(NULL, &cmd.cmd, &code, &message) == 0 ? 1 : 0;
	else
		rc = -1;
	if (rc == 0 && (code != PROTO_ERR_FORBIDDEN || message == NULL))
		rc = -2;
	push_cmd_fini(&cmd);
	return rc;
}

static int
status_of(const char *line, enum proto_error code)
{
	struct buf b = BUF_INIT;
	int st = 0;
	struct push_reply rep = {line, strlen(line), code, 0};
	demo_push_reply(&b, &rep);
	if (b.len > 12)
		st = (b.p[9] - '0') * 100 + (b.p[10] - '0') * 10 + (b.p[11] - '0');
	buf_fini(&b);
	return st;
}

int
main(void)
{
	struct buf b = BUF_INIT;
	struct post p = post("application/json");

	tap_ok(demo_push_path(p.path), "/demo/push is the push path");
	p.path = (struct http_span){"/demo/push/", 11};
	tap_ok(!demo_push_path(p.path), "/demo/push/ is not");

	const char *json[] = {"application/json", "Application/JSON", "application/json; charset=utf-8",
		"application/json;charset=UTF-8"};
	for (size_t i = 0; i < sizeof json / sizeof json[0]; i++) {
		p = post(json[i]);
		tap_ok(demo_push_check(p.content_type, &b) == 0 && b.len == 0, json[i]);
	}
	const char *other[] = {NULL, "", "text/plain", "application/x-www-form-urlencoded",
		"multipart/form-data; boundary=x", "application/jsonp", "application/json-seq"};
	for (size_t i = 0; i < sizeof other / sizeof other[0]; i++) {
		p = post(other[i]);
		buf_reset(&b);
		tap_ok(demo_push_check(p.content_type, &b) == 415 && strncmp(b.p, "HTTP/1.1 415 ", 13) == 0 &&
				strstr(b.p, "\r\nConnection: close\r\n") != NULL &&
				strstr(b.p, "unsupported_media_type") != NULL,
			other[i] ? other[i] : "(no Content-Type)");
	}

	tap_eq_int(passes("{\"type\":\"send_to_uid\",\"uid\":\"alice\",\"data\":{\"x\":1}}"), 1,
		"send_to_uid to one uid passes");
	tap_eq_int(passes("{\"type\":\"send_to_uid\",\"uid\":42,\"data\":\"hi\"}"), 1,
		"an integer uid too");
	tap_eq_int(passes("{\"type\":\"send_to_uid\",\"uid\":[\"a\",\"b\"],\"data\":1}"), 0,
		"a list of uids does not");
	tap_eq_int(passes("{\"type\":\"send_to_group\",\"group\":\"company:7\",\"data\":1}"), 1,
		"send_to_group to one company group passes");
	tap_eq_int(passes("{\"type\":\"send_to_group\",\"group\":\"company:\",\"data\":1}"), 0,
		"\"company:\" alone is no company");
	tap_eq_int(passes("{\"type\":\"send_to_group\",\"group\":\"admins\",\"data\":1}"), 0,
		"another group does not");
	tap_eq_int(passes("{\"type\":\"send_to_group\",\"group\":[\"company:7\",\"company:8\"],"
			  "\"data\":1}"), 0, "a list of groups does not");
	tap_eq_int(passes("{\"type\":\"send_to_all\",\"data\":1}"), 0, "send_to_all does not");
	tap_eq_int(passes("{\"type\":\"get_all_uid_count\"}"), 0, "queries do not");
	tap_eq_int(passes("{\"type\":\"close_client\",\"client_id\":\"0123456789abcdef0123456789ab\"}"),
		0, "close_client does not");
	tap_eq_int(passes("{\"type\":\"bind_uid\",\"client_id\":\"0123456789abcdef0123456789ab\","
			  "\"uid\":\"x\"}"), 0, "bind_uid does not");

	tap_eq_int(status_of("{\"ok\":true,\"delivered\":2,\"offline\":[]}\n", PROTO_ERR_NONE), 200,
		"ok is 200");
	tap_eq_int(status_of("{\"ok\":false,\"error\":\"forbidden\",\"message\":\"m\"}\n",
			   PROTO_ERR_FORBIDDEN), 403, "forbidden is 403");
	tap_eq_int(status_of("{\"ok\":false,\"error\":\"bad_json\",\"message\":\"m\"}",
			   PROTO_ERR_BAD_JSON), 400, "bad_json is 400, as in the HTTP API");
	tap_eq_int(status_of("{\"ok\":false,\"error\":\"timeout\",\"message\":\"m\"}",
			   PROTO_ERR_TIMEOUT), 504, "timeout is 504");
	tap_eq_int(status_of("{\"ok\":false,\"error\":\"overloaded\",\"message\":\"m\"}",
			   PROTO_ERR_OVERLOADED), 503, "overloaded is 503");
	buf_reset(&b);
	struct push_reply ok = {"{\"ok\":true}\n", 12, PROTO_ERR_NONE, 0};
	demo_push_reply(&b, &ok);
	const char *body = strstr(b.p, "\r\n\r\n");
	tap_ok(body != NULL && strcmp(body + 4, "{\"ok\":true}") == 0 &&
			strstr(b.p, "Content-Length: 11\r\n") != NULL &&
			strstr(b.p, "Cache-Control: no-store\r\n") != NULL,
		"the reply line is the body, without its newline");
	buf_fini(&b);
	return tap_done();
}

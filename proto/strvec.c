/*
 * strvec — see strvec.h.
 */
#include "proto/strvec.h"

#include <stdlib.h>
#include <string.h>

#include "common/xmalloc.h"

void
strvec_add(struct strvec *s, const char *p, size_t n)
{
	if (s->n == s->cap) {
		s->cap = s->cap ? s->cap * 2 : 8;
		s->off = xrealloc(s->off, s->cap * sizeof *s->off);
		s->len = xrealloc(s->len, s->cap * sizeof *s->len);
	}
	s->off[s->n] = s->bytes.len;
	s->len[s->n] = (uint32_t)n;
	s->n++;
	buf_append(&s->bytes, p, n);
}

void
strvec_fini(struct strvec *s)
{
	buf_fini(&s->bytes);
	free(s->off);
	free(s->len);
	memset(s, 0, sizeof *s);
}

void
strvec_reset(struct strvec *s)
{
	buf_reset(&s->bytes);
	s->n = 0;
}

int
strvec_cmp(const void *a, const void *b)
{
	const struct pstr *x = a, *y = b;
	uint32_t n = x->n < y->n ? x->n : y->n;
	int c = n ? memcmp(x->p, y->p, n) : 0;
	return c ? c : (x->n > y->n) - (x->n < y->n);
}

struct pstr_list
strvec_list(const struct strvec *s, bool unique)
{
	struct pstr_list l = {xcalloc(s->n + 1, sizeof(struct pstr)), 0};
	for (size_t i = 0; i < s->n; i++) {
		l.v[i].p = s->bytes.p + s->off[i];
		l.v[i].n = s->len[i];
	}
	l.n = (uint32_t)s->n;
	if (unique && l.n > 1) {
		qsort(l.v, l.n, sizeof *l.v, strvec_cmp);
		uint32_t k = 1;
		for (uint32_t i = 1; i < l.n; i++)
			if (!pstr_eq(l.v[i], l.v[k - 1]))
				l.v[k++] = l.v[i];
		l.n = k;
	}
	return l;
}

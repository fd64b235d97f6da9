/*
 * presence_watch — see presence_watch.h.
 */
#include "gateway/presence_watch.h"

#include <stdlib.h>
#include <string.h>

#include "common/hash.h"
#include "common/xmalloc.h"

struct presence_pattern {
	char *p;
	size_t n;    /* bytes before the '*' when prefix */
	bool prefix;
};

struct presence_watch {
	struct presence_pattern *v;
	size_t n;
};

struct presence_watch *
presence_watch_new(const char *patterns)
{
	struct presence_watch *pw = xcalloc(1, sizeof *pw);
	const char *s = patterns != NULL ? patterns : "";
	for (;;) {
		const char *end = strchr(s, ',');
		const char *e = end != NULL ? end : s + strlen(s);
		const char *b = s;
		while (b < e && (*b == ' ' || *b == '\t'))
			b++;
		while (e > b && (e[-1] == ' ' || e[-1] == '\t'))
			e--;
		if (e > b) {
			pw->v = xrealloc(pw->v, (pw->n + 1) * sizeof *pw->v);
			struct presence_pattern *pp = &pw->v[pw->n++];
			pp->prefix = e[-1] == '*';
			pp->n = (size_t)(e - b) - (pp->prefix ? 1 : 0);
			pp->p = xstrndup(b, pp->n);
		}
		if (end == NULL)
			break;
		s = end + 1;
	}
	return pw;
}

void
presence_watch_free(struct presence_watch *pw)
{
	if (pw == NULL)
		return;
	for (size_t i = 0; i < pw->n; i++)
		free(pw->v[i].p);
	free(pw->v);
	free(pw);
}

bool
presence_watch_any(const struct presence_watch *pw)
{
	return pw->n > 0;
}

bool
presence_watch_match(const struct presence_watch *pw, const char *group, size_t len)
{
	for (size_t i = 0; i < pw->n; i++) {
		const struct presence_pattern *pp = &pw->v[i];
		if (pp->prefix ? len >= pp->n && memcmp(group, pp->p, pp->n) == 0
			       : len == pp->n && memcmp(group, pp->p, len) == 0)
			return true;
	}
	return false;
}

/* Not seeded: the key must be the same on every gateway (hash.h). */
uint64_t
presence_watch_key(const char *group, size_t len)
{
	return hash_bytes(group, len);
}

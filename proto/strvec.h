/*
 * strvec — a list of byte strings gathered into one buffer (uids, groups,
 * client ids on their way into a RESULT or REPLY), handed out as a
 * pstr_list. Strings are stored by offset because the buffer moves while it
 * grows.
 */
#ifndef GATECAST_PROTO_STRVEC_H
#define GATECAST_PROTO_STRVEC_H

#include <stdbool.h>
#include <stddef.h>

#include "common/buf.h"
#include "proto/msg.h"

struct strvec {
	struct buf bytes;
	size_t *off;
	uint32_t *len;
	size_t n, cap;
};

#define STRVEC_INIT {BUF_INIT, NULL, NULL, 0, 0}

/* Copies n bytes at p as a new entry. */
void strvec_add(struct strvec *s, const char *p, size_t n);
void strvec_fini(struct strvec *s);
/* Empties s, keeping its storage for reuse. */
void strvec_reset(struct strvec *s);
/* The entries as a pstr_list whose v is malloc'ed (free it) and whose bytes
 * are borrowed from s (valid until s changes). unique sorts the list and
 * drops repeats. */
struct pstr_list strvec_list(const struct strvec *s, bool unique);
/* Orders pstr by bytes (shorter first on a common prefix): for qsort and
 * bsearch over pstr arrays. */
int strvec_cmp(const void *a, const void *b);

#endif

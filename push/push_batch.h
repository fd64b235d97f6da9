/*
 * push_batch — the body of POST /api/batch (push_http.c): a JSON array of
 * push commands, split into its elements without parsing them twice. Pure.
 */
#ifndef GATECAST_PUSH_PUSH_BATCH_H
#define GATECAST_PUSH_PUSH_BATCH_H

#include <stddef.h>

#define PUSH_BATCH_MAX 1000  /* commands in one /api/batch; more get 413 */

/* Splits the text of a JSON array (already known to be valid JSON) into the
 * spans of its elements: up to max (off, len) pairs into off[]/len[].
 * Returns the element count (which may exceed max: then only max are
 * filled), or -EINVAL when the text is not an array. */
long push_batch_split(const char *p, size_t n, size_t *off, size_t *len, size_t max);

#endif

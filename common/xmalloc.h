/*
 * xmalloc — allocation that aborts on out-of-memory.
 *
 * gatecast bounds memory with explicit limits (max connections, max message,
 * max queued output) instead of recovering from a failed malloc: a process
 * that cannot allocate a few bytes cannot do anything useful, so it stops
 * loudly (as Redis zmalloc and h2o do). Nothing here frees on behalf of the
 * caller.
 */
#ifndef GATECAST_COMMON_XMALLOC_H
#define GATECAST_COMMON_XMALLOC_H

#include <stddef.h>

/* Never return NULL; abort the process when memory is exhausted. */
void *xmalloc(size_t n);
void *xcalloc(size_t nmemb, size_t size);
void *xrealloc(void *p, size_t n);
/* Copies s (NUL-terminated). */
char *xstrdup(const char *s);
/* Copies n bytes of s and appends a NUL. */
char *xstrndup(const char *s, size_t n);
/* Copies n bytes. */
void *xmemdup(const void *p, size_t n);

#endif

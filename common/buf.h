/*
 * buf — a growable byte buffer.
 *
 * The buffer itself has no limit: callers that take bytes from the network
 * check their own bound (max_line, max_output, ...) before appending. The
 * contents are always followed by a NUL byte (not counted in len) so text can
 * be handed to functions that want C strings.
 */
#ifndef GATECAST_COMMON_BUF_H
#define GATECAST_COMMON_BUF_H

#include <stdarg.h>
#include <stddef.h>

struct buf {
	char *p;    /* NULL until the first append */
	size_t len; /* bytes in use */
	size_t cap; /* bytes allocated, excluding the trailing NUL */
};

#define BUF_INIT {NULL, 0, 0}

void buf_init(struct buf *b);
/* Frees the storage; the buf may be reused after buf_init. */
void buf_fini(struct buf *b);
/* Ensures room for n more bytes. */
void buf_reserve(struct buf *b, size_t n);
void buf_append(struct buf *b, const void *p, size_t n);
void buf_append_str(struct buf *b, const char *s);
void buf_append_char(struct buf *b, char c);
__attribute__((format(printf, 2, 3))) void buf_printf(struct buf *b, const char *fmt, ...);
/* Removes the first n bytes (n <= len). */
void buf_consume(struct buf *b, size_t n);
/* Empties the buffer, keeping its storage. */
void buf_reset(struct buf *b);
/* Hands the storage to the caller (NUL-terminated, may be NULL if empty) and
 * leaves b empty. */
char *buf_steal(struct buf *b, size_t *len);

#endif

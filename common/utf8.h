/*
 * utf8 — incremental UTF-8 validation (RFC 3629: no overlongs, no
 * surrogates, nothing above U+10FFFF), for text messages and close reasons
 * (RFC 6455 §8.1). Incremental so a message can be rejected as soon as the
 * bad byte arrives, and split sequences across fragments are handled.
 */
#ifndef GATECAST_COMMON_UTF8_H
#define GATECAST_COMMON_UTF8_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define UTF8_ACCEPT 0u
#define UTF8_REJECT 1u

/* Feeds n bytes; state starts at UTF8_ACCEPT. Returns the new state:
 * UTF8_ACCEPT (complete so far), UTF8_REJECT (invalid, stays rejected) or
 * another value (in the middle of a sequence). */
uint32_t utf8_feed(uint32_t state, const void *p, size_t n);

/* Whole-buffer check. */
bool utf8_valid(const void *p, size_t n);

/* The length (1 to 4) of the well-formed character that starts the n bytes
 * at p (borrowed), or 0 when none does: n is 0, or the bytes are not, or
 * not all of, a valid sequence. For writers that replace bad bytes one at a
 * time (json_out_str). */
size_t utf8_char_len(const void *p, size_t n);

#endif

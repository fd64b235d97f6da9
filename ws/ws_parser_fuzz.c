/*
 * ws_parser_fuzz — libFuzzer target for the RFC 6455 receiver alone.
 *
 * The first input byte picks how the rest is cut into feeds (1..256 bytes
 * each), so frames split at every possible place. Checks: no crash; once
 * the parser reports a failure it keeps reporting the same code; messages it
 * delivers fit max_message and text is valid UTF-8; nothing is delivered
 * after a close.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/utf8.h"
#include "ws/ws_parser.h"

#define FUZZ_MAX_MESSAGE 4096

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct fuzz_state {
	int closed;
};

static void
fuzz_message(void *arg, const uint8_t *d, size_t n, bool binary)
{
	struct fuzz_state *st = arg;
	if (st->closed || n > FUZZ_MAX_MESSAGE || (!binary && !utf8_valid(d, n)))
		abort();
}

static void
fuzz_control(void *arg, const uint8_t *d, size_t n)
{
	if (n > 125)
		abort();
}

static void
fuzz_close(void *arg, uint16_t code, const uint8_t *reason, size_t n)
{
	struct fuzz_state *st = arg;
	if ((code != 0 && !ws_parser_close_code_valid(code)) || !utf8_valid(reason, n) || st->closed)
		abort();
	st->closed = 1;
}

static const struct ws_parser_ops fuzz_ops = {fuzz_message, fuzz_control, fuzz_control, fuzz_close};

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size == 0)
		return 0;
	size_t step = (size_t)data[0] + 1;
	uint8_t *copy = malloc(size);
	memcpy(copy, data + 1, size - 1);
	struct ws_parser p;
	struct fuzz_state st = {0};
	ws_parser_init(&p, FUZZ_MAX_MESSAGE);
	uint16_t failed = 0;
	for (size_t i = 0; i < size - 1; i += step) {
		size_t n = size - 1 - i < step ? size - 1 - i : step;
		uint16_t rc = ws_parser_feed(&p, copy + i, n, &fuzz_ops, &st);
		if (failed && rc != failed)
			abort();
		if (rc != 0 && rc != 1002 && rc != 1007 && rc != 1009)
			abort();
		failed = rc;
	}
	ws_parser_fini(&p);
	free(copy);
	return 0;
}

/*
 * msg_fuzz — libFuzzer target for the cluster message decoder.
 *
 * Whatever the bytes, proto_decode must return an error or a message. A
 * message must survive encode → decode unchanged, and encoding is
 * deterministic: the second encoding equals the first byte for byte. Any
 * difference aborts, so libFuzzer keeps the input.
 *
 * Built with -fsanitize=fuzzer this is a fuzzer; built with
 * tests/fuzz_replay.c it replays the committed corpus as an ordinary test.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "proto/msg.h"
#include "proto/msg_eq.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct proto_msg a, b;
	struct buf e1 = BUF_INIT, e2 = BUF_INIT;

	if (proto_decode(data, size, &a) != 0)
		return 0;
	if (proto_encode(&a, &e1) != 0)
		abort();
	if (proto_decode(e1.p, e1.len, &b) != 0)
		abort();
	if (!msg_eq(&a, &b))
		abort();
	if (proto_encode(&b, &e2) != 0 || e1.len != e2.len || memcmp(e1.p, e2.p, e1.len) != 0)
		abort();
	proto_msg_fini(&a);
	proto_msg_fini(&b);
	buf_fini(&e1);
	buf_fini(&e2);
	return 0;
}



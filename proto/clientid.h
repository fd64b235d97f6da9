/*
 * proto/clientid — the client id: globally unique, names its gateway without
 * a lookup, reveals no internal address.
 *
 * Text form: 16 lowercase hex digits of the gateway's member id (a random
 * 64-bit instance id drawn at every gateway start, its top 32 bits the start
 * time in seconds so ids never repeat across restarts) followed by 12 hex
 * digits of the gateway's connection sequence number (starts at 1). 28
 * characters, e.g. "65a1f0c27d3e9b10000000000001". Reconnects get new ids
 * because the sequence only grows.
 */
#ifndef GATECAST_PROTO_CLIENTID_H
#define GATECAST_PROTO_CLIENTID_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/attr.h"

#define CLIENTID_LEN 28
#define CLIENTID_SEQ_MAX 0xffffffffffffULL

/* Writes the id and a NUL into out. seq must be <= CLIENTID_SEQ_MAX. */
void clientid_format(uint64_t gateway, uint64_t seq, char out[CLIENTID_LEN + 1]);

/* Parses exactly CLIENTID_LEN lowercase or uppercase hex digits. Returns
 * true and fills gateway/seq, or false for anything else. */
MUST_CHECK bool clientid_parse(const char *s, size_t len, uint64_t *gateway, uint64_t *seq);

/* A new random member id: top 32 bits = now in seconds, low 32 random. */
uint64_t clientid_new_instance(void);

#endif

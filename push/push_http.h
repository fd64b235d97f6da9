/*
 * push_http — the HTTP API of the push port (http.listen): the routes, auth
 * and timeouts described in push_port.h, on the same table, submit function
 * and bounds as the JSON-lines port.
 */
#ifndef GATECAST_PUSH_PUSH_HTTP_H
#define GATECAST_PUSH_PUSH_HTTP_H

#include <stdbool.h>

#include "common/buf.h"

struct push_port;

/* GET /metrics: appends Prometheus text (format 0.0.4) to out. */
typedef void push_metrics_fn(void *arg, struct buf *out);
/* GET /readyz: can this gateway serve requests now? */
typedef bool push_ready_fn(void *arg);

/* Serves HTTP on the bound socket fd (takes ownership) for port pp, until
 * pp is freed. metrics (not NULL) and ready (NULL: never ready) are called
 * with the arg given to push_port_new. Aborts when out of memory or when pp
 * has a second HTTP listener. */
void push_http_listen(struct push_port *pp, int fd, push_metrics_fn *metrics, push_ready_fn *ready);

#endif

/*
 * gateway — the gateway process: holds the browsers' connections and all
 * connection state, hands every client event and push request to a worker,
 * and executes the workers' orders. It runs no business logic.
 *
 * Clients are never dropped for lack of a worker: their events wait in one
 * bounded queue (gateway.max_pending entries, gateway.worker_wait each) and
 * are answered with an error when that runs out.
 */
#ifndef GATECAST_GATEWAY_GATEWAY_H
#define GATECAST_GATEWAY_GATEWAY_H

struct cluster;
struct config;
struct event_base;
struct gateway;

/* Binds the ports, listens on the inbox, starts announcing. base, c and cluster
 * (the process's cluster context, prog.h) are borrowed for the gateway's
 * life. Returns NULL after logging why. */
struct gateway *gateway_new(struct event_base *base, const struct config *c,
	struct cluster *cluster);
/* Graceful stop: leave the cluster, stop accepting, close every client with
 * 1001 and break the loop when they are gone (or after a grace period). */
void gateway_stop(struct gateway *gw);
void gateway_free(struct gateway *gw);

#endif

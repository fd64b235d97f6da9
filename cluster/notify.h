/*
 * notify — readiness reports to whoever started us, in the sd_notify
 * protocol: one datagram such as "READY=1" to the AF_UNIX socket named by
 * $NOTIFY_SOCKET (a path, or "@name" for the abstract namespace). systemd
 * sets it for Type=notify units; `gatecast start` sets it for its children
 * to learn when each one has joined the cluster (launcher/supervise.c).
 * Without $NOTIFY_SOCKET every call does nothing.
 */
#ifndef GATECAST_CLUSTER_NOTIFY_H
#define GATECAST_CLUSTER_NOTIFY_H

/* Sends state ("READY=1", "STOPPING=1", "STATUS=..."): 1 sent, 0 no
 * $NOTIFY_SOCKET, -errno when it could not be sent. Never blocks. */
int notify_send(const char *state);
/* The same to an explicit socket path (same syntax as $NOTIFY_SOCKET). */
int notify_send_to(const char *path, const char *state);

#endif

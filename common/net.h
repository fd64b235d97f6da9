/*
 * net — TCP listening sockets and address parsing for the public ports,
 * and the address of a unix socket.
 *
 * Every listener sets SO_REUSEPORT so several gateway processes on one host
 * share a port (the kernel spreads new connections over them), and is
 * non-blocking and close-on-exec.
 */
#ifndef GATECAST_COMMON_NET_H
#define GATECAST_COMMON_NET_H

#include <stddef.h>
#include <sys/socket.h>
#include <sys/un.h>

#include "common/attr.h"

/* Opens a listening TCP socket on "host:port" ("0.0.0.0:7272",
 * "127.0.0.1:8806", "[::1]:7272"). Returns the fd, or -errno (-EINVAL for a
 * malformed address). backlog is passed to listen(2). */
MUST_CHECK int net_listen(const char *hostport, int backlog);

/* Makes fd non-blocking and close-on-exec. 0 or -errno. */
MUST_CHECK int net_nonblock(int fd);

/* An fd held in reserve (on /dev/null) for net_shed; -1 if none. */
MUST_CHECK int net_spare_fd(void);
/* Out of file descriptors: the listener stays readable and the loop would
 * spin. Frees the spare fd, accepts and closes one pending connection (the
 * peer sees it refused instead of hanging), and takes the spare again. */
void net_shed(int lfd, int *spare_fd);

/* Fills sa with the unix socket address of path (a file name, copied):
 * 0, -EINVAL for an empty path, or -ENAMETOOLONG when it does not fit. */
MUST_CHECK int net_unix_addr(const char *path, struct sockaddr_un *sa);

/* Formats a peer address as "ip:port" into out. Returns out. */
const char *net_addr_str(const struct sockaddr *sa, char *out, size_t n);

#endif

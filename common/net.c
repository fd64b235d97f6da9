/*
 * net — see net.h.
 */
#include "common/net.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <string.h>
#include <sys/un.h>
#include <unistd.h>

int
net_nonblock(int fd)
{
	int fl = fcntl(fd, F_GETFL);
	if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0)
		return -errno;
	if (fcntl(fd, F_SETFD, FD_CLOEXEC) < 0)
		return -errno;
	return 0;
}

/* Splits "host:port" / "[v6]:port" into host and port strings. */
static int
net_split(const char *hostport, char *host, size_t hn, char *port, size_t pn)
{
	const char *colon;
	const char *h = hostport;
	size_t hl;
	if (hostport[0] == '[') {
		const char *end = strchr(hostport, ']');
		if (end == NULL || end[1] != ':')
			return -EINVAL;
		h = hostport + 1;
		hl = (size_t)(end - h);
		colon = end + 1;
	} else {
		colon = strrchr(hostport, ':');
		if (colon == NULL)
			return -EINVAL;
		hl = (size_t)(colon - hostport);
	}
	if (hl == 0 || hl >= hn || strlen(colon + 1) == 0 || strlen(colon + 1) >= pn)
		return -EINVAL;
	memcpy(host, h, hl);
	host[hl] = '\0';
	snprintf(port, pn, "%s", colon + 1);
	return 0;
}

int
net_listen(const char *hostport, int backlog)
{
	char host[256], port[16];
	struct addrinfo hints, *ai = NULL;
	int fd = -1, one = 1, rc;

	if (net_split(hostport, host, sizeof host, port, sizeof port) < 0)
		return -EINVAL;
	memset(&hints, 0, sizeof hints);
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
	if (getaddrinfo(host, port, &hints, &ai) != 0 || ai == NULL)
		return -EINVAL;
	fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		goto fail;
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) < 0 ||
		setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) < 0)
		goto fail;
	if (bind(fd, ai->ai_addr, ai->ai_addrlen) < 0 || listen(fd, backlog) < 0)
		goto fail;
	freeaddrinfo(ai);
	return fd;
fail:
	rc = -errno;
	if (fd >= 0)
		close(fd);
	freeaddrinfo(ai);
	return rc;
}

const char *
net_addr_str(const struct sockaddr *sa, char *out, size_t n)
{
	char ip[INET6_ADDRSTRLEN] = "?";
	unsigned port = 0;
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *s4 = (const struct sockaddr_in *)(const void *)sa;
		inet_ntop(AF_INET, &s4->sin_addr, ip, sizeof ip);
		port = ntohs(s4->sin_port);
		snprintf(out, n, "%s:%u", ip, port);
	} else if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)(const void *)sa;
		inet_ntop(AF_INET6, &s6->sin6_addr, ip, sizeof ip);
		port = ntohs(s6->sin6_port);
		snprintf(out, n, "[%s]:%u", ip, port);
	} else {
		snprintf(out, n, "unix");
	}
	return out;
}

int
net_spare_fd(void)
{
	return open("/dev/null", O_RDONLY | O_CLOEXEC);
}

void
net_shed(int lfd, int *spare_fd)
{
	if (*spare_fd >= 0) {
		close(*spare_fd);
		*spare_fd = -1;
	}
	int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
	if (fd >= 0)
		close(fd);
	*spare_fd = net_spare_fd();
}

int
net_unix_addr(const char *path, struct sockaddr_un *sa)
{
	memset(sa, 0, sizeof *sa);
	sa->sun_family = AF_UNIX;
	if (path[0] == '\0')
		return -EINVAL;
	if (strlen(path) >= sizeof sa->sun_path)
		return -ENAMETOOLONG;
	strcpy(sa->sun_path, path);
	return 0;
}

/*
 * cluster — see cluster.h.
 *
 * TLS configs are built per listener or dialer (a dialer's server name is
 * its URL's host) from the files named in the config, read when the socket
 * is made; the key's bytes are wiped once mbedTLS has parsed them.
 */
#include "cluster/cluster.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <mbedtls/platform_util.h>
#include <nng/supplemental/tls/tls.h>

#include "common/buf.h"
#include "common/clock.h"
#include "common/config.h"
#include "common/log.h"
#include "cluster/seal.h"
#include "common/xmalloc.h"

#define CLUSTER_PEM_MAX (1024 * 1024)
#define CLUSTER_WARN_EVERY_MS 1000

struct cluster {
	struct seal *seal;
	char *tls_cert, *tls_key, *tls_ca;
	uint64_t last_warn;  /* clock_ms() of the last refusal logged */
	uint64_t suppressed; /* refusals not logged since then */
};

int
cluster_check_secret(const char *secret, char *err, size_t errlen)
{
	size_t n = secret != NULL ? strlen(secret) : 0;
	if (n >= SEAL_MIN_SECRET)
		return 0;
	if (err != NULL && errlen > 0)
		snprintf(err, errlen,
			"cluster.secret: %s; set it in the config or in the environment variable "
			"GATECAST_CLUSTER_SECRET to at least %d random bytes, the same for every "
			"process of the cluster (`gatecast start` makes one when none is set)",
			n == 0 ? "missing" : "too short", SEAL_MIN_SECRET);
	return -EINVAL;
}

/* Reads a whole PEM file as a NUL-terminated string into b. 0 or -errno. */
static int
cluster_read_pem(const char *path, struct buf *b)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	for (;;) {
		buf_reserve(b, 4096);
		ssize_t r = read(fd, b->p + b->len, b->cap - b->len - 1);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			int e = errno;
			close(fd);
			return -e;
		}
		if (r == 0)
			break;
		b->len += (size_t)r;
		if (b->len > CLUSTER_PEM_MAX) {
			close(fd);
			return -EFBIG;
		}
	}
	close(fd);
	b->p[b->len] = '\0';
	return 0;
}

/* Loads tls_cert and tls_key into tls. 0 or a negative nng error (logged). */
static int
cluster_tls_own_cert(const struct cluster *cl, nng_tls_config *tls)
{
	struct buf cert = BUF_INIT, key = BUF_INIT;
	int rc;
	if ((rc = cluster_read_pem(cl->tls_cert, &cert)) < 0) {
		log_error("tls_file_failed", "key=cluster.tls_cert file=%s errno=%d", cl->tls_cert, -rc);
		rc = -NNG_EINVAL;
		goto out;
	}
	if ((rc = cluster_read_pem(cl->tls_key, &key)) < 0) {
		log_error("tls_file_failed", "key=cluster.tls_key file=%s errno=%d", cl->tls_key, -rc);
		rc = -NNG_EINVAL;
		goto out;
	}
	if ((rc = nng_tls_config_own_cert(tls, cert.p, key.p, NULL)) != 0) {
		log_error("tls_file_failed",
			"key=cluster.tls_cert,cluster.tls_key cert=%s key_file=%s err=\"%s\"",
			cl->tls_cert, cl->tls_key, nng_strerror(rc));
		rc = -rc;
	}
out:
	if (key.p != NULL)
		mbedtls_platform_zeroize(key.p, key.cap);
	buf_fini(&key);
	buf_fini(&cert);
	return rc;
}

static int
cluster_tls_ca(const struct cluster *cl, nng_tls_config *tls)
{
	int rc = nng_tls_config_ca_file(tls, cl->tls_ca);
	if (rc != 0) {
		log_error("tls_file_failed", "key=cluster.tls_ca file=%s err=\"%s\"", cl->tls_ca,
			nng_strerror(rc));
		return -rc;
	}
	return nng_tls_config_auth_mode(tls, NNG_TLS_AUTH_MODE_REQUIRED) ? -NNG_EINVAL : 0;
}

/* A TLS config for a listener (server) or a dialer of url. 0 or a negative
 * nng error (logged). */
static int
cluster_tls_config(const struct cluster *cl, bool server, const char *url, nng_tls_config **out)
{
	nng_tls_config *tls = NULL;
	nng_url *u = NULL;
	int rc;

	if (server && cl->tls_cert[0] == '\0') {
		log_error("tls_not_configured", "url=%s need=\"cluster.tls_cert and cluster.tls_key\"",
			url);
		return -NNG_EINVAL;
	}
	if (!server && cl->tls_ca[0] == '\0') {
		log_error("tls_not_configured", "url=%s need=cluster.tls_ca", url);
		return -NNG_EINVAL;
	}
	if ((rc = nng_tls_config_alloc(&tls, server ? NNG_TLS_MODE_SERVER : NNG_TLS_MODE_CLIENT)) != 0) {
		log_error("tls_unavailable", "url=%s err=\"%s\"", url, nng_strerror(rc));
		return -rc;
	}
	if (cl->tls_cert[0] != '\0' && (rc = cluster_tls_own_cert(cl, tls)) < 0)
		goto fail;
	if (cl->tls_ca[0] != '\0' && (rc = cluster_tls_ca(cl, tls)) < 0)
		goto fail;
	if (server && cl->tls_ca[0] == '\0' &&
		(rc = -nng_tls_config_auth_mode(tls, NNG_TLS_AUTH_MODE_NONE)) < 0)
		goto fail;
	if (!server) {
		if ((rc = -nng_url_parse(&u, url)) < 0)
			goto fail;
		rc = -nng_tls_config_server_name(tls, u->u_hostname);
		nng_url_free(u);
		if (rc < 0)
			goto fail;
	}
	*out = tls;
	return 0;
fail:
	nng_tls_config_free(tls);
	return rc;
}

static bool
cluster_is_tls(const char *url)
{
	return strncmp(url, "tls+tcp", 7) == 0;
}

struct cluster *
cluster_new(const struct config *c, uint64_t self_id, char *err, size_t errlen)
{
	if (cluster_check_secret(c->cluster_secret, err, errlen) < 0)
		return NULL;
	struct cluster *cl = xcalloc(1, sizeof *cl);
	cl->tls_cert = xstrdup(c->cluster_tls_cert);
	cl->tls_key = xstrdup(c->cluster_tls_key);
	cl->tls_ca = xstrdup(c->cluster_tls_ca);
	/* Load the TLS files once now, so a wrong path stops the program at
	 * start instead of at the first tls+tcp:// peer. */
	nng_tls_config *tls = NULL;
	if (c->cluster_tls_cert[0] != '\0' || c->cluster_tls_ca[0] != '\0') {
		bool server = c->cluster_tls_cert[0] != '\0';
		if (cluster_tls_config(cl, server, server ? "tls+tcp://check" : "tls+tcp://check:1",
			    &tls) < 0) {
			snprintf(err, errlen, "cluster.tls_cert, cluster.tls_key or cluster.tls_ca: "
					      "cannot load (see the log line above)");
			cluster_free(cl);
			return NULL;
		}
		nng_tls_config_free(tls);
	}
	cl->seal = seal_new(c->cluster_secret, self_id, c->cluster_max_clock_skew_ms);
	return cl;
}

void
cluster_free(struct cluster *cl)
{
	if (cl == NULL)
		return;
	seal_free(cl->seal);
	free(cl->tls_cert);
	free(cl->tls_key);
	free(cl->tls_ca);
	free(cl);
}

uint64_t
cluster_id(const struct cluster *cl)
{
	return seal_id(cl->seal);
}

int
cluster_listen(struct cluster *cl, nng_socket s, const char *url)
{
	nng_tls_config *tls = NULL;
	nng_listener l;
	int rc;

	if (!cluster_is_tls(url))
		return cluster_errno(nng_listen(s, url, NULL, 0));
	if ((rc = cluster_tls_config(cl, true, url, &tls)) < 0)
		return cluster_errno(-rc);
	if ((rc = nng_listener_create(&l, s, url)) == 0) {
		if ((rc = nng_listener_set_ptr(l, NNG_OPT_TLS_CONFIG, tls)) == 0)
			rc = nng_listener_start(l, 0);
		if (rc != 0)
			nng_listener_close(l);
	}
	nng_tls_config_free(tls); /* the listener holds its own reference */
	return cluster_errno(rc);
}

int
cluster_dial(struct cluster *cl, nng_socket s, const char *url, int flags)
{
	nng_tls_config *tls = NULL;
	nng_dialer d;
	int rc;

	if (!cluster_is_tls(url))
		return cluster_errno(nng_dial(s, url, NULL, flags));
	if ((rc = cluster_tls_config(cl, false, url, &tls)) < 0)
		return cluster_errno(-rc);
	if ((rc = nng_dialer_create(&d, s, url)) == 0) {
		if ((rc = nng_dialer_set_ptr(d, NNG_OPT_TLS_CONFIG, tls)) == 0)
			rc = nng_dialer_start(d, flags);
		if (rc != 0)
			nng_dialer_close(d);
	}
	nng_tls_config_free(tls); /* the dialer holds its own reference */
	return cluster_errno(rc);
}

int
cluster_errno(int nng_err)
{
	if (nng_err == 0)
		return 0;
	if (nng_err & NNG_ESYSERR)
		return -(nng_err & ~NNG_ESYSERR);
	switch (nng_err) {
	case NNG_EINTR: return -EINTR;
	case NNG_ENOMEM: return -ENOMEM;
	case NNG_EINVAL: return -EINVAL;
	case NNG_EBUSY: return -EBUSY;
	case NNG_ETIMEDOUT: return -ETIMEDOUT;
	case NNG_ECONNREFUSED: return -ECONNREFUSED;
	case NNG_ECLOSED: return -EBADF;
	case NNG_EAGAIN: return -EAGAIN;
	case NNG_ENOTSUP: return -ENOTSUP;
	case NNG_EADDRINUSE: return -EADDRINUSE;
	case NNG_ESTATE: return -EPROTO;
	case NNG_ENOENT: return -ENOENT;
	case NNG_EPROTO: return -EPROTO;
	case NNG_EUNREACHABLE: return -EHOSTUNREACH;
	case NNG_EADDRINVAL: return -EINVAL;
	case NNG_EPERM: return -EPERM;
	case NNG_EMSGSIZE: return -EMSGSIZE;
	case NNG_ECONNABORTED: return -ECONNABORTED;
	case NNG_ECONNRESET: return -ECONNRESET;
	case NNG_ECANCELED: return -ECANCELED;
	case NNG_ENOFILES: return -EMFILE;
	case NNG_ENOSPC: return -ENOSPC;
	case NNG_EEXIST: return -EEXIST;
	case NNG_EREADONLY: return -EROFS;
	case NNG_EWRITEONLY: return -EBADF;
	case NNG_ECRYPTO: return -EPROTO;
	case NNG_EPEERAUTH: return -EACCES;
	case NNG_ENOARG: return -EINVAL;
	case NNG_EAMBIGUOUS: return -EINVAL;
	case NNG_EBADTYPE: return -EINVAL;
	case NNG_ECONNSHUT: return -ESHUTDOWN;
	}
	return -EIO;
}

void
cluster_seal(struct cluster *cl, nng_msg *m, const char *to)
{
	seal_msg(cl->seal, m, to, clock_wall_ms());
}

void
cluster_seal_buf(struct cluster *cl, struct buf *b, const char *to)
{
	unsigned char t[SEAL_TRAILER];
	seal_trailer(cl->seal, b->p, b->len, to, clock_wall_ms(), t);
	buf_append(b, t, sizeof t);
}

static const char *
cluster_reason(int rc)
{
	switch (rc) {
	case -EBADMSG:
		return "malformed";
	case -EPERM:
		return "forged"; /* another secret, altered, or meant for someone else */
	case -ETIME:
		return "stale";
	case -EALREADY:
		return "replayed";
	}
	return "unknown";
}

/* Counts and logs (rate-limited) a refused message of len bytes. */
static int
cluster_refused(struct cluster *cl, int rc, size_t len, const char *where)
{
	uint64_t now = clock_ms();
	if (cl->last_warn != 0 && now - cl->last_warn < CLUSTER_WARN_EVERY_MS) {
		cl->suppressed++;
		return rc;
	}
	const struct seal_stats *st = seal_stats(cl->seal);
	log_warn("cluster_message_refused",
		"socket=%s reason=%s len=%zu suppressed=%" PRIu64 " forged=%" PRIu64 " stale=%" PRIu64
		" replayed=%" PRIu64 " malformed=%" PRIu64
		" hint=\"the sender does not hold this cluster.secret, its clock is off, or the "
		"message was altered or replayed\"",
		where, cluster_reason(rc), len, cl->suppressed, st->forged, st->stale,
		st->replayed, st->malformed);
	cl->last_warn = now;
	cl->suppressed = 0;
	return rc;
}

int
cluster_open(struct cluster *cl, nng_msg *m, const char *to, const char *where, uint64_t *from)
{
	int rc = seal_open(cl->seal, m, to, clock_wall_ms(), from);
	return rc == 0 ? 0 : cluster_refused(cl, rc, nng_msg_len(m), where);
}

int
cluster_open_bytes(struct cluster *cl, const void *p, size_t n, const char *to, const char *where,
	uint64_t *from)
{
	int rc = seal_check(cl->seal, p, n, to, clock_wall_ms(), from);
	return rc == 0 ? 0 : cluster_refused(cl, rc, n, where);
}

void
cluster_to_member(char out[CLUSTER_TO_MAX], uint64_t id)
{
	snprintf(out, CLUSTER_TO_MAX, "member:%016" PRIx64, id);
}

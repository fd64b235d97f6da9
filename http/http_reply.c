/*
 * http_reply — see http_reply.h.
 */
#include "http/http_reply.h"

const char *
http_reply_reason(int status)
{
	switch (status) {
	case 100: return "Continue";
	case 101: return "Switching Protocols";
	case 200: return "OK";
	case 301: return "Moved Permanently";
	case 304: return "Not Modified";
	case 400: return "Bad Request";
	case 401: return "Unauthorized";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 408: return "Request Timeout";
	case 409: return "Conflict";
	case 411: return "Length Required";
	case 413: return "Content Too Large";
	case 415: return "Unsupported Media Type";
	case 426: return "Upgrade Required";
	case 429: return "Too Many Requests";
	case 431: return "Request Header Fields Too Large";
	case 500: return "Internal Server Error";
	case 503: return "Service Unavailable";
	case 504: return "Gateway Timeout";
	case 505: return "HTTP Version Not Supported";
	default: return NULL;
	}
}

void
http_reply_write(struct buf *out, int status, const struct http_reply *h, const void *body,
	size_t len)
{
	static const struct http_reply none = {0};
	if (h == NULL)
		h = &none;
	const char *reason = http_reply_reason(status);
	if (reason == NULL) {
		status = 500;
		reason = "Internal Server Error";
	}
	bool bodyless = status < 200 || status == 204 || status == 304;
	buf_printf(out, "HTTP/1.1 %d %s\r\n", status, reason);
	if (h->content_type != NULL)
		buf_printf(out, "Content-Type: %s\r\n", h->content_type);
	if (!bodyless)
		buf_printf(out, "Content-Length: %zu\r\n", len);
	if (h->cache_control != NULL)
		buf_printf(out, "Cache-Control: %s\r\n", h->cache_control);
	if (h->nosniff)
		buf_printf(out, "X-Content-Type-Options: nosniff\r\n");
	if (h->connection != NULL)
		buf_printf(out, "Connection: %s\r\n", h->connection);
	buf_printf(out, "%s\r\n", h->extra != NULL ? h->extra : "");
	if (!h->head && !bodyless && len > 0)
		buf_append(out, body, len);
}

void
http_reply_error_body(struct buf *out, const char *code, const char *message)
{
	buf_printf(out, "{\"ok\":false,\"error\":\"%s\",\"message\":\"%s\"}", code, message);
}

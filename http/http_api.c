/*
 * http_api — see http_api.h.
 */
#include "http/http_api.h"

#include <errno.h>
#include <jansson.h>
#include <stdbool.h>
#include <string.h>

static size_t
skip_ws(const char *p, size_t n, size_t i)
{
	while (i < n && (p[i] == ' ' || p[i] == '\t' || p[i] == '\n' || p[i] == '\r'))
		i++;
	return i;
}

long
http_api_split_array(const char *p, size_t n, size_t *off, size_t *len, size_t max)
{
	size_t i = skip_ws(p, n, 0);
	if (i >= n || p[i] != '[')
		return -EINVAL;
	i = skip_ws(p, n, i + 1);
	if (i < n && p[i] == ']')
		return 0;
	long count = 0;
	while (i < n) {
		size_t start = i;
		int depth = 0;
		bool in_str = false;
		for (; i < n; i++) {
			char ch = p[i];
			if (in_str) {
				if (ch == '\\')
					i++;
				else if (ch == '"')
					in_str = false;
				continue;
			}
			if (ch == '"')
				in_str = true;
			else if (ch == '[' || ch == '{')
				depth++;
			else if (ch == ']' || ch == '}') {
				if (depth == 0)
					break;
				depth--;
			} else if (ch == ',' && depth == 0)
				break;
		}
		if (i >= n)
			return -EINVAL;
		size_t e = i;
		while (e > start && (p[e - 1] == ' ' || p[e - 1] == '\t' || p[e - 1] == '\n' ||
					    p[e - 1] == '\r'))
			e--;
		if (e == start)
			return -EINVAL;
		if ((size_t)count < max) {
			off[count] = start;
			len[count] = e - start;
		}
		count++;
		if (p[i] == ']')
			return count;
		i = skip_ws(p, n, i + 1);
	}
	return -EINVAL;
}

int
http_api_reply_status(const char *json, size_t len)
{
	json_t *root = json_loadb(json, len, 0, NULL);
	int status = 500;
	if (json_is_true(json_object_get(root, "ok"))) {
		status = 200;
	} else {
		static const struct {
			const char *code;
			int status;
		} map[] = {
			{"bad_json", 400}, {"bad_request", 400}, {"unknown_type", 400},
			{"unauthorized", 401}, {"not_found", 404}, {"too_large", 413},
			{"too_many_groups", 409}, {"no_worker", 503}, {"overloaded", 503},
			{"timeout", 504},
		};
		const char *code = json_string_value(json_object_get(root, "error"));
		for (size_t i = 0; code != NULL && i < sizeof map / sizeof map[0]; i++)
			if (strcmp(code, map[i].code) == 0)
				status = map[i].status;
	}
	json_decref(root);
	return status;
}

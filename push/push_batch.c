/*
 * push_batch — see push_batch.h.
 */
#include "push/push_batch.h"

#include <errno.h>
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
push_batch_split(const char *p, size_t n, size_t *off, size_t *len, size_t max)
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

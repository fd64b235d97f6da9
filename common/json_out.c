/*
 * json_out — see json_out.h. Strings are copied in runs: only the bytes
 * that need escaping (or replacing) break a run.
 */
#include "common/json_out.h"

#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/utf8.h"

void
json_out_str(struct buf *b, const char *s, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *p = (const unsigned char *)s;
	size_t run = 0; /* start of the bytes not yet appended */

	buf_append_char(b, '"');
	for (size_t i = 0; i < n;) {
		unsigned char c = p[i];
		if (c >= 0x20 && c != '"' && c != '\\' && c < 0x80) {
			i++;
			continue;
		}
		if (c >= 0x80) {
			size_t k = utf8_char_len(p + i, n - i);
			if (k > 0) {
				i += k;
				continue;
			}
		}
		buf_append(b, s + run, i - run);
		switch (c) {
		case '"': buf_append_str(b, "\\\""); break;
		case '\\': buf_append_str(b, "\\\\"); break;
		case '\b': buf_append_str(b, "\\b"); break;
		case '\f': buf_append_str(b, "\\f"); break;
		case '\n': buf_append_str(b, "\\n"); break;
		case '\r': buf_append_str(b, "\\r"); break;
		case '\t': buf_append_str(b, "\\t"); break;
		default:
			if (c >= 0x80) {
				buf_append_str(b, "\\ufffd");
			} else {
				char e[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};
				buf_append(b, e, sizeof e);
			}
		}
		run = ++i;
	}
	buf_append(b, s + run, n - run);
	buf_append_char(b, '"');
}

void
json_out_real(struct buf *b, double d)
{
	char s[40];

	if (!isfinite(d)) {
		buf_append_str(b, "null");
		return;
	}
	for (int prec = 1; prec <= 17; prec++) {
		snprintf(s, sizeof s, "%.*g", prec, d);
		if (strtod(s, NULL) == d)
			break;
	}
	buf_append_str(b, s);
	if (strpbrk(s, ".eE") == NULL)
		buf_append_str(b, ".0");
}

void
json_out_value(struct buf *b, const json_t *cv)
{
	json_t *v = (json_t *)cv; /* jansson's getters take non-const */
	const char *key;
	json_t *val;
	size_t i;
	bool first = true;

	switch (json_typeof(v)) {
	case JSON_OBJECT:
		buf_append_char(b, '{');
		json_object_foreach(v, key, val) {
			if (!first)
				buf_append_char(b, ',');
			first = false;
			json_out_str(b, key, strlen(key));
			buf_append_char(b, ':');
			json_out_value(b, val);
		}
		buf_append_char(b, '}');
		break;
	case JSON_ARRAY:
		buf_append_char(b, '[');
		json_array_foreach(v, i, val) {
			if (i > 0)
				buf_append_char(b, ',');
			json_out_value(b, val);
		}
		buf_append_char(b, ']');
		break;
	case JSON_STRING:
		json_out_str(b, json_string_value(v), json_string_length(v));
		break;
	case JSON_INTEGER:
		buf_printf(b, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
		break;
	case JSON_REAL:
		json_out_real(b, json_real_value(v));
		break;
	case JSON_TRUE:
		buf_append_str(b, "true");
		break;
	case JSON_FALSE:
		buf_append_str(b, "false");
		break;
	case JSON_NULL:
	default:
		buf_append_str(b, "null");
		break;
	}
}

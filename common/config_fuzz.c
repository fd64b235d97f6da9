/*
 * config_fuzz — libFuzzer target for the config parser: the INI text of a
 * config file and the --set assignments.
 *
 * The input is loaded with config_load_buffer on top of the defaults, then
 * validated, described and finalised; a failure must leave an error that
 * names the file and line. Whatever loaded must survive a round trip:
 * every "section.key = value" line config_describe writes, applied with
 * config_set to fresh defaults, gives a config that describes byte for byte
 * the same (so every number formats back to itself and every string quotes
 * back to itself). Then each line of the input is tried as one --set
 * argument. Any broken rule aborts, so libFuzzer keeps the input.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Applies every line of config_describe's output d to c with config_set. */
static void
config_fuzz_apply_described(struct config *c, const char *d)
{
	char err[512];

	while (*d != '\0') {
		const char *nl = strchr(d, '\n');
		const char *e = nl != NULL ? nl : d + strlen(d);
		const char *eq = strstr(d, " = ");
		if (eq != NULL && eq < e) {
			/* "section.key = value<blanks> # meaning": the meaning holds
			 * no '#', so the value ends at the last " # ". */
			const char *ve = e;
			while (ve > eq && !(ve[-1] == ' ' && ve[0] == '#'))
				ve--;
			if (ve <= eq + 3)
				abort();
			ve--;
			while (ve > eq + 3 && ve[-1] == ' ')
				ve--;
			size_t kl = (size_t)(eq - d), vl = (size_t)(ve - (eq + 3));
			char *a = malloc(kl + vl + 2);
			if (a == NULL)
				abort();
			memcpy(a, d, kl);
			a[kl] = '=';
			memcpy(a + kl + 1, eq + 3, vl);
			a[kl + 1 + vl] = '\0';
			if (config_set(c, a, err, sizeof err) != 0) {
				fprintf(stderr, "config_fuzz: described line \"%s\" does not load back: %s\n",
					a, err);
				abort();
			}
			free(a);
		}
		d = nl != NULL ? nl + 1 : e;
	}
}

static void
config_fuzz_round_trip(const struct config *c)
{
	struct config again;
	char *d1 = config_describe(c);
	config_defaults(&again);
	config_fuzz_apply_described(&again, d1);
	char *d2 = config_describe(&again);
	if (strcmp(d1, d2) != 0) {
		fprintf(stderr, "config_fuzz: description changed on reload:\n%s\n---\n%s\n", d1, d2);
		abort();
	}
	free(d1);
	free(d2);
	config_fini(&again);
}

/* Every line of the input as one --set argument (a C string: it ends at a
 * NUL, as an argv entry would). */
static void
config_fuzz_set_lines(const uint8_t *data, size_t size)
{
	struct config c;
	char err[512];
	char *line = malloc(size + 1);
	if (line == NULL)
		abort();

	config_defaults(&c);
	const uint8_t *p = data, *end = data + size;
	while (p < end) {
		const uint8_t *nl = memchr(p, '\n', (size_t)(end - p));
		const uint8_t *e = nl != NULL ? nl : end;
		memcpy(line, p, (size_t)(e - p));
		line[e - p] = '\0';
		err[0] = '\0';
		if (config_set(&c, line, err, sizeof err) != 0 && strncmp(err, "--set ", 6) != 0)
			abort();
		p = nl != NULL ? nl + 1 : end;
	}
	/* Any verdict is fine; it must only not crash. */
	if (config_validate(&c, err, sizeof err) != 0)
		err[0] = '\0';
	free(config_describe(&c));
	config_fini(&c);
	free(line);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct config c;
	char err[512];

	config_defaults(&c);
	err[0] = '\0';
	int r = config_load_buffer(&c, "fuzz.ini", (const char *)data, size, err, sizeof err);
	if (r != 0 && strncmp(err, "fuzz.ini:", 9) != 0)
		abort();
	if (r == 0 && err[0] != '\0')
		abort();
	if (config_validate(&c, err, sizeof err) != 0)
		err[0] = '\0';
	config_fuzz_round_trip(&c);
	config_fini(&c);

	config_fuzz_set_lines(data, size);
	return 0;
}

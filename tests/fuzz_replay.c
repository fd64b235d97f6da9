/*
 * fuzz_replay — runs a libFuzzer target's committed corpus as an ordinary
 * TAP test, so every input a fuzzer ever kept (and every crash it found)
 * is replayed in every build, sanitizers included when the build has them.
 *
 * Usage: <target>_replay CORPUS_DIR. Linked with one *_fuzz.c file.
 */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "tests/tap.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int
replay_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	if (f == NULL)
		return -1;
	struct buf in = BUF_INIT;
	char chunk[4096];
	size_t n;
	while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
		buf_append(&in, chunk, n);
	fclose(f);
	/* An exact-size copy, so sanitizers see any read past the end. */
	uint8_t *exact = malloc(in.len ? in.len : 1);
	if (in.len)
		memcpy(exact, in.p, in.len);
	LLVMFuzzerTestOneInput(exact, in.len);
	free(exact);
	buf_fini(&in);
	return 0;
}

int
main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: %s CORPUS_DIR\n", argv[0]);
		return 2;
	}
	DIR *d = opendir(argv[1]);
	tap_ok(d != NULL, "the corpus directory opens");
	if (d == NULL)
		return tap_done();
	struct dirent *e;
	int files = 0;
	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.')
			continue;
		char path[4096];
		snprintf(path, sizeof path, "%s/%s", argv[1], e->d_name);
		/* A crash aborts the test; reaching the check means it passed. */
		tap_ok(replay_file(path) == 0, e->d_name);
		files++;
	}
	closedir(d);
	tap_ok(files > 0, "the corpus is not empty");
	return tap_done();
}

/*
 * driver: a main() for the harnesses when they are built without
 * libFuzzer (the gcc build of make check, and its ASan/UBSan copy): runs
 * LLVMFuzzerTestOneInput once on every file named, or on every file in a
 * folder named, so the kept corpus is a regression test everywhere.
 * Used only by tests/fuzz; trusts its arguments.
 */
#include "config.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fuzz.h"

static int
run_file(const char *path)
{
	FILE *fp;
	uint8_t *data = NULL;
	size_t len = 0, cap = 0, n;

	if ((fp = fopen(path, "rb")) == NULL) {
		perror(path);
		return -1;
	}
	for (;;) {
		if (len == cap) {
			cap = cap ? cap * 2 : 4096;
			if ((data = realloc(data, cap)) == NULL)
				abort();
		}
		if ((n = fread(data + len, 1, cap - len, fp)) == 0)
			break;
		len += n;
	}
	fclose(fp);
	/* an exact-size copy, so ASan sees a read past the input */
	{
		uint8_t *exact = malloc(len ? len : 1);
		if (exact == NULL)
			abort();
		memcpy(exact, data, len);
		free(data);
		LLVMFuzzerTestOneInput(exact, len);
		free(exact);
	}
	return 0;
}

static int
run_path(const char *path, size_t *count)
{
	struct stat st;
	struct dirent **names;
	char sub[4096];
	int i, n, rc = 0;

	if (stat(path, &st) == -1) {
		perror(path);
		return -1;
	}
	if (!S_ISDIR(st.st_mode)) {
		(*count)++;
		return run_file(path);
	}
	/* sorted: a run is the same every time */
	if ((n = scandir(path, &names, NULL, alphasort)) == -1) {
		perror(path);
		return -1;
	}
	for (i = 0; i < n; i++) {
		if (names[i]->d_name[0] != '.' &&
		    snprintf(sub, sizeof(sub), "%s/%s", path,
		    names[i]->d_name) < (int)sizeof(sub) &&
		    run_path(sub, count) == -1)
			rc = -1;
		free(names[i]);
	}
	free(names);
	return rc;
}

int
main(int argc, char *argv[])
{
	size_t count = 0;
	int i, rc = 0;

	if (argc < 2) {
		fprintf(stderr, "usage: %s file-or-folder...\n", argv[0]);
		return 64;
	}
	for (i = 1; i < argc; i++)
		if (run_path(argv[i], &count) == -1)
			rc = 1;
	printf("%s: %zu inputs\n", argv[0], count);
	return rc;
}

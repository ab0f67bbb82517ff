/*
 * driver.c - replay a fuzz target's corpus without libFuzzer, as TAP.
 *
 * Linked into every fuzz/fuzz-NAME program unless --enable-fuzzing, so that
 * `make check` runs each committed seed and regression input through the
 * target, under the same sanitizers as the rest of the build (--enable-asan).
 * Arguments are files or directories; without any, the corpus is
 * $srcdir/fuzz/corpus/NAME/ (NAME from argv[0]).  A crash, a sanitizer
 * report or a FUZZ_CHECK kills the program and the TAP driver reports the
 * test as an error, naming the last input it started ("# input: ...").
 * Must never mutate an input: every file is passed exactly as stored, in a
 * buffer of exactly its size so that an over-read is caught.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fuzz/fuzz.h"

/* libFuzzer's optional hook: NULL when the target does not define it. */
extern int LLVMFuzzerInitialize(int *argc, char ***argv) __attribute__((weak));

#define INPUT_MAX (4 * 1024 * 1024)

struct list {
	char **paths;
	size_t n, cap;
};

static int
list_add(struct list *l, const char *dir, const char *name)
{
	char **np;
	size_t cap;

	if (l->n == l->cap) {
		cap = l->cap ? l->cap * 2 : 64;
		if ((np = realloc(l->paths, cap * sizeof(*np))) == NULL)
			return -1;
		l->paths = np;
		l->cap = cap;
	}
	if (dir == NULL)
		l->paths[l->n] = strdup(name);
	else if (asprintf(&l->paths[l->n], "%s/%s", dir, name) < 0)
		l->paths[l->n] = NULL;
	return l->paths[l->n++] == NULL ? -1 : 0;
}

static int
skip_hidden(const struct dirent *e)
{
	return e->d_name[0] != '.';
}

/* Files of dir in name order, so that test numbers are stable. */
static int
list_dir(struct list *l, const char *dir)
{
	struct dirent **names;
	int i, n, r = 0;

	if ((n = scandir(dir, &names, skip_hidden, alphasort)) < 0)
		return -1;
	for (i = 0; i < n; i++) {
		if (r == 0)
			r = list_add(l, dir, names[i]->d_name);
		free(names[i]);
	}
	free(names);
	return r;
}

static int
list_arg(struct list *l, const char *path)
{
	struct stat st;

	if (stat(path, &st) != 0)
		return -1;
	return S_ISDIR(st.st_mode) ? list_dir(l, path) : list_add(l, NULL, path);
}

/* The whole file in a buffer of exactly its size; *data NULL for an empty one. */
static int
read_input(const char *path, uint8_t **data, size_t *size)
{
	struct stat st;
	FILE *f;
	int r = -1;

	*data = NULL;
	*size = 0;
	if ((f = fopen(path, "rb")) == NULL)
		return -1;
	if (fstat(fileno(f), &st) != 0)
		goto out;
	if (!S_ISREG(st.st_mode) || st.st_size > INPUT_MAX) {
		errno = S_ISREG(st.st_mode) ? EFBIG : EINVAL;
		goto out;
	}
	*size = (size_t)st.st_size;
	if (*size > 0 && ((*data = malloc(*size)) == NULL || fread(*data, 1, *size, f) != *size))
		goto out;
	r = 0;
out:
	if (r != 0) {
		free(*data);
		*data = NULL;
	}
	fclose(f);
	return r;
}

/* "fuzz/fuzz-jsonrpc" -> "$srcdir/fuzz/corpus/jsonrpc" */
static char *
default_corpus(const char *argv0)
{
	const char *base = strrchr(argv0, '/'), *srcdir = getenv("srcdir");
	char *dir;

	base = base ? base + 1 : argv0;
	if (strncmp(base, "fuzz-", 5) == 0)
		base += 5;
	if (srcdir == NULL || *srcdir == '\0')
		srcdir = getenv("CB_SRCDIR");
	if (srcdir == NULL || *srcdir == '\0')
		srcdir = ".";
	if (asprintf(&dir, "%s/fuzz/corpus/%s", srcdir, base) < 0)
		return NULL;
	return dir;
}

int
main(int argc, char **argv)
{
	struct list l = {NULL, 0, 0};
	char *corpus = NULL;
	uint8_t *data;
	size_t i, size;
	int a, failed = 0;

	if (LLVMFuzzerInitialize != NULL)
		LLVMFuzzerInitialize(&argc, &argv);
	if (argc < 2) {
		if ((corpus = default_corpus(argv[0])) == NULL || list_arg(&l, corpus) != 0) {
			printf("Bail out! cannot read the corpus %s: %s\n", corpus ? corpus : "?",
			    strerror(errno));
			return 99;
		}
	}
	for (a = 1; a < argc; a++)
		if (list_arg(&l, argv[a]) != 0) {
			printf("Bail out! cannot read %s: %s\n", argv[a], strerror(errno));
			return 99;
		}
	printf("1..%zu\n", l.n);
	for (i = 0; i < l.n; i++) {
		/* If the target dies, this is the last line the log shows. */
		printf("# input: %s\n", l.paths[i]);
		fflush(stdout);
		if (read_input(l.paths[i], &data, &size) != 0) {
			printf("not ok %zu - %s # cannot read: %s\n", i + 1, l.paths[i],
			    strerror(errno));
			failed = 1;
		} else {
			LLVMFuzzerTestOneInput(data, size);
			printf("ok %zu - %s\n", i + 1, l.paths[i]);
		}
		free(data);
		free(l.paths[i]);
	}
	fflush(stdout);
	free(l.paths);
	free(corpus);
	return failed;
}

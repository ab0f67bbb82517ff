/*
 * test-origins-store.c - unit tests of daemon/origins_store.c, the user's
 * own origin allow-list in $XDG_CONFIG_HOME/cardbridge/origins.json (TAP).
 *
 * The list changes only through "cardbridge origins allow|revoke" and the
 * consent dialog's "Always allow"; each change is written atomically (a
 * temporary file, fsync, rename) with mode 0600 in a 0700 directory, and
 * a damaged file never stops the daemon: it reads as an empty list and the
 * next change replaces it.  HOME and XDG_CONFIG_HOME point into a
 * temporary directory: the user's own file is never touched.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <json-c/json.h>

#include "daemon/log.h"
#include "daemon/origins_store.h"
#include "protocol/cberr.h"
#include "tests/daemon-unit.h"
#include "tests/tap.h"

static const char *dir; /* the test's temporary directory, also XDG_CONFIG_HOME */
static int case_number;

/* A fresh store path for each test: dir/N/cardbridge/origins.json (nothing created). */
static char *
fresh_path(void)
{
	static char path[256];

	snprintf(path, sizeof(path), "%s/%d/cardbridge/origins.json", dir, ++case_number);
	return path;
}

/* mkdir -p the directories of path below dir. */
static void
make_parents(const char *path)
{
	char d[256];
	char *p;

	snprintf(d, sizeof(d), "%s", path);
	for (p = d + strlen(dir) + 1; (p = strchr(p, '/')) != NULL; p++) {
		*p = '\0';
		mkdir(d, 0700);
		*p = '/';
	}
}

static void
write_text(const char *path, const char *text)
{
	FILE *f;

	make_parents(path);
	if ((f = fopen(path, "w")) != NULL) {
		fputs(text, f);
		fclose(f);
	}
}

/* The origins in the file, as one comma-separated string ("" if unreadable). */
static const char *
file_origins(const char *path)
{
	static char out[512];
	struct json_object *root, *list;
	size_t i;

	out[0] = '\0';
	if ((root = json_object_from_file(path)) == NULL)
		return out;
	if (json_object_object_get_ex(root, "allowedOrigins", &list))
		for (i = 0; i < json_object_array_length(list); i++) {
			if (i)
				strcat(out, ",");
			strcat(out, json_object_get_string(json_object_array_get_idx(list, i)));
		}
	json_object_put(root);
	return out;
}

/* Files in path's directory other than origins.json (left-over temporary files). */
static int
strays(const char *path)
{
	char d[256];
	struct dirent *e;
	DIR *dp;
	int n = 0;

	snprintf(d, sizeof(d), "%s", path);
	*strrchr(d, '/') = '\0';
	if ((dp = opendir(d)) == NULL)
		return -1;
	while ((e = readdir(dp)) != NULL)
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..") &&
		    strcmp(e->d_name, "origins.json"))
			n++;
	closedir(dp);
	return n;
}

static struct origins_store *
load(const char *path)
{
	struct origins_store *st = NULL;

	if (origins_store_load(&st, path) != 0)
		return NULL;
	return st;
}

static void
test_default_path_follows_xdg_then_home(void)
{
	char want[256], *p;

	setenv("XDG_CONFIG_HOME", "/x/conf", 1);
	setenv("HOME", "/h", 1);
	p = origins_store_default_path();
	TAP_CHECK(p && strcmp(p, "/x/conf/cardbridge/origins.json") == 0);
	free(p);
	setenv("XDG_CONFIG_HOME", "not/absolute", 1);
	p = origins_store_default_path();
	TAP_CHECK(p && strcmp(p, "/h/.config/cardbridge/origins.json") == 0);
	free(p);
	unsetenv("XDG_CONFIG_HOME");
	setenv("HOME", "relative", 1);
	TAP_CHECK(origins_store_default_path() == NULL);
	setenv("HOME", dir, 1);
	setenv("XDG_CONFIG_HOME", dir, 1);
	p = origins_store_default_path();
	snprintf(want, sizeof(want), "%s/cardbridge/origins.json", dir);
	TAP_CHECK(p && strcmp(p, want) == 0);
	free(p);
}

static void
test_a_missing_file_is_an_empty_list(void)
{
	const char *path = fresh_path();
	struct origins_store *st = load(path);
	struct json_object *list;

	TAP_CHECK(st != NULL);
	TAP_CHECK(!origins_store_contains(st, "https://a.example"));
	TAP_CHECK(strcmp(origins_store_path(st), path) == 0);
	list = origins_store_list(st);
	TAP_CHECK(json_object_array_length(list) == 0);
	json_object_put(list);
	origins_store_free(st);
}

static void
test_add_saves_a_private_file_that_loads_back(void)
{
	const char *path = fresh_path();
	struct origins_store *st = load(path), *again;
	char d[256];
	struct stat sb;

	TAP_CHECK(origins_store_add(st, "https://a.example") == 0);
	TAP_CHECK(origins_store_add(st, "http://localhost:8080") == 0);
	TAP_CHECK(origins_store_add(st, "https://a.example") == 0); /* once only */
	TAP_CHECK(strcmp(file_origins(path), "https://a.example,http://localhost:8080") == 0);
	TAP_CHECK(stat(path, &sb) == 0 && (sb.st_mode & 0777) == 0600);
	snprintf(d, sizeof(d), "%s", path);
	*strrchr(d, '/') = '\0';
	TAP_CHECK(stat(d, &sb) == 0 && (sb.st_mode & 0777) == 0700);
	*strrchr(d, '/') = '\0'; /* $XDG_CONFIG_HOME itself is created 0700 too */
	TAP_CHECK(stat(d, &sb) == 0 && (sb.st_mode & 0777) == 0700);
	TAP_CHECK((again = load(path)) != NULL);
	TAP_CHECK(origins_store_contains(again, "https://a.example"));
	TAP_CHECK(origins_store_contains(again, "http://localhost:8080"));
	origins_store_free(again);
	origins_store_free(st);
}

static void
test_add_refuses_what_a_browser_never_sends(void)
{
	const char *path = fresh_path();
	struct origins_store *st = load(path);

	TAP_CHECK(origins_store_add(st, "https://A.example") == CB_ERR_INVALID_PARAMS);
	TAP_CHECK(origins_store_add(st, "https://a.example/") == CB_ERR_INVALID_PARAMS);
	TAP_CHECK(origins_store_add(st, "http://a.example") == CB_ERR_INVALID_PARAMS);
	TAP_CHECK(origins_store_add(st, "null") == CB_ERR_INVALID_PARAMS);
	TAP_CHECK(origins_store_add(st, "") == CB_ERR_INVALID_PARAMS);
	TAP_CHECK(!origins_store_contains(st, "https://A.example"));
	TAP_CHECK(access(path, F_OK) != 0); /* nothing was written */
	origins_store_free(st);
}

static void
test_remove_saves_and_refuses_what_is_not_there(void)
{
	const char *path = fresh_path();
	struct origins_store *st = load(path);

	origins_store_add(st, "https://a.example");
	origins_store_add(st, "https://b.example");
	origins_store_add(st, "https://c.example");
	TAP_CHECK(origins_store_remove(st, "https://b.example") == 0);
	TAP_CHECK(!origins_store_contains(st, "https://b.example"));
	TAP_CHECK(strcmp(file_origins(path), "https://a.example,https://c.example") == 0);
	TAP_CHECK(origins_store_remove(st, "https://b.example") == CB_ERR_INVALID_PARAMS);
	TAP_CHECK(origins_store_remove(st, "https://a.example") == 0);
	TAP_CHECK(origins_store_remove(st, "https://c.example") == 0);
	TAP_CHECK(strcmp(file_origins(path), "") == 0);
	origins_store_free(st);
}

static void
test_saving_replaces_the_file_atomically(void)
{
	const char *path = fresh_path();
	struct origins_store *st = load(path);
	struct stat before, after;

	origins_store_add(st, "https://a.example");
	TAP_CHECK(stat(path, &before) == 0);
	origins_store_add(st, "https://b.example");
	TAP_CHECK(stat(path, &after) == 0);
	/* A new file renamed over the old one, never the old one rewritten in place. */
	TAP_CHECK(before.st_ino != after.st_ino);
	TAP_CHECK(strays(path) == 0);
	origins_store_free(st);
}

static void
test_a_save_that_fails_keeps_the_file_and_the_answer(void)
{
	char blocker[256], path[320];
	struct origins_store *st;

	/* The store's directory cannot be made: a plain file stands in its way. */
	snprintf(blocker, sizeof(blocker), "%s/blocked-%d", dir, ++case_number);
	write_text(blocker, "");
	snprintf(path, sizeof(path), "%s/cardbridge/origins.json", blocker);
	TAP_CHECK((st = load(path)) != NULL);
	TAP_CHECK(origins_store_add(st, "https://a.example") == CB_ERR_SYSTEM);
	TAP_CHECK(origins_store_contains(st, "https://a.example")); /* until cardbridged stops */
	TAP_CHECK(origins_store_remove(st, "https://a.example") == CB_ERR_SYSTEM);
	TAP_CHECK(!origins_store_contains(st, "https://a.example")); /* revoked at once */
	origins_store_free(st);
}

static void
test_a_memory_only_store_answers_but_cannot_save(void)
{
	struct origins_store *st = load(NULL);

	TAP_CHECK(st != NULL && origins_store_path(st) == NULL);
	errno = 0;
	TAP_CHECK(origins_store_add(st, "https://a.example") == CB_ERR_SYSTEM && errno == ENOENT);
	TAP_CHECK(origins_store_contains(st, "https://a.example"));
	origins_store_free(st);
}

/* A damaged file loads as text, and the valid entries only. */
static bool
loads_as(const char *text, const char *want)
{
	const char *path = fresh_path();
	struct origins_store *st;
	struct json_object *list;
	char got[256] = "";
	size_t i;
	bool ok;

	write_text(path, text);
	if ((st = load(path)) == NULL)
		return false;
	list = origins_store_list(st);
	for (i = 0; i < json_object_array_length(list); i++) {
		if (i)
			strcat(got, ",");
		strcat(got, json_object_get_string(json_object_array_get_idx(list, i)));
	}
	json_object_put(list);
	ok = strcmp(got, want) == 0;
	if (!ok)
		printf("# %s: got \"%s\", want \"%s\"\n", text, got, want);
	origins_store_free(st);
	return ok;
}

static void
test_a_damaged_file_reads_as_what_is_valid_in_it(void)
{
	TAP_CHECK(loads_as("{\"allowedOrigins\": [", ""));
	TAP_CHECK(loads_as("", ""));
	TAP_CHECK(loads_as("[\"https://a.example\"]", ""));
	TAP_CHECK(loads_as("{\"allowedOrigins\": \"https://a.example\"}", ""));
	TAP_CHECK(
	    loads_as("{\"allowedOrigins\": [\"https://a.example\", 7, \"https://B.example\","
		     " \"ftp://c.example\", null, \"https://a.example\", \"https://d.example\"]}",
		"https://a.example,https://d.example"));
	TAP_CHECK(loads_as(
	    "{\"allowedOrigins\": [\"https://a.example\"], \"other\": 1}", "https://a.example"));
}

static void
test_the_next_change_replaces_a_damaged_file(void)
{
	const char *path = fresh_path();
	struct origins_store *st;

	write_text(path, "{\"allowedOrigins\": [\"https://a.example\", ");
	TAP_CHECK((st = load(path)) != NULL);
	TAP_CHECK(origins_store_add(st, "https://b.example") == 0);
	TAP_CHECK(strcmp(file_origins(path), "https://b.example") == 0);
	origins_store_free(st);
}

static void
test_a_directory_or_a_huge_file_is_not_read(void)
{
	const char *path = fresh_path();
	struct origins_store *st;
	char *big;
	FILE *f;

	make_parents(path);
	mkdir(path, 0700);
	TAP_CHECK((st = load(path)) != NULL && !origins_store_contains(st, "https://a.example"));
	origins_store_free(st);
	path = fresh_path();
	make_parents(path);
	if ((f = fopen(path, "w")) != NULL && (big = malloc(1024 * 1024 + 64)) != NULL) {
		memset(big, ' ', 1024 * 1024 + 64);
		fputs("{\"allowedOrigins\": [\"https://a.example\"]", f);
		fwrite(big, 1, 1024 * 1024 + 64, f);
		fputs("}", f);
		free(big);
	}
	if (f)
		fclose(f);
	TAP_CHECK((st = load(path)) != NULL && !origins_store_contains(st, "https://a.example"));
	origins_store_free(st);
}

int
main(void)
{
	static const struct unit_test tests[] = {
	    UNIT_TEST(test_default_path_follows_xdg_then_home),
	    UNIT_TEST(test_a_missing_file_is_an_empty_list),
	    UNIT_TEST(test_add_saves_a_private_file_that_loads_back),
	    UNIT_TEST(test_add_refuses_what_a_browser_never_sends),
	    UNIT_TEST(test_remove_saves_and_refuses_what_is_not_there),
	    UNIT_TEST(test_saving_replaces_the_file_atomically),
	    UNIT_TEST(test_a_save_that_fails_keeps_the_file_and_the_answer),
	    UNIT_TEST(test_a_memory_only_store_answers_but_cannot_save),
	    UNIT_TEST(test_a_damaged_file_reads_as_what_is_valid_in_it),
	    UNIT_TEST(test_the_next_change_replaces_a_damaged_file),
	    UNIT_TEST(test_a_directory_or_a_huge_file_is_not_read),
	};
	int r;

	dir = unit_dir;
	r = unit_run("test-origins-store", tests, sizeof(tests) / sizeof(tests[0]));
	return r;
}

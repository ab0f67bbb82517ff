/*
 * test-cli-launch.c - unit tests of cli/launch.c (TAP): what "cardbridge
 * open URL" does before it would start cardbridged.
 *
 * Everything happens under a temporary directory; no daemon is started
 * (either the URL is refused, or the control socket answers already, or
 * the path is refused before anything is created).
 */
#include "config.h"

#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "cli/cli.h"
#include "tests/tap.h"

static char dir[] = "/tmp/cb-test-cli-launch-XXXXXX";

/* cli_open() with what it prints for the user sent to /dev/null, not into TAP. */
static int
open_quietly(const char *control, const char *url)
{
	struct cli_options o = {control, false};
	int saved, null, r;

	fflush(stdout);
	saved = dup(STDOUT_FILENO);
	null = open("/dev/null", O_WRONLY);
	dup2(null, STDOUT_FILENO);
	r = cli_open(&o, url);
	fflush(stdout);
	dup2(saved, STDOUT_FILENO);
	close(saved);
	close(null);
	return r;
}

static bool
dir_is_empty(void)
{
	struct dirent *e;
	DIR *d = opendir(dir);
	int n = 0;

	while (d != NULL && (e = readdir(d)) != NULL)
		n += strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0;
	if (d != NULL)
		closedir(d);
	return d != NULL && n == 0;
}

static void
test_a_url_other_than_start_is_refused(void)
{
	char control[PATH_MAX];

	snprintf(control, sizeof(control), "%s/control", dir);
	TAP_CHECK(open_quietly(control, "cardbridge://stop") == CLI_USAGE);
	TAP_CHECK(open_quietly(control, "https://portal.example") == CLI_USAGE);
	TAP_CHECK(open_quietly(control, "cardbridge://start?x=1") == CLI_USAGE);
	TAP_CHECK(dir_is_empty());
}

static void
test_a_daemon_that_answers_is_left_as_it_is(void)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int fd;

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/control", dir);
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	TAP_CHECK(
	    fd >= 0 && bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0 && listen(fd, 4) == 0);
	TAP_CHECK(open_quietly(sa.sun_path, "cardbridge://start") == CLI_OK);
	close(fd);
	unlink(sa.sun_path);
	/* No start lock was taken: nobody had to be started. */
	TAP_CHECK(dir_is_empty());
}

/*
 * A control socket path longer than a path can be used to be cut short,
 * and the directories of the cut path were created for the start lock.
 */
static void
test_an_overlong_control_path_creates_nothing(void)
{
	char *control = malloc(PATH_MAX + 64);
	size_t n;

	n = (size_t)snprintf(control, PATH_MAX + 64, "%s/", dir);
	while (n < PATH_MAX + 32) {
		memcpy(control + n, "abcdefghijklmnopqrstuvwxyz/", 27);
		n += 27;
	}
	snprintf(control + n, PATH_MAX + 64 - n, "control");
	TAP_CHECK(open_quietly(control, "cardbridge://start") == CLI_FAILED);
	TAP_CHECK(dir_is_empty());
	free(control);
}

int
main(void)
{
	if (mkdtemp(dir) == NULL)
		return 1;
	tap_plan(3);
	tap_run("a url other than start is refused", test_a_url_other_than_start_is_refused);
	tap_run(
	    "a daemon that answers is left as it is", test_a_daemon_that_answers_is_left_as_it_is);
	tap_run("an overlong control path creates nothing",
	    test_an_overlong_control_path_creates_nothing);
	rmdir(dir);
	return tap_done();
}

/*
 * opensc_conf.c - the configuration OpenSC's PKCS#11 module reads in the
 * helper: the one in effect (OPENSC_CONF, else /etc/opensc/opensc.conf)
 * plus
 *
 *     app opensc-pkcs11 { pkcs11 { user_pin_unblock_style = init_pin_in_so_session; } }
 *
 * written to a memfd (no file on disk) that OPENSC_CONF then names, before
 * any module is loaded.
 *
 * Why: OpenSC chooses how a PIN is unblocked once per process, from this
 * setting, and no PKCS#11 call tells which one is in effect.  With the
 * default ("none") nothing unblocks; with set_pin_in_unlogged_session every
 * C_SetPIN without a login is an unblock that spends a PUK try.  With
 * init_pin_in_so_session, C_Login(CKU_SO, PUK or admin PIN) + C_InitPIN
 * unblocks (IsoApplet: RESET RETRY COUNTER with the PUK; OpenPGP: PW3
 * resets PW1), and C_SetPIN stays a PIN change.  OpenSC takes the first
 * whole pkcs11 block it finds and merges nothing, so a configuration that
 * has a pkcs11 block (or an app opensc-pkcs11 block) of its own is left
 * alone: ours would hide the administrator's settings.  Then, unless it
 * already sets our style, no PIN is unblocked through OpenSC, and
 * opensc_conf_unblock() says why.
 * Must never: write a file, or change what the base configuration says.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "common/fdio.h"
#include "pkcs11/log.h"
#include "pkcs11/opensc_conf.h"

#define OPENSC_CONF_DEFAULT "/etc/opensc/opensc.conf"
#define BASE_MAX (1024 * 1024)
#define WORDS_SEEN 4

static const char our_block[] =
    "\n# Added by cardbridge-pkcs11-helper: how PINs are unblocked "
    "(C_Login(CKU_SO) + C_InitPIN).\n"
    "app opensc-pkcs11 {\n\tpkcs11 {\n\t\tuser_pin_unblock_style = init_pin_in_so_session;\n"
    "\t}\n}\n";

/* Written once by opensc_conf_setup() on the main thread before any worker starts. */
static bool unblock_ok;
static char unblock_why[256] = "the helper did not set up OpenSC's configuration";
static int conf_fd = -1; /* the memfd; open for the life of the process */

bool
opensc_conf_unblock(const char **why)
{
	if (why != NULL)
		*why = unblock_ok ? NULL : unblock_why;
	return unblock_ok;
}

/* The base configuration's text (NUL-terminated); "" when there is none. */
static char *
read_base(const char *path)
{
	FILE *f = fopen(path, "re");
	char *text = calloc(1, BASE_MAX + 1);
	size_t n = 0;

	if (text != NULL && f != NULL)
		n = fread(text, 1, BASE_MAX, f);
	if (f != NULL)
		fclose(f);
	if (text != NULL)
		text[n] = '\0';
	return text;
}

/* What scconf's grammar tells about the base, read as words and punctuation. */
struct conf_scan {
	bool pkcs11_block; /* a pkcs11 { } block, in any app */
	bool app_block;	   /* an app opensc-pkcs11 { } block */
	bool our_style;	   /* user_pin_unblock_style = init_pin_in_so_session */
};

/* The next word (quotes dropped) or punctuation character of *p; false at the end. */
static bool
next_word(const char **p, char *word, size_t size)
{
	const char *s = *p;
	size_t n = 0;

	for (;;) {
		while (*s == ' ' || *s == '\t' || *s == '\r' || *s == '\n' || *s == '"')
			s++;
		if (*s != '#')
			break;
		s += strcspn(s, "\n");
	}
	if (*s == '\0')
		return false;
	if (strchr("{};=,", *s) != NULL)
		word[n++] = *s++;
	else
		while (*s != '\0' && strchr(" \t\r\n\"#{};=,", *s) == NULL) {
			if (n + 1 < size)
				word[n++] = *s;
			s++;
		}
	word[n] = '\0';
	*p = s;
	return true;
}

static void
scan(const char *text, struct conf_scan *sc)
{
	char w[WORDS_SEEN][64] = {{0}};
	const char *p = text;
	size_t i;

	memset(sc, 0, sizeof(*sc));
	/* w[0] is the newest word, w[1] the one before, ... */
	while (next_word(&p, w[WORDS_SEEN - 1], sizeof(w[0]))) {
		char last[64];

		memcpy(last, w[WORDS_SEEN - 1], sizeof(last));
		for (i = WORDS_SEEN - 1; i > 0; i--)
			memcpy(w[i], w[i - 1], sizeof(w[0]));
		memcpy(w[0], last, sizeof(last));
		if (strcmp(w[0], "{") == 0 && strcmp(w[1], "pkcs11") == 0)
			sc->pkcs11_block = true;
		if (strcmp(w[0], "{") == 0 && strcmp(w[1], "opensc-pkcs11") == 0 &&
		    strcmp(w[2], "app") == 0)
			sc->app_block = true;
		if (strcmp(w[0], "init_pin_in_so_session") == 0 && strcmp(w[1], "=") == 0 &&
		    strcmp(w[2], "user_pin_unblock_style") == 0)
			sc->our_style = true;
	}
}

/* base + our block in a memfd; its fd, or -1 with errno. */
static int
write_memfd(const char *base)
{
	int fd, saved;

	if ((fd = memfd_create("cardbridge-opensc.conf", MFD_CLOEXEC)) < 0)
		return -1;
	if (cb_write_all(fd, base, strlen(base)) != 0 ||
	    cb_write_all(fd, our_block, sizeof(our_block) - 1) != 0) {
		saved = errno;
		close(fd);
		errno = saved;
		return -1;
	}
	return fd;
}

void
opensc_conf_setup(void)
{
	const char *env = getenv("OPENSC_CONF");
	const char *base_path = env != NULL && *env != '\0' ? env : OPENSC_CONF_DEFAULT;
	char *base = read_base(base_path), fdpath[64];
	struct conf_scan sc;

	if (base == NULL) {
		helper_log(CB_LOG_ERROR, "out of memory reading %s", base_path);
		return;
	}
	scan(base, &sc);
	if (sc.pkcs11_block || sc.app_block) {
		unblock_ok = sc.our_style;
		snprintf(unblock_why, sizeof(unblock_why),
		    "the OpenSC configuration %s has PKCS#11 settings of its own, without "
		    "user_pin_unblock_style = init_pin_in_so_session, so cardbridge cannot choose "
		    "how "
		    "OpenSC unblocks PINs",
		    base_path);
		helper_log(unblock_ok ? CB_LOG_INFO : CB_LOG_WARN,
		    "OpenSC configuration %s: its own pkcs11 settings are kept%s", base_path,
		    unblock_ok ? " (it unblocks PINs as cardbridge does)"
			       : "; PINs cannot be unblocked through OpenSC");
		free(base);
		return;
	}
	if ((conf_fd = write_memfd(base)) < 0) {
		snprintf(unblock_why, sizeof(unblock_why),
		    "cardbridge could not set up OpenSC's configuration (%s)", strerror(errno));
		helper_log(CB_LOG_WARN, "OpenSC configuration: memfd: %s", strerror(errno));
		free(base);
		return;
	}
	free(base);
	snprintf(fdpath, sizeof(fdpath), "/proc/self/fd/%d", conf_fd);
	setenv("OPENSC_CONF", fdpath, 1);
	unblock_ok = true;
	helper_log(CB_LOG_INFO,
	    "OpenSC configuration: %s plus user_pin_unblock_style = init_pin_in_so_session",
	    base_path);
}

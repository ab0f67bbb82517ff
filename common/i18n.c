/*
 * i18n.c - the dialogs' language (issue 4 section 6), and the cardbridge
 * tool's.
 *
 * It sits in common/ because two programs link it, the helper and the
 * cardbridge tool, and neither may reach into the other's folder; it needs
 * no PKCS#11, no daemon and no protocol code.
 * The programs themselves stay in the C locale: setlocale(LC_ALL, "") would
 * also translate strerror() and the libraries' messages that end up in
 * logs and in error messages to the page, and hand vendor PKCS#11 modules
 * and json-c a locale they do not expect.  Instead the user's LC_MESSAGES
 * is kept in a locale_t and selected with uselocale() for the length of
 * one dgettext() call, on the calling thread only.  Translations go to
 * pinentry, which reads UTF-8 whatever the user's codeset, so the catalog
 * is converted to UTF-8 (the cardbridge tool rebinds it to its terminal's
 * codeset).
 * Must never: read the catalog from a directory named by the environment
 * unless the program runs under the test suite (CB_HELPER_TESTING=1, which
 * the cardbridge tool honours here too), or log: both programs link this
 * file, and only the helper has a log.
 */
#include "config.h"

#include <libintl.h>
#include <locale.h>
#include <stdlib.h>
#include <string.h>

#include "common/i18n.h"

/* Written once by i18n_init() before the threads start, then only read. */
static locale_t dialog_locale = (locale_t)0;

bool
i18n_init(void)
{
	const char *dir = LOCALEDIR, *testing = getenv("CB_HELPER_TESTING"), *test_dir;

	/* LC_MESSAGES from LC_ALL, LC_MESSAGES or LANG; every other category is C. */
	dialog_locale = newlocale(LC_MESSAGES_MASK, "", (locale_t)0);
	/* The build tree's catalogs (po/locale), so that tests need no make install. */
	if (testing != NULL && strcmp(testing, "1") == 0 &&
	    (test_dir = getenv("CARDBRIDGE_LOCALEDIR")) != NULL && test_dir[0] == '/')
		dir = test_dir;
	bindtextdomain(CB_TEXTDOMAIN, dir);
	bind_textdomain_codeset(CB_TEXTDOMAIN, "UTF-8");
	return dialog_locale != (locale_t)0;
}

const char *
i18n_text(const char *msgid)
{
	locale_t saved;
	const char *text;

	if (dialog_locale == (locale_t)0)
		return msgid;
	saved = uselocale(dialog_locale);
	text = dgettext(CB_TEXTDOMAIN, msgid);
	uselocale(saved);
	return text;
}

const char *
i18n_plural(const char *one, const char *many, unsigned long n)
{
	locale_t saved;
	const char *text;

	if (dialog_locale == (locale_t)0)
		return n == 1 ? one : many;
	saved = uselocale(dialog_locale);
	text = dngettext(CB_TEXTDOMAIN, one, many, n);
	uselocale(saved);
	return text;
}

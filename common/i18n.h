/*
 * i18n.h - translated texts: what the user reads in a dialog follows the
 * user's locale (gettext from glibc's libintl; catalogs in po/).
 *
 * _() translates a text of the "cardbridge" domain and N_() only marks one
 * for xgettext; P_() picks a plural form.  The functions carry format_arg,
 * so -Wformat still checks a translated format against its arguments.
 * Translations may reorder arguments with %1$s; the English text never
 * needs to.
 * Two programs link it: the helper (the PIN dialogs) and the cardbridge
 * tool (what it prints for the person at the terminal).
 * Must never: translate what goes to the page or to a log (error messages
 * and reasons stay English, so that logs and bug reports read the same in
 * every locale), nor what a program reads (JSON, exit statuses, reason
 * names, origins, paths, option names), or pass a PIN through any of these.
 */
#ifndef CB_COMMON_I18N_H
#define CB_COMMON_I18N_H

#include <stdbool.h>

#define CB_TEXTDOMAIN PACKAGE /* "cardbridge", from config.h */

#define _(text) i18n_text(text)
#define N_(text) text
#define P_(one, many, n) i18n_plural(one, many, n)

/*
 * Read the user's LC_MESSAGES from the environment and bind the catalogs.
 * Called once from main(), before any thread starts.  False when the
 * user's locale is not installed: then every text stays English.
 */
bool i18n_init(void);

/* Any thread: msgid in the user's language (UTF-8), or msgid itself. */
const char *i18n_text(const char *msgid) __attribute__((format_arg(1)));
const char *i18n_plural(const char *one, const char *many, unsigned long n)
    __attribute__((format_arg(1), format_arg(2)));

#endif /* CB_COMMON_I18N_H */

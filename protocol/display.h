/*
 * display.h - text that a page, a token or a certificate controls, made
 * safe to show in a dialog (issue 14: dialogs that cannot be made to lie).
 *
 * Pure code.  Every string a PIN or consent dialog shows that did not come
 * from cardbridge itself (origins, token labels and serials, subjects,
 * issuers, key labels) goes through display_text() or display_origin():
 * no line or paragraph separators that add fake lines, no bidi controls
 * that reverse the rest of a sentence, no zero-width characters, no cut
 * UTF-8, and a cut is always marked.
 */
#ifndef CB_DISPLAY_H
#define CB_DISPLAY_H

#include <stdbool.h>
#include <stddef.h>

#define DISPLAY_ELLIPSIS "\xe2\x80\xa6" /* U+2026 */

/*
 * Copy len bytes of in to out (outsize bytes, always NUL-terminated):
 * invalid UTF-8 becomes U+FFFD; controls, line and paragraph separators
 * become one space per run, format characters (Cf: bidi controls,
 * zero-width characters...) are dropped, spaces at either end are
 * dropped; then at most max_chars characters are kept (0: no limit), the
 * last being "…" when anything was cut, and never more than fit out.
 * Returns true when the text shown differs from in.
 */
bool display_text(const char *in, size_t len, size_t max_chars, char *out, size_t outsize);

/*
 * An origin (scheme://host[:port]) shortened to at most max_chars
 * characters by dropping the middle of the host, never its end: the
 * registrable domain, which tells whose page it is, always stays.
 * display_text()'s rules apply too.  Returns true when it was shortened.
 */
bool display_origin(const char *origin, size_t max_chars, char *out, size_t outsize);

/* Is cp one the dialogs never show as it is (protocol/invisible.h)? */
bool display_invisible(unsigned long cp);

#endif /* CB_DISPLAY_H */

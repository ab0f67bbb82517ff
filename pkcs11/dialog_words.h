/*
 * dialog_words.h - what every dialog says about who asks (dialog_words.c):
 * the page's site and origin, the window title, and a note when a page
 * asks for the very same thing again.  Every text here that a page, a
 * token or a certificate controls went through protocol/display.c.
 */
#ifndef CB_PKCS11_DIALOG_WORDS_H
#define CB_PKCS11_DIALOG_WORDS_H

#include <stddef.h>

struct request;

/* Longest origin or site a dialog shows, in characters; a longer one loses its middle. */
#define DIALOG_NAME_CHARS 80
/* Room for one: four bytes a character, and the NUL. */
#define DIALOG_NAME_SIZE (DIALOG_NAME_CHARS * 4 + 1)
/* Longest label, name or subject a dialog shows, in characters (cut with "…"). */
#define DIALOG_FIELD_CHARS 64
#define DIALOG_FIELD_SIZE (DIALOG_FIELD_CHARS * 4 + 1)
/* A token's label and serial number: at most 32 characters in CK_TOKEN_INFO. */
#define TOKEN_TEXT_CHARS 32
#define TOKEN_TEXT_SIZE (TOKEN_TEXT_CHARS * 4 + 1)

/*
 * The page's origin as dialogs show it: never its end (the registrable
 * domain) cut, the middle of a long host replaced by "…"; "cardbridge"
 * for the cardbridge tool, "A web page" without an origin.
 */
void dialog_origin(char *buf, size_t size, const struct request *req);

/* "cardbridge: portal.example" (the site), "cardbridge" for the tool. */
void dialog_title(char *buf, size_t size, const struct request *req);

/* "Site: portal.example" and a newline, first in a page's dialogs; "" without a site. */
void dialog_site_line(char *buf, size_t size, const struct request *req);

/*
 * When this page showed text (a dialog's description) for an earlier
 * request within the last 10 minutes: " This page asked for the same
 * before: this is request number 2." (translated), else "".  The same
 * request asking again (a wrong PIN) keeps its number.
 */
void dialog_repeat_note(const struct request *req, const char *text, char *buf, size_t size);

/* text (NULL: "") made safe for a dialog and cut to max_chars characters with "…". */
void dialog_shown(const char *text, size_t max_chars, char *buf, size_t size);

#endif /* CB_PKCS11_DIALOG_WORDS_H */

/*
 * site.h - the registrable domain ("site") of an origin: what the user's
 * Deny, the consent rate limit and the connection budget of pages nobody
 * allowed are kept by, and what dialogs show prominently.
 *
 * The site of https://a.b.shop.example:8443 is shop.example (eTLD+1 from
 * the Public Suffix List, libpsl); of https://x.github.io it is x.github.io
 * (github.io is a public suffix); an IP literal, localhost or a host that
 * is itself a public suffix is its own site.
 */
#ifndef CB_SITE_H
#define CB_SITE_H

#include <stddef.h>

#include "protocol/origin.h"

#define SITE_MAX ORIGIN_MAX

/*
 * Load the Public Suffix List once (the newest of the system's
 * /usr/share/publicsuffix and libpsl's built-in copy).  Service thread,
 * before any other thread calls site_of(); without any list every host is
 * its own site (and a warning says so).
 */
void site_start(void);
void site_stop(void);

/*
 * The site of an origin ("scheme://host[:port]"), or of a bare host, in
 * site (always NUL-terminated; "" when origin is not one).  Any thread:
 * the list is read-only once loaded.
 */
void site_of(const char *origin, char *site, size_t size);

#endif /* CB_SITE_H */

/*
 * admission.h - which connections may become sessions, and which pages
 * must be asked about first.
 *
 * Runs on the lws service thread only.  A connection is admitted only from
 * our own uid (other local users are refused, whatever Origin they send).
 * An origin is allowed by the administrator (configuration files,
 * --allow-origin: struct cb_config) or by the user (origins.json, edited
 * with "cardbridge origins allow|revoke" and by "Always allow" in the
 * consent dialog).  Any other origin is refused, or, with "unknownOrigins":
 * "ask", admitted pending the user's answer (consent.c) unless the user
 * denied its site (site.h) within the last ADMISSION_DENY_S.
 */
#ifndef CB_ADMISSION_H
#define CB_ADMISSION_H

#include <stdbool.h>

struct daemon;
struct origins_store;

/* How long a Deny in the consent dialog holds (denied.json keeps it across restarts). */
#define ADMISSION_DENY_S (24 * 3600)
/*
 * Connections of pages the user has not allowed yet (consent pending):
 * at most this many per site and in all.  They never count against
 * maxConnections, so they cannot take the allowed pages' slots.
 */
#define ADMISSION_UNCONSENTED_PER_SITE 2
#define ADMISSION_UNCONSENTED_MAX 8

enum admission_source {
	ADMISSION_NOT_ALLOWED,
	ADMISSION_ADMINISTRATOR, /* a configuration file or --allow-origin */
	ADMISSION_USER,		 /* the user's origins.json */
};

/*
 * Before the event loop: open the kernel lookup of peers (failing that,
 * cardbridged does not start) and load the user's state from where
 * cfg->state_dir and cfg->user_state say (a damaged file reads as empty).
 */
int admission_start(struct daemon *d);
void admission_stop(struct daemon *d);

/*
 * Is the client end of the accepted TCP connection fd owned by our uid?
 * 0: yes; CB_ERR_ORIGIN_NOT_ALLOWED: another uid, or the kernel could not
 * tell, and *why says which, for the log.
 */
int admission_check_peer(struct daemon *d, int fd, const char **why);

/*
 * The handshake's question: may a page with this Origin header, which
 * connected with this Host header to our port, open a session?  0: yes,
 * and *ask says whether the user must answer before its first card
 * operation; CB_ERR_ORIGIN_NOT_ALLOWED: no, and *why says why, for the log.
 */
int admission_check(const struct daemon *d, const char *origin, const char *host, int port,
    bool *ask, const char **why);

/*
 * Is there room for one more session: an allowed page's (maxConnections)
 * or, when unconsented, one of a page of this site the user has not
 * allowed yet?  0, or CB_ERR_BUSY with *why.
 */
int admission_budget(const struct daemon *d, bool unconsented, const char *site, const char **why);

/* Who allowed this (canonical) origin, if anybody. */
enum admission_source admission_source(const struct daemon *d, const char *origin);

/* Did the user deny this origin's site (within ADMISSION_DENY_S)? */
bool admission_denied(const struct daemon *d, const char *origin);

/* "Deny" in the consent dialog: the origin's site is refused for ADMISSION_DENY_S. */
void admission_deny(struct daemon *d, const char *origin);

/*
 * Add to or remove from the user's list, and save it (origins_store.c's
 * codes): "Always allow" in the consent dialog, "cardbridge origins
 * allow|revoke" on the control socket.  Allowing an origin also lifts a
 * Deny of its site.
 */
int admission_user_allow(struct daemon *d, const char *origin);
int admission_user_revoke(struct daemon *d, const char *origin);

/* The user's list, to show it. */
const struct origins_store *admission_user_origins(const struct daemon *d);

#endif /* CB_ADMISSION_H */

/*
 * admission.h - which pages may connect to cardbridged, and which must be
 * asked about first.
 *
 * Runs on the lws service thread only.  An origin is allowed by the
 * administrator (configuration files, --allow-origin: struct cb_config) or
 * by the user (origins.json, edited with "cardbridge origins allow|revoke"
 * and by "Always allow" in the consent dialog).  Any other origin is
 * refused, or, with "unknownOrigins": "ask", admitted pending the user's
 * answer (consent.c) unless the user denied it since cardbridged started.
 */
#ifndef CB_ADMISSION_H
#define CB_ADMISSION_H

#include <stdbool.h>

struct daemon;
struct origins_store;

enum admission_source {
	ADMISSION_NOT_ALLOWED,
	ADMISSION_ADMINISTRATOR, /* a configuration file or --allow-origin */
	ADMISSION_USER,		 /* the user's origins.json */
};

/* Before the event loop: load the user's allow-list (a damaged file reads as empty). */
int admission_start(struct daemon *d);
void admission_stop(struct daemon *d);

/*
 * The handshake's one question: may a page with this Origin header, which
 * connected with this Host header to our port, open a session?  0: yes,
 * and *ask says whether the user must answer before its first card
 * operation; CB_ERR_ORIGIN_NOT_ALLOWED: no, and *why says why, for the log.
 */
int admission_check(const struct daemon *d, const char *origin, const char *host, int port,
    bool *ask, const char **why);

/* Who allowed this (canonical) origin, if anybody. */
enum admission_source admission_source(const struct daemon *d, const char *origin);

/* Did the user deny this origin in the consent dialog since cardbridged started? */
bool admission_denied(const struct daemon *d, const char *origin);

/* "Deny" in the consent dialog: refused until cardbridged stops. */
void admission_deny(struct daemon *d, const char *origin);

/*
 * Add to or remove from the user's list, and save it (origins_store.c's
 * codes): "Always allow" in the consent dialog, "cardbridge origins
 * allow|revoke" on the control socket.
 */
int admission_user_allow(struct daemon *d, const char *origin);
int admission_user_revoke(struct daemon *d, const char *origin);

/* The user's list, to show it. */
const struct origins_store *admission_user_origins(const struct daemon *d);

#endif /* CB_ADMISSION_H */

/*
 * admission.c - may this connection become a session, and must the user be
 * asked first: the peer's uid, the checks of a WebSocket handshake's Host
 * and Origin headers, the administrator's and the user's allow-lists, the
 * sites the user denied, and the connection budgets.
 *
 * Runs on the lws service thread only, and knows no lws: server.c hands
 * over the socket and the header values.  The peer must be our own uid
 * (peer.c: any local user can send any Origin header); the Host header must
 * name loopback with our port (DNS rebinding); the Origin must be present,
 * canonical and acceptable (protocol/origin.c), and be allowed exactly:
 * byte for byte the text of an allow-list entry.  A Deny covers the
 * origin's site (site.c) for ADMISSION_DENY_S.  Pages nobody allowed yet
 * have a connection budget of their own, so that they never take the
 * allowed pages' slots.  This file must never widen the allow match
 * (prefixes, wildcards, case folding), let the user's list shrink the
 * administrator's, or let a deny refuse an allow-listed origin.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "daemon/admission.h"
#include "daemon/daemon.h"
#include "daemon/denied_store.h"
#include "daemon/log.h"
#include "daemon/origins_store.h"
#include "daemon/peer.h"
#include "daemon/site.h"
#include "protocol/cberr.h"
#include "protocol/origin.h"

struct admission {
	struct origins_store *user;  /* origins.json */
	struct denied_store *denied; /* denied.json: sites, until when */
	struct peer_diag *diag;	     /* who owns a connection's client end */
	uid_t uid;		     /* ours */
	char why[96];		     /* the last refusal's reason, for the log */
};

/* Where the user's state lives (conf.h): both NULL when it is kept in memory only. */
static int
state_paths(const struct cb_config *cfg, char **origins, char **denied)
{
	*origins = *denied = NULL;
	if (cfg->state_dir != NULL) {
		if (asprintf(origins, "%s/origins.json", cfg->state_dir) < 0 ||
		    asprintf(denied, "%s/denied.json", cfg->state_dir) < 0) {
			free(*origins);
			*origins = NULL;
			return CB_ERR_ALLOC;
		}
	} else if (cfg->user_state) {
		*origins = origins_store_default_path();
		*denied = denied_store_default_path();
	} else
		log_info("no user state: allowed origins and denied sites are kept until "
			 "cardbridged stops (--no-default-config without --state-dir)");
	return 0;
}

static int
load_state(struct admission *a, const struct cb_config *cfg)
{
	char *origins, *denied;
	int r;

	if ((r = state_paths(cfg, &origins, &denied)) != 0)
		return r;
	if ((r = origins_store_load(&a->user, origins)) == 0)
		r = denied_store_load(&a->denied, denied);
	free(origins);
	free(denied);
	return r;
}

int
admission_start(struct daemon *d)
{
	struct admission *a;
	int r;

	if ((a = calloc(1, sizeof(*a))) == NULL)
		return CB_ERR_ALLOC;
	d->admission = a;
	a->uid = geteuid();
	if ((r = peer_diag_open(&a->diag)) != 0) {
		log_error("cannot ask the kernel which user connects (sock_diag netlink: %s); "
			  "refusing to run without it",
		    strerror(errno));
		goto out;
	}
	r = load_state(a, d->cfg);
out:
	if (r != 0)
		admission_stop(d);
	return r;
}

void
admission_stop(struct daemon *d)
{
	struct admission *a = d->admission;

	if (a == NULL)
		return;
	peer_diag_free(a->diag);
	denied_store_free(a->denied);
	origins_store_free(a->user);
	free(a);
	d->admission = NULL;
}

int
admission_check_peer(struct daemon *d, int fd, const char **why)
{
	struct admission *a = d->admission;
	uid_t uid;

	*why = "cannot tell which user connected";
	if (a == NULL)
		return CB_ERR_ORIGIN_NOT_ALLOWED;
	if (peer_diag_owner(a->diag, fd, &uid) != 0)
		snprintf(a->why, sizeof(a->why), "cannot tell which user connected (%s)",
		    strerror(errno));
	else if (uid != a->uid)
		snprintf(a->why, sizeof(a->why), "the peer is uid %lu, not ours (%lu)",
		    (unsigned long)uid, (unsigned long)a->uid);
	else
		return 0;
	*why = a->why;
	return CB_ERR_ORIGIN_NOT_ALLOWED;
}

enum admission_source
admission_source(const struct daemon *d, const char *origin)
{
	size_t i;

	for (i = 0; i < d->cfg->norigins; i++)
		if (strcmp(d->cfg->origins[i], origin) == 0)
			return ADMISSION_ADMINISTRATOR;
	if (d->admission && origins_store_contains(d->admission->user, origin))
		return ADMISSION_USER;
	return ADMISSION_NOT_ALLOWED;
}

bool
admission_denied(const struct daemon *d, const char *origin)
{
	char site[SITE_MAX];

	if (d->admission == NULL)
		return false;
	site_of(origin, site, sizeof(site));
	return denied_store_contains(d->admission->denied, site, time(NULL));
}

int
admission_check(const struct daemon *d, const char *origin, const char *host, int port, bool *ask,
    const char **why)
{
	struct origin parsed;
	const char *detail;

	*ask = false;
	if (!origin_host_is_loopback(host, port))
		*why = "Host is not loopback (DNS rebinding?)";
	else if (origin[0] == '\0')
		*why = "no Origin header";
	else if (origin_parse(origin, &parsed, &detail) != 0 ||
		 !origin_is_acceptable(&parsed, &detail))
		*why = "malformed or unacceptable Origin";
	else if (admission_source(d, origin) != ADMISSION_NOT_ALLOWED)
		return 0;
	else if (admission_denied(d, origin))
		*why = "the user denied this site";
	else if (!d->cfg->ask_unknown_origins)
		*why = "origin not allowed";
	else {
		*ask = true; /* consent.c asks at the first card operation */
		return 0;
	}
	return CB_ERR_ORIGIN_NOT_ALLOWED;
}

int
admission_budget(const struct daemon *d, bool unconsented, const char *site, const char **why)
{
	int allowed = 0, waiting = 0, same_site = 0;
	const struct session *s;

	for (s = d->sessions; s; s = s->next) {
		if (!s->consent_pending) {
			allowed++;
			continue;
		}
		waiting++;
		if (strcmp(s->site, site) == 0)
			same_site++;
	}
	if (!unconsented && allowed >= d->cfg->max_connections)
		*why = "too many connections";
	else if (unconsented && same_site >= ADMISSION_UNCONSENTED_PER_SITE)
		*why = "too many connections from this site before the user allowed it";
	else if (unconsented && waiting >= ADMISSION_UNCONSENTED_MAX)
		*why = "too many connections from sites the user has not allowed";
	else
		return 0;
	return CB_ERR_BUSY;
}

void
admission_deny(struct daemon *d, const char *origin)
{
	char site[SITE_MAX];

	if (d->admission == NULL)
		return;
	site_of(origin, site, sizeof(site));
	if (denied_store_add(d->admission->denied, site, time(NULL) + ADMISSION_DENY_S) != 0)
		log_warn("could not save that the user denied %s (%s); denied until cardbridged "
			 "stops",
		    site, strerror(errno));
	else
		log_info(
		    "the user denied %s (site %s) for %d h", origin, site, ADMISSION_DENY_S / 3600);
}

int
admission_user_allow(struct daemon *d, const char *origin)
{
	char site[SITE_MAX];
	int r, saved;

	if (d->admission == NULL)
		return CB_ERR_CONFIG;
	/* CB_ERR_SYSTEM: allowed, but only until cardbridged stops (the caller says so). */
	r = origins_store_add(d->admission->user, origin);
	if (r != 0 && r != CB_ERR_SYSTEM)
		return r;
	/* Allowing a page undoes the Deny of its site: the user changed their mind. */
	saved = errno; /* why origins.json was not saved, for the caller */
	site_of(origin, site, sizeof(site));
	if (denied_store_remove(d->admission->denied, site) != 0)
		log_warn("could not save that %s is no longer denied: %s", site, strerror(errno));
	errno = saved;
	return r;
}

int
admission_user_revoke(struct daemon *d, const char *origin)
{
	if (d->admission == NULL)
		return CB_ERR_CONFIG;
	return origins_store_remove(d->admission->user, origin);
}

const struct origins_store *
admission_user_origins(const struct daemon *d)
{
	return d->admission ? d->admission->user : NULL;
}

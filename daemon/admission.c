/*
 * admission.c - may this origin connect, and must the user be asked: the
 * checks of a WebSocket handshake's Host and Origin headers, the
 * administrator's and the user's allow-lists, and the origins the user
 * denied in the consent dialog.
 *
 * Runs on the lws service thread only, and knows no lws: server.c hands
 * over the header values.  The Host header must name loopback with our
 * port (DNS rebinding); the Origin must be present, canonical and
 * acceptable (protocol/origin.c), and be allowed exactly: byte for byte the
 * text of an allow-list entry.  This file must never widen that match
 * (prefixes, wildcards, case folding) nor let the user's list shrink the
 * administrator's.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/admission.h"
#include "daemon/daemon.h"
#include "daemon/log.h"
#include "daemon/origins_store.h"
#include "protocol/cberr.h"
#include "protocol/origin.h"

/* An origin the user denied in the consent dialog. */
struct denied {
	struct denied *next;
	char origin[ORIGIN_MAX];
};

struct admission {
	struct origins_store *user; /* origins.json */
	struct denied *denied;	    /* until cardbridged stops */
};

int
admission_start(struct daemon *d)
{
	struct admission *a;
	char *path;
	int r;

	if ((a = calloc(1, sizeof(*a))) == NULL)
		return CB_ERR_ALLOC;
	path = origins_store_default_path();
	r = origins_store_load(&a->user, path);
	free(path);
	if (r != 0) {
		free(a);
		return r;
	}
	d->admission = a;
	return 0;
}

void
admission_stop(struct daemon *d)
{
	struct admission *a = d->admission;
	struct denied *n, *next;

	if (a == NULL)
		return;
	for (n = a->denied; n; n = next) {
		next = n->next;
		free(n);
	}
	origins_store_free(a->user);
	free(a);
	d->admission = NULL;
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
	const struct denied *n;

	for (n = d->admission ? d->admission->denied : NULL; n; n = n->next)
		if (strcmp(n->origin, origin) == 0)
			return true;
	return false;
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
	else if (admission_denied(d, origin) || !d->cfg->ask_unknown_origins)
		*why = "origin not allowed";
	else {
		*ask = true; /* consent.c asks at the first card operation */
		return 0;
	}
	return CB_ERR_ORIGIN_NOT_ALLOWED;
}

void
admission_deny(struct daemon *d, const char *origin)
{
	struct denied *n;

	if (d->admission == NULL || admission_denied(d, origin))
		return;
	if ((n = calloc(1, sizeof(*n))) == NULL) {
		log_warn("no memory to remember that %s was denied", origin);
		return;
	}
	snprintf(n->origin, sizeof(n->origin), "%s", origin);
	n->next = d->admission->denied;
	d->admission->denied = n;
}

int
admission_user_allow(struct daemon *d, const char *origin)
{
	if (d->admission == NULL)
		return CB_ERR_CONFIG;
	return origins_store_add(d->admission->user, origin);
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

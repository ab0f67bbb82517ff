/*
 * site.c - the registrable domain of an origin (site.h), from the Public
 * Suffix List through libpsl.
 *
 * Threads: site_start() and site_stop() on the service thread, around the
 * life of every other thread; site_of() anywhere, as libpsl only reads a
 * loaded list.  Must never resolve a name or fetch a list: the list is the
 * one Debian's publicsuffix package installs, or libpsl's own, and a host
 * it cannot place is its own site, which only ever narrows a decision.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include <libpsl.h>

#include "daemon/log.h"
#include "daemon/site.h"
#include "protocol/origin.h"

/* Loaded by site_start(), read-only until site_stop(). */
static psl_ctx_t *psl;

void
site_start(void)
{
	if (psl != NULL)
		return;
	/* The newer of the system file and the copy built into libpsl. */
	if ((psl = psl_latest(NULL)) == NULL)
		psl = (psl_ctx_t *)psl_builtin();
	if (psl == NULL)
		log_warn("no Public Suffix List (install the publicsuffix package): every host "
			 "counts as a site of its own for consent decisions");
}

void
site_stop(void)
{
	/* psl_builtin()'s context is static; psl_free() leaves it alone. */
	psl_free(psl);
	psl = NULL;
}

/* An IP literal ("127.0.0.1", "[::1]") or a name without a dot has no registrable domain. */
static int
is_own_site(const char *host)
{
	return host[0] == '[' || strchr(host, '.') == NULL ||
	       strspn(host, "0123456789.") == strlen(host);
}

void
site_of(const char *origin, char *site, size_t size)
{
	struct origin o;
	const char *why, *reg = NULL;

	if (size == 0)
		return;
	site[0] = '\0';
	if (strstr(origin, "://") != NULL) {
		if (origin_parse(origin, &o, &why) != 0)
			return;
	} else if (snprintf(o.host, sizeof(o.host), "%s", origin) >= (int)sizeof(o.host))
		return;
	if (!is_own_site(o.host) && psl != NULL)
		reg = psl_registrable_domain(psl, o.host);
	snprintf(site, size, "%s", reg != NULL ? reg : o.host);
}

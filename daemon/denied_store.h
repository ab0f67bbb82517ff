/*
 * denied_store.h - the sites the user denied in the consent dialog, each
 * until a time: $XDG_STATE_HOME/cardbridge/denied.json (default
 * ~/.local/state/cardbridge/denied.json), so that a Deny outlives
 * cardbridged's idle exit and restarts.
 *
 * Runs on the lws service thread only.  admission.c decides what a deny
 * covers (a site: site.h) and for how long; this file keeps the list.
 */
#ifndef CB_DENIED_STORE_H
#define CB_DENIED_STORE_H

#include <stdbool.h>
#include <time.h>

struct denied_store;

/* $XDG_STATE_HOME/cardbridge/denied.json, else ~/.local/state/...; NULL if neither is set. */
char *denied_store_default_path(void);

/*
 * Load path (NULL: keep the list in memory only).  A missing file is an
 * empty list; a damaged one is logged and read as empty; expired and
 * malformed entries are dropped.
 */
int denied_store_load(struct denied_store **out, const char *path);
void denied_store_free(struct denied_store *st);

/* Is site denied at time now? */
bool denied_store_contains(const struct denied_store *st, const char *site, time_t now);

/*
 * Deny site until the given time, and save.  The deny holds in memory
 * even when the file cannot be written (CB_ERR_SYSTEM, errno set).
 */
int denied_store_add(struct denied_store *st, const char *site, time_t until);

/* Lift the deny of site (no error when there is none), and save. */
int denied_store_remove(struct denied_store *st, const char *site);

#endif /* CB_DENIED_STORE_H */

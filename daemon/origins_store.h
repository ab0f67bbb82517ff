/*
 * origins_store.h - the user's own origin allow-list, kept in
 * $XDG_CONFIG_HOME/cardbridge/origins.json and changed with
 * "cardbridge origins allow|revoke".
 *
 * Runs on the lws service thread only.  The administrator's origins (config
 * files and --allow-origin) live in struct cb_config and are never stored
 * here: the user tool can add to the allow-list, and take back only what it
 * added.
 */
#ifndef CB_ORIGINS_STORE_H
#define CB_ORIGINS_STORE_H

#include <stdbool.h>

struct json_object;
struct origins_store;

/* $XDG_CONFIG_HOME/cardbridge/origins.json, else ~/.config/...; NULL if neither is set. */
char *origins_store_default_path(void);

/*
 * Load the file at path (NULL: keep the list in memory only).  A missing
 * file is an empty list; an unreadable one is logged and read as empty, so
 * a damaged user file never stops the daemon.  Invalid entries are skipped
 * with a warning naming them.
 */
int origins_store_load(struct origins_store **out, const char *path);
void origins_store_free(struct origins_store *st);

bool origins_store_contains(const struct origins_store *st, const char *origin);

/*
 * Add (must be valid and canonical: else CB_ERR_INVALID_PARAMS and nothing
 * changes) and save.  When the file cannot be written (CB_ERR_SYSTEM, errno
 * set) the origin stays allowed in memory until cardbridged stops: the
 * user's answer holds, and the file keeps what it had.
 */
int origins_store_add(struct origins_store *st, const char *origin);

/*
 * Remove and save.  The origin is removed from memory even when the file
 * cannot be written (CB_ERR_SYSTEM then): a revocation takes effect at once.
 */
int origins_store_remove(struct origins_store *st, const char *origin);

/* A new JSON array of the user's origins. */
struct json_object *origins_store_list(const struct origins_store *st);

/* The file, or NULL when the list is in memory only. */
const char *origins_store_path(const struct origins_store *st);

#endif /* CB_ORIGINS_STORE_H */

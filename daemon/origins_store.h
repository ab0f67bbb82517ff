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
 * $<xdg_variable>/cardbridge/<file>, else $HOME/<home_dir>/cardbridge/<file>
 * (XDG Base Directory rules); NULL when neither is set.  Free it.
 */
char *origins_store_user_path(const char *xdg_variable, const char *home_dir, const char *file);

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

/*
 * The JSON object in the user-state file at path (the caller puts it):
 * NULL when there is none, silently, or when it is too large, not a
 * regular file or not a JSON object, logged with what that means
 * (consequence, e.g. "no user origin loaded").
 */
struct json_object *origins_store_read_file(
    const char *path, size_t max_bytes, const char *consequence);

/*
 * Replace the file at path with {key: value} (value is taken), atomically
 * and mode 0600, making its directories (0700) first: the way every file
 * of the user's state is written (also denied_store.c).  CB_ERR_SYSTEM,
 * errno set.
 */
int origins_store_write_file(const char *path, const char *key, struct json_object *value);

#endif /* CB_ORIGINS_STORE_H */

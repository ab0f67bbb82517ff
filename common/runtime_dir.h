/*
 * runtime_dir.h - where cardbridge's per-user runtime files live (the
 * control socket and the start lock): $XDG_RUNTIME_DIR/cardbridge, or, when a
 * browser started us without that variable, /run/user/UID/cardbridge if
 * that directory is really the user's own.
 *
 * Shared by cardbridged (it listens there) and the cardbridge tool (it
 * connects there and starts the daemon), so both always agree.
 */
#ifndef CB_RUNTIME_DIR_H
#define CB_RUNTIME_DIR_H

/*
 * "<runtime dir>/cardbridge/<leaf>", malloc'd; NULL when the user has no
 * runtime directory we may use (or out of memory).
 */
char *runtime_path(const char *leaf);

/*
 * Without XDG_RUNTIME_DIR, set it to /run/user/UID when that is the user's
 * own, so that everything we run (systemctl --user, the daemon, pinentry)
 * finds the same directory.  True when XDG_RUNTIME_DIR is set afterwards.
 */
int runtime_dir_export(void);

#endif /* CB_RUNTIME_DIR_H */

/*
 * control.h - the control socket for the "cardbridge" command-line tool,
 * which also edits the user's origin allow-list (kept by admission.c).
 *
 * A UNIX socket ($XDG_RUNTIME_DIR/cardbridge/control by default, directory
 * 0700, socket 0600) on which the same uid, checked with SO_PEERCRED, sends
 * line-delimited JSON-RPC 2.0: control.status, control.tokens,
 * control.origins.list, control.origins.allow, control.origins.revoke, and
 * the card management rows it forwards to the PKCS#11 helper (pins.*,
 * keys.list, keys.delete, certificates.list, certificates.delete).
 * Everything here runs on the lws service thread, so it reads struct daemon
 * directly.  The browser port never serves the control.* methods.
 */
#ifndef CB_CONTROL_H
#define CB_CONTROL_H

#include <stdbool.h>

struct daemon;
struct p11_reply;

#define CONTROL_PROTOCOL "cardbridge-control"
#define CONTROL_MAX_LINE (64 * 1024)

/*
 * Service thread, after the listeners exist and before the event loop:
 * open the control socket.  A control
 * socket that cannot be opened (no XDG_RUNTIME_DIR, another cardbridged
 * answering on it) is logged and skipped; only allocation failures and a
 * socket directory owned by someone else are errors.
 */
int control_start(struct daemon *d);

/* After lws_context_destroy(): free everything; lws has removed the socket. */
void control_stop(struct daemon *d);

/* NULL, or a method whose control binding is missing or has no row. */
const char *control_check_bindings(void);

/*
 * The helper's answer r for a request of the cardbridge tool: sent to its
 * connection (true), or false when r belongs to no control connection (a
 * page's, or of a connection that is gone).  Takes r->result.
 */
bool control_forward_reply(struct daemon *d, struct p11_reply *r);

#endif /* CB_CONTROL_H */

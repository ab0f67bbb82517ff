/*
 * token_lock.h - taking turns at a token (token_lock.c): two gates per
 * token, entered in turn (first come, first served) and waited for at
 * most helper_wait_limit_ms().
 *
 *   TOKEN_GATE_OWNER  one request at a time logs in or writes on the token,
 *                     from its session's opening to its closing (login
 *                     state belongs to the whole module, not one session);
 *   TOKEN_GATE_IO     one request at a time calls the module about the
 *                     token: modules such as SoftHSM2 break when a search
 *                     runs beside a key generation on the same token.
 *
 * An owner gives up the I/O gate while a dialog of its waits for the user
 * (token_session_yield), so that listings go on meanwhile; it never gives
 * up the owner gate before it logged out.
 */
#ifndef CB_PKCS11_TOKEN_LOCK_H
#define CB_PKCS11_TOKEN_LOCK_H

#include <stdbool.h>

struct request;
struct token;

enum token_gate { TOKEN_GATE_OWNER, TOKEN_GATE_IO, TOKEN_GATES };

/*
 * Wait for the gate, in turn.  Errors: BUSY after helper_wait_limit_ms()
 * (another request kept the token); USER_CANCELLED, CARD_REMOVED or
 * SERVICE_STOPPED when req is cancelled or its card leaves meanwhile; each
 * with a message.  A wait is reported through
 * token_lock_waiting (worker.c: the thread does not count against the
 * pool, and the daemon hears that the request waits), and in *waited
 * (may be NULL): another request had the gate first.
 */
int token_gate_enter(
    struct request *req, const struct token *t, enum token_gate gate, bool *waited);
void token_gate_leave(const struct token *t, enum token_gate gate);

/*
 * Set by main(): why req must stop (request.c: USER_CANCELLED, CARD_REMOVED,
 * SERVICE_STOPPED, or 0), and what to do when a request starts and stops
 * waiting (worker.c).  NULL in the unit tests: then nothing ends a wait
 * early and nobody is told.
 */
extern int (*token_lock_interrupted)(struct request *req);
extern void (*token_lock_waiting)(struct request *req, bool waiting);

#endif /* CB_PKCS11_TOKEN_LOCK_H */

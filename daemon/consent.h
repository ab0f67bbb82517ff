/*
 * consent.h - asking the user before an unknown origin may use a card.
 *
 * Runs on the lws service thread.  An origin that is neither allow-listed
 * nor refused is admitted at the handshake "pending" (admission.c): it may
 * call system.hello, and its first other request is parked while the
 * helper shows a pinentry CONFIRM ("Allow https://x to use your smart
 * cards?").  Nothing reaches the helper for that page, so no card I/O
 * happens, before the user answers.  One such dialog is on the screen at
 * a time; other origins wait their turn.
 */
#ifndef CB_CONSENT_H
#define CB_CONSENT_H

#include <stdbool.h>
#include <stddef.h>

struct daemon;
struct session;
struct parked;
struct proto_request;
struct p11_reply;

/* Park req (taken) until the user answers; false if no consent is needed. */
bool consent_hold(struct daemon *d, struct session *s, struct proto_request *req);

/*
 * The helper's answer to origin.confirm: record the user's decision
 * (admission.c), copy the origin it is about into origin (false: not one
 * we asked about), with *err 0 when its parked requests may go on, else
 * the error they get and its *message.  The caller releases them
 * (consent_take_parked, or consent_refuse_parked), then calls
 * consent_next() for the next origin's dialog.
 */
bool consent_reply(struct daemon *d, const struct p11_reply *r, char *origin, size_t size, int *err,
    const char **message);

/* Ask about the next origin in the queue, unless a dialog is on the screen. */
void consent_next(struct daemon *d);

/* s's parked requests, oldest first; s keeps none.  The caller frees each. */
struct parked *consent_take_parked(struct session *s);

/* Answer every parked request of origin's pending sessions with err. */
void consent_refuse_parked(struct daemon *d, const char *origin, int err, const char *message);

void consent_session_gone(struct daemon *d, struct session *s);
void consent_free(struct daemon *d);

#endif /* CB_CONSENT_H */

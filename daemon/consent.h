/*
 * consent.h - asking the user before an unknown origin may use a card.
 *
 * Runs on the lws service thread.  An origin that is neither allow-listed
 * nor refused is admitted at the handshake "pending": it may call
 * system.hello, and its first other request is parked while the helper shows
 * a pinentry CONFIRM ("Allow https://x to use your smart cards?").  Nothing
 * reaches the helper for that page, so no card I/O happens, before the user
 * answers.
 */
#ifndef CB_CONSENT_H
#define CB_CONSENT_H

#include <stdbool.h>

struct daemon;
struct session;
struct proto_request;
struct p11_reply;

enum consent_admission {
	CONSENT_REFUSE = -1, /* handshake gets 403 */
	CONSENT_GRANTED = 0, /* allow-listed */
	CONSENT_ASK = 1,     /* admitted; ask at the first card operation */
};

enum consent_admission consent_admit(struct daemon *d, const char *origin);

/* Park req (taken) until the user answers; false if no consent is needed. */
bool consent_hold(struct daemon *d, struct session *s, struct proto_request *req);

/* The helper's answer to origin.confirm. */
void consent_reply(struct daemon *d, struct p11_reply *r);

void consent_session_gone(struct daemon *d, struct session *s);
void consent_free(struct daemon *d);

#endif /* CB_CONSENT_H */

/*
 * card.h - the card behind a token, followed through one request: bound
 * when the request finds its token, asked after a failure whether it left
 * (or pcscd stopped), waited for when a write must be checked once it is
 * back, and told by the daemon when it leaves while a dialog is open.
 * token_check_removed() (token.h) is here too.
 */
#ifndef CB_PKCS11_CARD_H
#define CB_PKCS11_CARD_H

struct json_object;
struct request;
struct token;

/* Follow t's card through req (PC/SC reader and event count, pcsc.h). */
void card_bind(struct request *req, struct token *t);

/* card.removed (doc/HELPER-IPC.md), on the main thread: close the dialogs of that reader. */
int handle_card_removed(struct request *req, struct json_object **result);

#endif /* CB_PKCS11_CARD_H */

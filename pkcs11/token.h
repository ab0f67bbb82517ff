/*
 * token.h - tokens (a present, initialised token in a slot of a loaded
 * module) and their RFC 7512 URIs.  What a token can do is in
 * token_capabilities.h; taking turns at one is token_lock.h's.
 */
#ifndef CB_PKCS11_TOKEN_H
#define CB_PKCS11_TOKEN_H

#include <stdbool.h>
#include <stddef.h>

#include <p11-kit/p11-kit.h>

#include "pkcs11/module.h"
#include "pkcs11/pcsc.h"

struct request;

struct token {
	struct p11_module *module; /* borrowed from module.c */
	CK_SLOT_ID slot;
	CK_SLOT_INFO slot_info;
	CK_TOKEN_INFO info; /* as last read; token_refresh() updates it */
	/*
	 * info was read in this request, and no login nor wait for the token's
	 * owner gate came since: its PIN flags still hold, login_check_pin()
	 * need not ask again (on an OpenPGP card each C_GetTokenInfo is an APDU).
	 */
	bool info_fresh;
	char *uri;	 /* owned: pkcs11: URI of the token */
	char reader[65]; /* slot description, trimmed */
	char label[33];
	char manufacturer[33];
	char model[17];
	char serial[17];
	struct pcsc_watch card; /* token_find(): its card, followed through the request */
};

/*
 * Every present, initialised token of every loaded module that may serve
 * its card (module by ATR: pkcs11/claim.h); token_list_claimed() with the
 * readers as c saw them, for a caller that also reports the cards left
 * waiting (tokens.list).
 */
int token_list(struct request *req, struct token **out, size_t *n);
struct claim;
int token_list_claimed(struct request *req, const struct claim *c, struct token **out, size_t *n);
void token_list_free(struct token *list, size_t n);

/*
 * The single token matching uri, its card bound to req (card.h);
 * INVALID_PARAMS if uri is not a token URI or matches several,
 * TOKEN_NOT_PRESENT if it matches none, or only tokens whose card another
 * module serves (the message says which and why).
 */
int token_find(struct request *req, const char *uri, struct token *out);
void token_clear(struct token *t);

/* Re-read CK_TOKEN_INFO, e.g. for the PIN flags after a failed login. */
int token_refresh(struct request *req, struct token *t);

/*
 * card.c: after an operation on t failed with err, CARD_REMOVED when t's
 * card left its reader, SERVICE_STOPPED when pcscd stopped (each with a
 * message), otherwise err.  PC/SC is asked, not the card (card.c says why).
 */
int token_check_removed(struct request *req, const struct token *t, int err);

#endif /* CB_PKCS11_TOKEN_H */

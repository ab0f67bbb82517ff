/*
 * claim.h - module by ATR in the helper: the rule of protocol/claim.h
 * applied to the tokens of the loaded modules, with the cards in the PC/SC
 * readers as pcscd reports them (pcsc.h).  token.c applies it to every
 * token list, so that tokens.list, token_find, certificates.list and a
 * certificates.install without a token all see the same tokens.
 */
#ifndef CB_PKCS11_CLAIM_H
#define CB_PKCS11_CLAIM_H

#include <stdbool.h>
#include <stddef.h>

#include "pkcs11/pcsc.h"

struct json_object;
struct token;

struct claim {
	bool active; /* more than one module, or one with an ATR list: the rule can apply */
	struct pcsc_view pcsc;
};

/* The readers and their cards now (read only when the rule can apply). */
void claim_begin(struct claim *c);

/*
 * NULL when list[i] may be used; otherwise why not, written to why (for the
 * page: which card, which module serves it, and why that one cannot).
 * list holds every token of every module.
 */
const char *claim_refusal(
    const struct claim *c, const struct token *list, size_t n, size_t i, char *why, size_t size);

/*
 * Append to array {"reader", "atr", "module", "error"} for each card whose
 * claiming module serves no token for it (it failed to load, or shows no
 * token there); served holds the tokens token_list_claimed() kept.
 */
int claim_waiting_json(
    const struct claim *c, const struct token *served, size_t n, struct json_object *array);

#endif /* CB_PKCS11_CLAIM_H */

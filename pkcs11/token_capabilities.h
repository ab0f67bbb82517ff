/*
 * token_capabilities.h - what a token can do (mechanisms, key sizes), and
 * the rules of tokens that differ from plain PKCS#11 (OpenSC's OpenPGP card).
 */
#ifndef CB_PKCS11_TOKEN_CAPABILITIES_H
#define CB_PKCS11_TOKEN_CAPABILITIES_H

#include <stdbool.h>

#include <p11-kit/p11-kit.h>

struct token;

/* Can the token generate and sign with RSA of bits / EC on a curve of bits? */
bool token_supports_rsa(const struct token *t, unsigned long bits);
bool token_supports_ec(const struct token *t, unsigned long bits);
/* Can it generate EC keys of bits at all (whether or not it can sign a CSR with them)? */
bool token_generates_ec(const struct token *t, unsigned long bits);
bool token_has_mechanism(const struct token *t, CK_MECHANISM_TYPE type, CK_FLAGS flags);

/*
 * OpenSC's emulation of an OpenPGP card: admin PIN for writing, fixed key
 * slots, nothing replaceable or deletable, stale objects after keygen
 * (token_capabilities.c explains each).
 */
bool token_is_openpgp_card(const struct token *t);

/* Which PIN writes keys and certificates on this token (CKU_USER or CKU_SO). */
CK_USER_TYPE token_user_for_writing(const struct token *t);

/*
 * Tokens that keep keys in fixed slots: the CKA_ID of the slot a new key
 * goes to (id must hold 8 bytes).  False for tokens that create new objects.
 */
bool token_fixed_key_slot(const struct token *t, CK_BYTE *id, CK_ULONG *id_len);

#endif /* CB_PKCS11_TOKEN_CAPABILITIES_H */

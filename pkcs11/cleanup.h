/*
 * cleanup.h - removing the half-made key pair of a failed keys.generate,
 * and finishing that removal later when the card was pulled before it was
 * done (cleanup.c).
 *
 * What could not be removed is remembered in a small journal that
 * survives the helper ($XDG_STATE_HOME/cardbridge/cleanup.json): the
 * token's URI (its serial number, label, model and manufacturer), the
 * pair's CKA_ID and its public key.  Deleting keys needs the PIN on most
 * cards, and cardbridge opens no dialog of its own for it: the removal is
 * finished right after the next login that writes on the same token (the
 * next keys.generate or certificates.install there), before that
 * request's own work.
 */
#ifndef CB_PKCS11_CLEANUP_H
#define CB_PKCS11_CLEANUP_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>
#include <p11-kit/p11-kit.h>

struct token_session;

/*
 * Destroy priv, then pub, on the token s is logged in to, and make sure
 * they are gone; remember what is not.  id (id_len 0 when unknown) and key
 * (NULL when unknown) identify the pair later; both are read from the
 * objects when not given.  Logs what really happened.
 */
void cleanup_key_pair(struct token_session *s, CK_OBJECT_HANDLE priv, CK_OBJECT_HANDLE pub,
    const uint8_t *id, size_t id_len, EVP_PKEY *key);

/*
 * s is logged in to write on its token: remove what earlier requests left
 * there (only objects whose CKA_ID and public key are those remembered).
 */
void cleanup_pending(struct token_session *s);

#endif /* CB_PKCS11_CLEANUP_H */

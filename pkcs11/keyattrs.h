/*
 * keyattrs.h - what a private key the token just generated really is: the
 * flags its module reports, and whether the module hands out its secret
 * parts (keyattrs.c).
 */
#ifndef CB_PKCS11_KEYATTRS_H
#define CB_PKCS11_KEYATTRS_H

#include <stdbool.h>

#include <p11-kit/p11-kit.h>

struct json_object;
struct token_session;

/* As read from the module, after one try to set what it got wrong; false when it does not say. */
struct key_attributes {
	bool sensitive;		/* CKA_SENSITIVE */
	bool extractable;	/* CKA_EXTRACTABLE */
	bool local;		/* CKA_LOCAL */
	bool always_sensitive;	/* CKA_ALWAYS_SENSITIVE */
	bool never_extractable; /* CKA_NEVER_EXTRACTABLE */
	bool secret_readable;	/* a secret part (RSA's CRT members, EC's CKA_VALUE) came back */
};

/*
 * Read the flags of the new private key priv (rsa: an RSA key, else EC);
 * when they do not say "sensitive and not extractable", try once to set
 * them; then try to read the key's secret parts.  MODULE_ERROR ("the token
 * hands out the private key") when the module returns any of them: the
 * caller deletes the pair.  Flags that are merely misreported (OpenSC
 * before 0.24 on PKCS#15 cards) are no error.  A read that fails (a pulled
 * card) is that failure.  s must be the session that made the key.
 */
int keyattrs_inspect(
    struct token_session *s, CK_OBJECT_HANDLE priv, bool rsa, struct key_attributes *out);

/* The result member "keyAttributes" (doc/PROTOCOL.md) added to result; CB_ERR_ALLOC or 0. */
int keyattrs_add_json(struct json_object *result, const struct key_attributes *a);

#endif /* CB_PKCS11_KEYATTRS_H */

/*
 * objects.h - the keys and certificates on a token as keys.list and the
 * deletions (objects_delete.c) see them: found by class and CKA_ID (and a
 * certificate by its serial number and issuer), and described in words a
 * person can check before anything goes (objects.c).
 */
#ifndef CB_PKCS11_OBJECTS_H
#define CB_PKCS11_OBJECTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <json.h>
#include <openssl/x509.h>
#include <p11-kit/p11-kit.h>

struct token_session;

enum object_class_bit {
	OBJECT_PRIVATE_KEY = 1 << 0,
	OBJECT_PUBLIC_KEY = 1 << 1,
	OBJECT_CERTIFICATE = 1 << 2,
};

struct object_info {
	CK_OBJECT_CLASS cls;
	CK_OBJECT_HANDLE handle;
	uint8_t *id; /* CKA_ID; NULL when it has none */
	size_t id_len;
	char *id_hex;	    /* lowercase hex of id; NULL when it has none */
	char *label;	    /* CKA_LABEL when it is text without control characters, else NULL */
	X509 *cert;	    /* certificates: CKA_VALUE read as X.509, or NULL */
	char algorithm[48]; /* keys: "RSA 2048", "EC P-256", "RSA"; "" when not known */
};

struct object_list {
	struct object_info *items;
	size_t n;
};

/* What to find (all of it must match). */
struct object_query {
	unsigned classes;  /* enum object_class_bit */
	const uint8_t *id; /* only this CKA_ID; NULL: any */
	size_t id_len;
	const char *serial, *issuer; /* certificates: only this one (serial in hex, any case) */
};

/* The objects matching q that the session sees, read and described. */
int objects_find(struct token_session *s, const struct object_query *q, struct object_list *out);
void objects_clear(struct object_list *list);

/* "privateKey", "publicKey" or "certificate". */
const char *object_kind(CK_OBJECT_CLASS cls);

/* {"kind", "keyId", "label"} and for certificates "subject", "issuer", "serial". */
struct json_object *object_json(const struct object_info *o);

/*
 * One line naming o for a confirmation dialog, translated, with every text
 * from the token made safe (protocol/display.c): "the RSA 2048 key pair
 * "Joe Doe" (ID 5c2f0e8a…)", "the certificate for Joe Doe issued by Demo
 * CA (serial number 1a2b)".  pair: o is a private key whose public key goes
 * too.
 */
void object_words(const struct object_info *o, bool pair, char *buf, size_t size);

#endif /* CB_PKCS11_OBJECTS_H */

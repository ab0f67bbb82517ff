/*
 * cert_check.c - certificates on a token, compared by their DER value
 * (cert_check.h): what certificates.install finds before it writes (the
 * very certificate, or another one for the same key), and what it finds
 * after a write failed.
 *
 * A card pulled during C_CreateObject may have taken the whole certificate
 * before it left: OpenSC writes the certificate's file, then the PKCS#15
 * directory that lists it, then more, and fails on the first APDU the card
 * no longer answers.  Only the card can tell, so it is read again, without
 * a login (certificates are public objects), once it is back.
 * Must never: write, log in, or guess: "not stored" only when the card was
 * read and the certificate is not there.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/evp.h>

#include "protocol/cberr.h"
#include "protocol/methods.h"
#include "pkcs11/cert_check.h"
#include "pkcs11/log.h"
#include "pkcs11/request.h"
#include "pkcs11/token.h"
#include "pkcs11/token_session.h"

int
cert_present(struct token_session *s, X509 *x, bool *present)
{
	CK_OBJECT_HANDLE *objects = NULL;
	uint8_t *der = NULL, *value;
	size_t len;
	CK_ULONG count, i;
	int der_len, r;

	*present = false;
	if ((der_len = i2d_X509(x, &der)) <= 0)
		return CB_ERR_ALLOC;
	if ((r = token_session_find_class_all(s, CKO_CERTIFICATE, NULL, 0, &objects, &count)) != 0)
		goto out;
	for (i = 0; i < count && !*present; i++) {
		if ((r = token_session_get_attr(s, objects[i], CKA_VALUE, &value, &len)) != 0)
			goto out;
		*present = len == (size_t)der_len && memcmp(value, der, len) == 0;
		free(value);
	}
out:
	free(objects);
	OPENSSL_free(der);
	return r;
}

/* Is the certificate in der (len bytes) one for x's public key? */
static bool
same_key(const uint8_t *der, size_t len, X509 *x)
{
	const unsigned char *p = der;
	EVP_PKEY *a, *b = X509_get0_pubkey(x);
	X509 *other;
	bool same;

	if ((other = d2i_X509(NULL, &p, (long)len)) == NULL) {
		ERR_clear_error();
		return false;
	}
	a = X509_get0_pubkey(other);
	same = a != NULL && b != NULL && EVP_PKEY_eq(a, b) == 1;
	X509_free(other);
	ERR_clear_error();
	return same;
}

/* Is this certificate object another one than der for the key (by CKA_ID or public key)? */
static int
other_for_key(struct token_session *s, CK_OBJECT_HANDLE obj, const uint8_t *der, size_t der_len,
    X509 *x, const uint8_t *key_id, size_t key_id_len, bool *other)
{
	uint8_t *value = NULL, *id = NULL;
	size_t len, id_len;
	int r;

	*other = false;
	if ((r = token_session_get_attr(s, obj, CKA_VALUE, &value, &len)) == 0 &&
	    (r = token_session_get_attr(s, obj, CKA_ID, &id, &id_len)) == 0 && value != NULL &&
	    !(len == der_len && memcmp(value, der, len) == 0))
		*other = (id_len == key_id_len && memcmp(id, key_id, id_len) == 0) ||
			 same_key(value, len, x);
	free(value);
	free(id);
	return r;
}

int
cert_key_has_other(
    struct token_session *s, X509 *x, const uint8_t *key_id, size_t key_id_len, bool *has)
{
	CK_OBJECT_HANDLE *objects = NULL;
	uint8_t *der = NULL;
	CK_ULONG count, i;
	int der_len, r;

	*has = false;
	if ((der_len = i2d_X509(x, &der)) <= 0)
		return CB_ERR_ALLOC;
	if ((r = token_session_find_class_all(s, CKO_CERTIFICATE, NULL, 0, &objects, &count)) == 0)
		for (i = 0; i < count && !*has && r == 0; i++)
			r = other_for_key(
			    s, objects[i], der, (size_t)der_len, x, key_id, key_id_len, has);
	free(objects);
	OPENSSL_free(der);
	return r;
}

static bool
stop_waiting(void *arg)
{
	return request_is_cancelled(arg);
}

/*
 * After t's card left: wait up to ms for it to be back, then find the
 * token again (its URI: the same card) into t, bound anew.  0 when it is
 * back; else CARD_REMOVED, SERVICE_STOPPED or USER_CANCELLED (the request
 * was cancelled meanwhile), with req's message untouched.
 */
static int
card_wait_back(struct request *req, struct token *t, int ms)
{
	char message[REQUEST_MESSAGE_MAX], uri[PROTO_TOKEN_URI_MAX + 1];
	enum pcsc_verdict v;
	int r;

	v = pcsc_watch_wait_card(&t->card, ms, stop_waiting, req);
	if (request_is_cancelled(req))
		return CB_ERR_USER_CANCELLED;
	if (v == PCSC_SERVICE_GONE)
		return CB_ERR_SERVICE_STOPPED;
	if (v != PCSC_CARD_BACK || t->uri == NULL)
		return CB_ERR_CARD_REMOVED;
	/* The same token by its URI (serial and label): another card is not "back". */
	memcpy(message, req->message, sizeof(message));
	snprintf(uri, sizeof(uri), "%s", t->uri);
	token_clear(t);
	r = token_find(req, uri, t);
	memcpy(req->message, message, sizeof(message));
	if (r == 0)
		helper_log(CB_LOG_INFO, "request %llu: the token \"%s\" is back",
		    (unsigned long long)req->id, t->label);
	return r == 0 ? 0 : CB_ERR_CARD_REMOVED;
}

int
cert_check_written(struct request *req, struct token *t, int err, X509 *const *certs, size_t n,
    bool *present, int back_ms)
{
	char message[REQUEST_MESSAGE_MAX];
	struct token_session s;
	size_t i;
	int r;

	if ((err == CB_ERR_CARD_REMOVED || err == CB_ERR_SERVICE_STOPPED) &&
	    (r = card_wait_back(req, t, back_ms)) != 0)
		return r;
	memcpy(message, req->message, sizeof(message));
	if ((r = token_session_open(req, t, false, &s)) == 0) {
		for (i = 0; i < n && r == 0; i++)
			r = cert_present(&s, certs[i], &present[i]);
		token_session_close(&s);
	}
	if (r != 0)
		helper_log(CB_LOG_WARN, "request %llu: cannot read the certificates again: %s",
		    (unsigned long long)req->id, req->message);
	memcpy(req->message, message, sizeof(message));
	return r;
}

/*
 * cert_object.c - the token objects certificates.install reads and writes:
 * the key a certificate belongs to (found by its public key, which needs no
 * login), and the certificate object written next to it under its CKA_ID.
 * Must never: pair a certificate with a key that has no CKA_ID, or leave a
 * label read's error text behind for a later error to send.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "protocol/cberr.h"
#include "pkcs11/cert_object.h"
#include "pkcs11/helper.h"
#include "pkcs11/log.h"
#include "pkcs11/p11_error.h"
#include "pkcs11/progress.h"
#include "pkcs11/pubkey.h"
#include "pkcs11/request.h"
#include "pkcs11/token_session.h"

/* CKA_CERTIFICATE_CATEGORY: 2 is "authority" (PKCS#11 2.40, 4.6.2). */
#define CATEGORY_AUTHORITY 2

/*
 * The CKA_ID and label of a key object (public, or an RSA private key that
 * shows its modulus) whose public key is key; *id NULL if there is none.
 */
int
cert_find_key(struct token_session *s, EVP_PKEY *key, uint8_t **id, size_t *id_len, char **label)
{
	static const CK_OBJECT_CLASS classes[] = {CKO_PUBLIC_KEY, CKO_PRIVATE_KEY};
	CK_OBJECT_HANDLE *objects = NULL;
	CK_ULONG count, i;
	size_t c, len;
	bool match;
	int r = 0;

	*id = NULL;
	for (c = 0; c < sizeof(classes) / sizeof(classes[0]) && *id == NULL && r == 0; c++) {
		free(objects);
		if ((r = token_session_find_class_all(s, classes[c], NULL, 0, &objects, &count)) !=
		    0)
			break;
		for (i = 0; i < count; i++) {
			if ((r = pubkey_object_matches(s, objects[i], key, &match)) != 0)
				break;
			if (!match)
				continue;
			/* The key is there: failing to read its ID is no "no key matches". */
			if ((r = token_session_get_attr(s, objects[i], CKA_ID, id, id_len)) != 0)
				break;
			if (*id_len == 0) { /* a key without an ID cannot be paired */
				free(*id);
				*id = NULL;
				continue;
			}
			/*
			 * The label only names the certificate object (install_label()
			 * has others): without it the install goes on, and its error
			 * text must not stay behind.  A pulled card fails the next step.
			 */
			if (token_session_get_attr(
				s, objects[i], CKA_LABEL, (uint8_t **)label, &len) != 0) {
				helper_log(CB_LOG_WARN, "cannot read the key's label: %s",
				    s->req->message);
				s->req->message[0] = '\0';
			}
			break;
		}
	}
	free(objects);
	return r;
}

int
cert_object_create(struct token_session *s, X509 *x, const char *label, const uint8_t *id,
    size_t id_len, bool authority, CK_RV *rv)
{
	CK_OBJECT_CLASS cls = CKO_CERTIFICATE;
	CK_CERTIFICATE_TYPE type = CKC_X_509;
	CK_ULONG category = CATEGORY_AUTHORITY;
	CK_BBOOL yes = CK_TRUE, no = CK_FALSE;
	unsigned char *value = NULL, *subject = NULL, *issuer = NULL, *serial = NULL;
	int value_len, subject_len, issuer_len, serial_len;
	CK_OBJECT_HANDLE obj;
	int r = CB_ERR_ALLOC;

	value_len = i2d_X509(x, &value);
	subject_len = i2d_X509_NAME(X509_get_subject_name(x), &subject);
	issuer_len = i2d_X509_NAME(X509_get_issuer_name(x), &issuer);
	serial_len = i2d_ASN1_INTEGER(X509_get_serialNumber(x), &serial);
	if (value_len > 0 && subject_len > 0 && issuer_len > 0 && serial_len > 0) {
		CK_ATTRIBUTE tmpl[] = {
		    {CKA_CLASS, &cls, sizeof(cls)},
		    {CKA_CERTIFICATE_TYPE, &type, sizeof(type)},
		    {CKA_TOKEN, &yes, sizeof(yes)},
		    {CKA_PRIVATE, &no, sizeof(no)},
		    {CKA_LABEL, (void *)label, strlen(label)},
		    {CKA_SUBJECT, subject, (CK_ULONG)subject_len},
		    {CKA_ISSUER, issuer, (CK_ULONG)issuer_len},
		    {CKA_SERIAL_NUMBER, serial, (CK_ULONG)serial_len},
		    {CKA_VALUE, value, (CK_ULONG)value_len},
		    {CKA_ID, (void *)id, id_len},
		    /* last: only for CA certificates */
		    {CKA_CERTIFICATE_CATEGORY, &category, sizeof(category)},
		};
		CK_ULONG n = sizeof(tmpl) / sizeof(tmpl[0]) - (authority ? 0 : 1);

		progress_report(s->req, PROGRESS_WRITING_CERTIFICATE, PROGRESS_PIN_NONE);
		*rv = s->funcs->C_CreateObject(s->handle, tmpl, n, &obj);
		r = *rv == CKR_OK ? 0 : p11_fail(s->req, *rv, "storing the certificate");
	}
	OPENSSL_free(value);
	OPENSSL_free(subject);
	OPENSSL_free(issuer);
	OPENSSL_free(serial);
	return r;
}

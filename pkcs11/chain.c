/*
 * chain.c - the issuer path of a certificate through the CA certificates a
 * page sent with it (certificates.install's "chain").
 *
 * A page may send any CA certificates it likes; only the ones that really
 * issued the certificate, or its issuers, belong on the token next to it
 * (issue 14: unrelated CA certificates were written, and named nowhere).
 * Names can be forged, signatures cannot: each step checks both, with
 * OpenSSL's X509_check_issued() (names, key identifiers, key usage) and
 * X509_verify() (the signature).  Dates do not matter here (certs.c
 * reports expired ones).  Must never: touch a token, do I/O, or trust a
 * certificate because of its name alone.
 */
#include "config.h"

#include <stdbool.h>

#include <openssl/err.h>
#include <openssl/x509v3.h>

#include "pkcs11/chain.h"

int
chain_issued(X509 *issuer, X509 *subject)
{
	EVP_PKEY *key;
	int ok;

	if (X509_check_ca(issuer) == 0 || X509_check_issued(issuer, subject) != X509_V_OK ||
	    (key = X509_get0_pubkey(issuer)) == NULL)
		return 0;
	ok = X509_verify(subject, key) == 1;
	/* A signature that does not verify leaves its reasons on OpenSSL's error queue. */
	ERR_clear_error();
	return ok;
}

/* Issued by itself (its own name and key): the top of a path. */
static bool
self_signed(X509 *x)
{
	return X509_NAME_cmp(X509_get_subject_name(x), X509_get_issuer_name(x)) == 0 &&
	       chain_issued(x, x);
}

size_t
chain_path(X509 *leaf, X509 *const *chain, size_t n, size_t *order)
{
	X509 *below = leaf;
	size_t k = 0, i, j;
	bool used;

	if (self_signed(leaf))
		return 0;
	while (k < n) {
		for (i = 0; i < n; i++) {
			for (j = 0, used = false; j < k; j++)
				used = used || order[j] == i;
			if (!used && X509_cmp(chain[i], leaf) != 0 && chain_issued(chain[i], below))
				break;
		}
		if (i == n)
			break;
		order[k++] = i;
		below = chain[i];
		if (self_signed(below))
			break;
	}
	return k;
}

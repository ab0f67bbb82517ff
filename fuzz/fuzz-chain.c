/*
 * fuzz-chain.c - the issuer path that certificates.install builds through a
 * page's "chain" (pkcs11/chain.c): which CA certificates go onto a token
 * next to a certificate.
 *
 * Input: certificates, each a 2-byte big-endian length and that many bytes
 * of DER; the first is the certificate, the next (at most 16, as
 * PROTO_CHAIN_MAX) the chain.  Parts that are not one whole certificate are
 * skipped, as x509_parse() would refuse them.
 *
 * Properties: the path has at most as many steps as the chain, never uses
 * a certificate twice nor the certificate itself; each step is a CA
 * certificate that issued the one below it (name and signature: it
 * verifies); the same input gives the same path.
 */
#include "config.h"

#include <string.h>

#include <openssl/err.h>
#include <openssl/x509v3.h>

#include "fuzz/fuzz.h"
#include "pkcs11/chain.h"

#define CHAIN_MAX 16

static size_t
read_certificates(const uint8_t *data, size_t size, X509 **out, size_t max)
{
	const unsigned char *p;
	size_t at = 0, len, n = 0;
	X509 *x;

	while (n < max && size - at >= 2) {
		len = (size_t)data[at] << 8 | data[at + 1];
		at += 2;
		if (len > size - at)
			break;
		p = data + at;
		if ((x = d2i_X509(NULL, &p, (long)len)) != NULL && p == data + at + len)
			out[n++] = x;
		else
			X509_free(x);
		at += len;
	}
	ERR_clear_error();
	return n;
}

static void
check_path(X509 *leaf, X509 **chain, size_t n, const size_t *order, size_t k)
{
	X509 *below = leaf;
	size_t i, j;

	FUZZ_CHECK(k <= n);
	for (i = 0; i < k; i++) {
		FUZZ_CHECK(order[i] < n);
		for (j = 0; j < i; j++)
			FUZZ_CHECK(order[j] != order[i]);
		FUZZ_CHECK(X509_cmp(chain[order[i]], leaf) != 0);
		FUZZ_CHECK(X509_check_ca(chain[order[i]]) != 0);
		FUZZ_CHECK(X509_verify(below, X509_get0_pubkey(chain[order[i]])) == 1);
		below = chain[order[i]];
	}
	ERR_clear_error();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	X509 *certs[CHAIN_MAX + 1];
	size_t order[CHAIN_MAX], again[CHAIN_MAX], n, k, i;

	n = read_certificates(data, size, certs, CHAIN_MAX + 1);
	if (n > 0) {
		k = chain_path(certs[0], certs + 1, n - 1, order);
		check_path(certs[0], certs + 1, n - 1, order, k);
		FUZZ_CHECK(chain_path(certs[0], certs + 1, n - 1, again) == k);
		FUZZ_CHECK(memcmp(order, again, k * sizeof(order[0])) == 0);
	}
	for (i = 0; i < n; i++)
		X509_free(certs[i]);
	ERR_clear_error();
	return 0;
}

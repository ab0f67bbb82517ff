/*
 * fuzz-subject.c - params.subject of keys.generate, from the page's JSON to
 * the X.509 name that goes into the certificate request.
 *
 * The input is the subject object's JSON text.  It is put into a whole
 * keys.generate request and goes through the daemon (proto_parse_request,
 * proto_method_check with the row of protocol/methods.c) and, when the
 * daemon lets it through, into the frame the helper reads; the helper
 * checks it again with the same row and builds the name with pkcs11/csr.c's
 * csr_subject().  Objects the daemon's parser refuses are read as the
 * helper's parser reads them and go through the helper's check too.
 * csr_prepare(), which puts the name in a request, is static in csr.c next
 * to the token signing code, so its OpenSSL calls are repeated here with a
 * key made once.
 *
 * Properties: a refusal is INVALID_PARAMS naming a params.subject field in
 * printable ASCII; the daemon and the helper agree; csr_subject() never
 * refuses what the table accepts; an accepted name holds exactly the fields
 * given, each with the very text given (C upper-cased), survives DER
 * encoding, and every text derived from it for the page is valid UTF-8
 * without controls.
 */
#include "config.h"

#include <ctype.h>
#include <string.h>

#include <json-c/json.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "fuzz/fuzz.h"
#include "protocol/cberr.h"
#include "protocol/jsonrpc.h"
#include "protocol/params.h"
#include "protocol/methods.h"
#include "pkcs11/csr.h"
#include "pkcs11/field.h"
#include "pkcs11/request.h"
#include "pkcs11/x509.h"

/*
 * The oracle: each subject key and the attribute it must become, written
 * here on purpose rather than read from csr.c, so a wrong row there shows.
 */
static const struct {
	const char *key;
	int nid;
} attributes[] = {
    {"C", NID_countryName},
    {"ST", NID_stateOrProvinceName},
    {"L", NID_localityName},
    {"O", NID_organizationName},
    {"OU", NID_organizationalUnitName},
    {"CN", NID_commonName},
    {"SN", NID_surname},
    {"GN", NID_givenName},
    {"serialNumber", NID_serialNumber},
    {"emailAddress", NID_pkcs9_emailAddress},
};

#define REQUEST_HEAD                                                                               \
	"{\"jsonrpc\":\"2.0\",\"id\":7,\"method\":\"keys.generate\",\"params\":"                   \
	"{\"token\":\"pkcs11:token=Fuzz\",\"algorithm\":{\"type\":\"ec\",\"curve\":\"P-256\"},"    \
	"\"subject\":"
#define REQUEST_TAIL "}}"

static EVP_PKEY *key; /* the token key's public half, made once */

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc, (void)argv;
	if ((key = EVP_EC_gen("P-256")) == NULL)
		abort();
	return 0;
}

/* How pkcs11/helper.c reads the daemon's frame. */
static struct json_object *
helper_parse(const char *text, size_t len)
{
	struct proto_failure fail;

	return proto_parse_object(text, len, PROTO_DEFAULT_MAX_DEPTH, &fail);
}

/* The daemon's verdict on the whole request; its params when it accepts. */
static struct json_object *
daemon_params(const uint8_t *data, size_t size)
{
	struct proto_limits lim = {PROTO_DEFAULT_MAX_MESSAGE, PROTO_DEFAULT_MAX_DEPTH};
	struct proto_request *req = NULL;
	struct proto_failure fail;
	struct json_object *params = NULL;
	size_t hlen = strlen(REQUEST_HEAD), tlen = strlen(REQUEST_TAIL);
	char *text, why[200];

	if ((text = malloc(hlen + size + tlen)) == NULL)
		return NULL;
	memcpy(text, REQUEST_HEAD, hlen);
	memcpy(text + hlen, data, size);
	memcpy(text + hlen + size, REQUEST_TAIL, tlen);
	if (proto_parse_request(text, hlen + size + tlen, &lim, &req, &fail) != 0)
		proto_failure_clear(&fail);
	else if (strcmp(req->method, "keys.generate") == 0 &&
		 proto_method_check(proto_method_find(req->method, PROTO_M_PAGE), req->params, why,
		     sizeof(why)) == 0)
		params = json_object_get(req->params);
	proto_request_free(req);
	free(text);
	return params;
}

/* The subject as the helper reads it out of the daemon's frame. */
static struct json_object *
helper_subject(struct json_object *params)
{
	struct json_object *root, *p, *subject;
	const char *text = json_object_to_json_string_ext(params, JSON_C_TO_STRING_PLAIN);

	root = helper_parse(text, strlen(text));
	FUZZ_CHECK(root != NULL && json_object_equal(root, params));
	if (!json_object_object_get_ex(root, "subject", &subject) ||
	    !json_object_is_type(subject, json_type_object)) {
		json_object_put(root);
		return NULL;
	}
	p = json_object_get(subject);
	json_object_put(root);
	return p;
}

/* Each field given is in the name once, with the very text given. */
static void
check_fields(struct json_object *subject, X509_NAME *name)
{
	struct json_object *v;
	unsigned char *utf8;
	char want[3];
	const char *s;
	int i, len, count = 0;
	size_t k;

	for (k = 0; k < sizeof(attributes) / sizeof(attributes[0]); k++) {
		i = X509_NAME_get_index_by_NID(name, attributes[k].nid, -1);
		if (!json_object_object_get_ex(subject, attributes[k].key, &v) || v == NULL) {
			FUZZ_CHECK(i < 0);
			continue;
		}
		count++;
		FUZZ_CHECK(i >= 0 && X509_NAME_get_index_by_NID(name, attributes[k].nid, i) < 0);
		s = json_object_get_string(v);
		if (attributes[k].nid == NID_countryName) {
			want[0] = (char)toupper((unsigned char)s[0]);
			want[1] = (char)toupper((unsigned char)s[1]);
			want[2] = '\0';
			s = want;
		}
		len = ASN1_STRING_to_UTF8(
		    &utf8, X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, i)));
		FUZZ_CHECK(len >= 0 && (size_t)len == strlen(s) && memcmp(utf8, s, len) == 0);
		OPENSSL_free(utf8);
	}
	FUZZ_CHECK(X509_NAME_entry_count(name) == count);
}

/* DER round trip, the texts for the page, and the unsigned request. */
static void
check_name(X509_NAME *name)
{
	unsigned char *der = NULL, *tbs = NULL;
	const unsigned char *p;
	X509_NAME *back;
	X509_REQ *csr;
	char *text;
	int len;

	FUZZ_CHECK((len = i2d_X509_NAME(name, &der)) > 0);
	p = der;
	FUZZ_CHECK((back = d2i_X509_NAME(NULL, &p, len)) != NULL && p == der + len);
	FUZZ_CHECK(X509_NAME_cmp(name, back) == 0);
	X509_NAME_free(back);
	OPENSSL_free(der);
	FUZZ_CHECK((text = x509_name_text(name)) != NULL && proto_text_ok(text, strlen(text)));
	free(text);
	if ((text = x509_common_name(name)) != NULL)
		FUZZ_CHECK(proto_text_ok(text, strlen(text)));
	free(text);
	FUZZ_CHECK((csr = X509_REQ_new()) != NULL);
	FUZZ_CHECK(X509_REQ_set_version(csr, X509_REQ_VERSION_1) == 1 &&
		   X509_REQ_set_subject_name(csr, name) == 1 && X509_REQ_set_pubkey(csr, key) == 1);
	FUZZ_CHECK(i2d_re_X509_REQ_tbs(csr, &tbs) > 0);
	OPENSSL_free(tbs);
	X509_REQ_free(csr);
}

/* The helper's check of a keys.generate whose subject is subject (owned). */
static int
helper_check(struct json_object *subject, char *why, size_t whylen)
{
	struct json_object *params = json_object_new_object(), *alg = json_object_new_object();
	int r;

	json_object_object_add(alg, "type", json_object_new_string("RSA"));
	json_object_object_add(alg, "bits", json_object_new_int(2048));
	json_object_object_add(params, "token", json_object_new_string("pkcs11:token=t"));
	json_object_object_add(params, "algorithm", alg);
	json_object_object_add(params, "subject", json_object_get(subject));
	r = proto_method_check(
	    proto_method_find("keys.generate", PROTO_M_HELPER), params, why, whylen);
	json_object_put(params);
	return r;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct json_object *params, *subject = NULL;
	struct request req;
	X509_NAME *name = NULL;
	char why[PROTO_PARAMS_WHY_MAX];
	bool daemon_ok;
	int r;

	if ((params = daemon_params(data, size)) != NULL)
		subject = helper_subject(params);
	else
		subject = helper_parse((const char *)data, size);
	daemon_ok = params != NULL;
	json_object_put(params);
	if (subject == NULL || !json_object_is_type(subject, json_type_object)) {
		FUZZ_CHECK(!daemon_ok || subject == NULL);
		json_object_put(subject);
		return 0;
	}
	r = helper_check(subject, why, sizeof(why));
	FUZZ_CHECK(!daemon_ok || r == 0);
	if (r != 0) {
		FUZZ_CHECK(r == CB_ERR_INVALID_PARAMS);
		FUZZ_CHECK(strncmp(why, "params.subject", 14) == 0 && fuzz_printable(why));
		json_object_put(subject);
		return 0;
	}
	memset(&req, 0, sizeof(req));
	r = csr_subject(&req, subject, &name);
	FUZZ_CHECK(r == 0 || r == CB_ERR_ALLOC);
	if (r == 0) {
		FUZZ_CHECK(name != NULL);
		check_fields(subject, name);
		check_name(name);
	}
	X509_NAME_free(name);
	json_object_put(subject);
	return 0;
}

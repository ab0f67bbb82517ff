/*
 * p11-baseline.c - the keys.generate baseline for `make bench`: the same
 * PKCS#11 calls cardbridge-pkcs11-helper makes for keys.generate (as
 * recorded with OpenSC's pkcs11-spy), made directly by a small program
 * with no WebSocket, no IPC, no dialog and no CSR encoding.
 *
 *   p11-baseline --module PATH --token LABEL --pin PIN [--label L]
 *
 * dlopen()s the module, C_Initialize and finds the token's slot once, then
 * reads commands on stdin, one per line, and answers one line each:
 *
 *   ec | rsa        one timed key generation:
 *                   C_OpenSession(RW) C_Login C_GenerateKeyPair (the helper's
 *                   templates) C_GetAttributeValue (CKA_SENSITIVE,
 *                   CKA_EXTRACTABLE, CKA_KEY_TYPE, the public key, CKA_ID;
 *                   size then value, as the helper does) SHA-1 of the public
 *                   key, C_SetAttributeValue(CKA_ID) on both objects,
 *                   C_SignInit/C_Sign (CKM_ECDSA over a SHA-256 digest, or
 *                   CKM_SHA256_RSA_PKCS) of a 300-byte to-be-signed blob,
 *                   C_Logout C_CloseSession.
 *                   Then, untimed, the two objects are destroyed.
 *                   Answer: "ok NANOSECONDS KEYIDHEX"
 *   destroy HEXID   destroy every object with this CKA_ID (untimed
 *                   clean-up of keys cardbridge made).  Answer: "ok N"
 *   quit
 *
 * Errors answer "err TEXT".  Exits at end of input.
 */
#include "config.h"

#include <dlfcn.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/sha.h>
#include <p11-kit/pkcs11.h>

static CK_FUNCTION_LIST *p11;
static long destroy_id(const uint8_t *id, size_t n);
static CK_SLOT_ID slot;
static const char *pin, *label = "bench";

static uint64_t
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static bool
ck(CK_RV rv, const char *what)
{
	if (rv == CKR_OK)
		return true;
	printf("err %s: 0x%lx\n", what, (unsigned long)rv);
	fflush(stdout);
	return false;
}

static bool
load(const char *module, const char *token)
{
	CK_RV (*get_list)(CK_FUNCTION_LIST_PTR_PTR);
	CK_C_INITIALIZE_ARGS args;
	CK_SLOT_ID slots[64];
	CK_ULONG n = 64, i;
	CK_TOKEN_INFO info;
	char want[32];
	void *h;

	if ((h = dlopen(module, RTLD_NOW | RTLD_LOCAL)) == NULL) {
		fprintf(stderr, "p11-baseline: %s\n", dlerror());
		return false;
	}
	*(void **)&get_list = dlsym(h, "C_GetFunctionList");
	if (get_list == NULL || get_list(&p11) != CKR_OK)
		return false;
	memset(&args, 0, sizeof(args));
	args.flags = CKF_OS_LOCKING_OK; /* as p11-kit initialises the helper's module */
	if (!ck(p11->C_Initialize(&args), "C_Initialize") ||
	    !ck(p11->C_GetSlotList(CK_TRUE, slots, &n), "C_GetSlotList"))
		return false;
	memset(want, ' ', sizeof(want));
	memcpy(want, token, strlen(token) < sizeof(want) ? strlen(token) : sizeof(want));
	for (i = 0; i < n; i++)
		if (p11->C_GetTokenInfo(slots[i], &info) == CKR_OK &&
		    memcmp(info.label, want, sizeof(want)) == 0) {
			slot = slots[i];
			return true;
		}
	fprintf(stderr, "p11-baseline: no token labelled \"%s\"\n", token);
	return false;
}

/* Size, then value: the helper's session_get_attr(). */
static bool
get_attr(
    CK_SESSION_HANDLE s, CK_OBJECT_HANDLE o, CK_ATTRIBUTE_TYPE type, uint8_t *buf, CK_ULONG *len)
{
	CK_ATTRIBUTE a = {type, NULL, 0};

	if (!ck(p11->C_GetAttributeValue(s, o, &a, 1), "C_GetAttributeValue(size)"))
		return false;
	if (a.ulValueLen > *len) {
		printf("err attribute too large\n");
		return false;
	}
	a.pValue = buf;
	if (!ck(p11->C_GetAttributeValue(s, o, &a, 1), "C_GetAttributeValue"))
		return false;
	*len = a.ulValueLen;
	return true;
}

/* An attribute whose value we only need to have read. */
static bool
get_any(CK_SESSION_HANDLE s, CK_OBJECT_HANDLE o, CK_ATTRIBUTE_TYPE type)
{
	uint8_t buf[1024];
	CK_ULONG len = sizeof(buf);

	return get_attr(s, o, type, buf, &len);
}

static bool
login_session(CK_SESSION_HANDLE *s)
{
	if (!ck(p11->C_OpenSession(slot, CKF_SERIAL_SESSION | CKF_RW_SESSION, NULL, NULL, s),
		"C_OpenSession"))
		return false;
	if (!ck(p11->C_Login(*s, CKU_USER, (CK_UTF8CHAR_PTR)pin, strlen(pin)), "C_Login")) {
		p11->C_CloseSession(*s);
		return false;
	}
	return true;
}

static void
end_session(CK_SESSION_HANDLE s)
{
	p11->C_Logout(s);
	p11->C_CloseSession(s);
}

static void
generate(bool rsa)
{
	static CK_BBOOL yes = CK_TRUE, no = CK_FALSE;
	static CK_BYTE exponent[] = {0x01, 0x00, 0x01};
	/* prime256v1, as the helper's pubkey_ec_params() encodes it */
	static CK_BYTE p256[] = {0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07};
	CK_ULONG bits = 2048, npub = 0, npriv = 0, sig_len;
	CK_ATTRIBUTE pub[12], priv[12], id_attr;
	CK_MECHANISM gen = {rsa ? CKM_RSA_PKCS_KEY_PAIR_GEN : CKM_EC_KEY_PAIR_GEN, NULL, 0};
	CK_MECHANISM sign = {rsa ? CKM_SHA256_RSA_PKCS : CKM_ECDSA, NULL, 0};
	CK_OBJECT_HANDLE hpub = 0, hpriv = 0;
	CK_SESSION_HANDLE s;
	uint8_t point[1024], tbs[300], digest[SHA256_DIGEST_LENGTH], id[SHA_DIGEST_LENGTH],
	    sig[1024];
	CK_ULONG point_len = sizeof(point);
	uint64_t t0, t1;
	char hex[2 * SHA_DIGEST_LENGTH + 1];
	size_t i;
	bool made = false, ok = false;

#define ADD(t, n, ty, v, l)                                                                        \
	((t)[(n)].type = (ty), (t)[(n)].pValue = (void *)(v), (t)[(n)].ulValueLen = (CK_ULONG)(l), \
	    (n)++)
	ADD(pub, npub, CKA_TOKEN, &yes, sizeof(yes));
	ADD(pub, npub, CKA_PRIVATE, &no, sizeof(no));
	ADD(pub, npub, CKA_VERIFY, &yes, sizeof(yes));
	ADD(pub, npub, CKA_LABEL, label, strlen(label));
	ADD(priv, npriv, CKA_TOKEN, &yes, sizeof(yes));
	ADD(priv, npriv, CKA_PRIVATE, &yes, sizeof(yes));
	ADD(priv, npriv, CKA_SENSITIVE, &yes, sizeof(yes));
	ADD(priv, npriv, CKA_EXTRACTABLE, &no, sizeof(no));
	ADD(priv, npriv, CKA_SIGN, &yes, sizeof(yes));
	ADD(priv, npriv, CKA_LABEL, label, strlen(label));
	if (rsa) {
		ADD(pub, npub, CKA_ENCRYPT, &yes, sizeof(yes));
		ADD(pub, npub, CKA_MODULUS_BITS, &bits, sizeof(bits));
		ADD(pub, npub, CKA_PUBLIC_EXPONENT, exponent, sizeof(exponent));
		ADD(priv, npriv, CKA_DECRYPT, &yes, sizeof(yes));
	} else {
		ADD(pub, npub, CKA_EC_PARAMS, p256, sizeof(p256));
		ADD(priv, npriv, CKA_DERIVE, &yes, sizeof(yes));
	}
	for (i = 0; i < sizeof(tbs); i++)
		tbs[i] = (uint8_t)(i * 7 + 1);

	t0 = now_ns();
	if (!login_session(&s))
		return;
	if (!ck(p11->C_GenerateKeyPair(s, &gen, pub, npub, priv, npriv, &hpub, &hpriv),
		"C_GenerateKeyPair"))
		goto out;
	made = true;
	if (!get_any(s, hpriv, CKA_SENSITIVE) || !get_any(s, hpriv, CKA_EXTRACTABLE) ||
	    !get_any(s, hpub, CKA_KEY_TYPE))
		goto out;
	/* The public key: CKA_MODULUS or CKA_EC_POINT is what the key ID is made from. */
	if (rsa ? !get_attr(s, hpub, CKA_MODULUS, point, &point_len) ||
		      !get_any(s, hpub, CKA_PUBLIC_EXPONENT)
		: !get_any(s, hpub, CKA_EC_PARAMS) ||
		      !get_attr(s, hpub, CKA_EC_POINT, point, &point_len))
		goto out;
	if (!get_any(s, hpriv, CKA_ID))
		goto out;
	/* The NSS-style ID: SHA-1 of the modulus or of the bare EC point. */
	if (rsa)
		SHA1(point, point_len, id);
	else if (point_len > 2 && point[0] == 0x04)
		SHA1(point + 2 + (point[1] == 0x81), point_len - 2 - (point[1] == 0x81), id);
	else
		SHA1(point, point_len, id);
	id_attr.type = CKA_ID;
	id_attr.pValue = id;
	id_attr.ulValueLen = sizeof(id);
	if (!ck(p11->C_SetAttributeValue(s, hpriv, &id_attr, 1), "C_SetAttributeValue") ||
	    !ck(p11->C_SetAttributeValue(s, hpub, &id_attr, 1), "C_SetAttributeValue"))
		goto out;
	sig_len = sizeof(sig);
	if (rsa) {
		if (!ck(p11->C_SignInit(s, &sign, hpriv), "C_SignInit") ||
		    !ck(p11->C_Sign(s, tbs, sizeof(tbs), sig, &sig_len), "C_Sign"))
			goto out;
	} else {
		SHA256(tbs, sizeof(tbs), digest);
		if (!ck(p11->C_SignInit(s, &sign, hpriv), "C_SignInit") ||
		    !ck(p11->C_Sign(s, digest, sizeof(digest), sig, &sig_len), "C_Sign"))
			goto out;
	}
	ok = true;
out:
	if (made && !ok) { /* failed half-way: leave nothing behind */
		p11->C_DestroyObject(s, hpriv);
		p11->C_DestroyObject(s, hpub);
	}
	end_session(s);
	t1 = now_ns();
	/* Handles die with the last session (SoftHSM): find the pair again by CKA_ID. */
	if (ok) {
		destroy_id(id, sizeof(id));
		for (i = 0; i < sizeof(id); i++)
			snprintf(hex + 2 * i, 3, "%02x", id[i]);
		printf("ok %llu %s\n", (unsigned long long)(t1 - t0), hex);
	}
	fflush(stdout);
}

/* Destroy every object with this CKA_ID, untimed; returns how many or -1. */
static long
destroy_id(const uint8_t *id, size_t n)
{
	CK_ATTRIBUTE tmpl = {CKA_ID, (void *)id, (CK_ULONG)n};
	CK_OBJECT_HANDLE found[16];
	CK_ULONG count = 0, i;
	CK_SESSION_HANDLE s;

	if (!login_session(&s))
		return -1;
	if (ck(p11->C_FindObjectsInit(s, &tmpl, 1), "C_FindObjectsInit")) {
		p11->C_FindObjects(s, found, 16, &count);
		p11->C_FindObjectsFinal(s);
	}
	for (i = 0; i < count; i++)
		p11->C_DestroyObject(s, found[i]);
	end_session(s);
	return (long)count;
}

static void
destroy(const char *hex)
{
	uint8_t id[64];
	size_t n = 0;
	unsigned int byte;
	long count;

	while (n < sizeof(id) && sscanf(hex + 2 * n, "%2x", &byte) == 1)
		id[n++] = (uint8_t)byte;
	if (n == 0) {
		printf("err bad id\n");
	} else if ((count = destroy_id(id, n)) >= 0) {
		printf("ok %ld\n", count);
	}
	fflush(stdout);
}

int
main(int argc, char **argv)
{
	const char *module = NULL, *token = NULL;
	char line[256];
	int i;

	for (i = 1; i + 1 < argc; i += 2) {
		if (strcmp(argv[i], "--module") == 0)
			module = argv[i + 1];
		else if (strcmp(argv[i], "--token") == 0)
			token = argv[i + 1];
		else if (strcmp(argv[i], "--pin") == 0)
			pin = argv[i + 1];
		else if (strcmp(argv[i], "--label") == 0)
			label = argv[i + 1];
		else
			break;
	}
	if (i != argc || module == NULL || token == NULL || pin == NULL) {
		fprintf(stderr, "usage: p11-baseline --module PATH --token LABEL --pin PIN "
				"[--label L]\n");
		return 2;
	}
	if (!load(module, token))
		return 1;
	printf("ready\n");
	fflush(stdout);
	while (fgets(line, sizeof(line), stdin) != NULL) {
		line[strcspn(line, "\r\n")] = '\0';
		if (strcmp(line, "ec") == 0)
			generate(false);
		else if (strcmp(line, "rsa") == 0)
			generate(true);
		else if (strncmp(line, "destroy ", 8) == 0)
			destroy(line + 8);
		else if (strcmp(line, "quit") == 0)
			break;
		else {
			printf("err unknown command\n");
			fflush(stdout);
		}
	}
	p11->C_Finalize(NULL);
	return 0;
}

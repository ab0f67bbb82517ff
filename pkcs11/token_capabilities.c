/*
 * token_capabilities.c - what a token can do, as its module reports it:
 * the mechanisms for key generation and signing and their key sizes, and
 * the rules of OpenSC's OpenPGP card emulation (which PIN writes, fixed key
 * slots).  keys.generate checks these before it asks for a PIN, and
 * tokens.list offers only what they allow.
 *
 * Reads CK_MECHANISM_INFO and the token's fields without a lock, like
 * token.c.  Must never: change anything on the token, or decide from a
 * token's label what the token is (a user chooses labels), except which
 * fixed slot a key goes to, where OpenSC's label is all that tells.
 */
#include "config.h"

#include <string.h>

#include "pkcs11/token.h"
#include "pkcs11/token_capabilities.h"

static bool
mechanism_info(const struct token *t, CK_MECHANISM_TYPE type, CK_MECHANISM_INFO *info)
{
	return t->module->funcs->C_GetMechanismInfo(t->slot, type, info) == CKR_OK;
}

bool
token_has_mechanism(const struct token *t, CK_MECHANISM_TYPE type, CK_FLAGS flags)
{
	CK_MECHANISM_INFO info;

	return mechanism_info(t, type, &info) && (info.flags & flags) == flags;
}

/* ulMin/MaxKeySize of 0 means the module did not say: take it as no limit. */
static bool
size_in_range(const CK_MECHANISM_INFO *info, unsigned long bits)
{
	if (info->ulMaxKeySize == 0)
		return true;
	return bits >= info->ulMinKeySize && bits <= info->ulMaxKeySize;
}

bool
token_supports_rsa(const struct token *t, unsigned long bits)
{
	CK_MECHANISM_INFO info;

	if (!mechanism_info(t, CKM_RSA_PKCS_KEY_PAIR_GEN, &info) || !size_in_range(&info, bits))
		return false;
	return token_has_mechanism(t, CKM_SHA256_RSA_PKCS, CKF_SIGN) ||
	       token_has_mechanism(t, CKM_RSA_PKCS, CKF_SIGN);
}

bool
token_generates_ec(const struct token *t, unsigned long bits)
{
	CK_MECHANISM_INFO info;

	return mechanism_info(t, CKM_EC_KEY_PAIR_GEN, &info) && size_in_range(&info, bits);
}

/*
 * A CSR is signed with ECDSA over SHA-256, so the token must offer raw
 * ECDSA (we hash) or ECDSA-SHA256 (it hashes).  OpenSC 0.23 offers an
 * IsoApplet card ECDSA-SHA1 only: such a token makes EC keys it cannot sign
 * a CSR with, and is offered RSA alone.
 */
bool
token_supports_ec(const struct token *t, unsigned long bits)
{
	static const CK_MECHANISM_TYPE signers[] = {CKM_ECDSA, CKM_ECDSA_SHA256};
	CK_MECHANISM_INFO info;
	size_t i;

	if (!token_generates_ec(t, bits))
		return false;
	for (i = 0; i < sizeof(signers) / sizeof(signers[0]); i++)
		if (mechanism_info(t, signers[i], &info) && (info.flags & CKF_SIGN) &&
		    size_in_range(&info, bits))
			return true;
	return false;
}

/*
 * OpenSC's PKCS#15 emulation of an OpenPGP card, recognised by what the
 * token reports (OpenSC fills in these two fields for this card only), not
 * by its label, which a user can choose on other tokens.  Its rules, as
 * OpenSC 0.23 implements them:
 *   - keys and certificates are written with the admin PIN (PW3, CKU_SO);
 *   - keys live in three fixed slots, CKA_ID 01 signature, 02 decryption,
 *     03 authentication; one PKCS#11 token per user PIN: "... (User PIN
 *     (sig))" shows key 01, "... (User PIN)" keys 02 and 03;
 *   - a key or certificate over an ID in use fails ("Non unique object
 *     ID"), and C_DestroyObject answers CKR_OK without touching the card,
 *     so nothing can be replaced or deleted through PKCS#11;
 *   - after C_GenerateKeyPair the module's own objects for the new key are
 *     wrong (garbage CKA_EC_POINT, C_Sign -> CKR_ARGUMENTS_BAD) until the
 *     module reads the card again.
 */
bool
token_is_openpgp_card(const struct token *t)
{
	return strcmp(t->manufacturer, "OpenPGP project") == 0 &&
	       strcmp(t->model, "PKCS#15 emulated") == 0;
}

/*
 * Which PIN writes keys and certificates: the admin PIN (CKU_SO) on
 * OpenSC's OpenPGP emulation, the user PIN everywhere else.  The PIN that
 * signs with a key is always the user PIN.
 */
CK_USER_TYPE
token_user_for_writing(const struct token *t)
{
	return token_is_openpgp_card(t) ? CKU_SO : CKU_USER;
}

/*
 * The slot a new key goes to on a fixed-slot token.  A portal key needs a
 * CSR, so it must be able to sign: slot 01 (signature) on the token of the
 * signature PIN, slot 03 (authentication, INTERNAL AUTHENTICATE) on the
 * token of the other user PIN.  Slot 02 (decryption) is never chosen: its
 * key cannot sign its own certificate request.  OpenSC names the signature
 * PIN's token "<card> (User PIN (sig))".
 */
bool
token_fixed_key_slot(const struct token *t, CK_BYTE *id, CK_ULONG *id_len)
{
	if (!token_is_openpgp_card(t))
		return false;
	id[0] = strstr(t->label, "(sig)") != NULL ? 0x01 : 0x03;
	*id_len = 1;
	return true;
}

/*
 * isoapplet.c - the IsoApplet personality: a Java Card running Philip
 * Wendland's IsoApplet v0.6.1 (API 00.06), the applet OpenSC 0.23's
 * "isoApplet" card driver and pkcs15-init profile are written for. This
 * file has the instruction table and the applet's own commands: SELECT of
 * the applet, VERIFY, CHANGE REFERENCE DATA, RESET RETRY COUNTER, MANAGE
 * SECURITY ENVIRONMENT, GENERATE ASYMMETRIC KEY PAIR (INS 46), PERFORM
 * SECURITY OPERATION, PUT DATA and GET CHALLENGE. The file system is in
 * isofs.c, the curve handling in isokeys.c.
 *
 * The applet's rules, kept here as it has them: a life cycle CREATION ->
 * (PUK set) INITIALISATION -> (PIN set) OPERATIONAL, all three set through
 * CHANGE REFERENCE DATA with P1=01; one PIN (reference 01, 4..16 bytes,
 * stored zero-padded to 16, 3 tries) and one PUK (exactly 16 bytes, 5
 * tries); a blocked PIN answers 63C0, never 6983; keys 0..15 are not files
 * and need the verified PIN to be generated or used; key import is refused
 * (6900) as in the applet's default build; no extended APDUs (the applet
 * chains commands for 2A, 46 and DB only and answers 61xx for the rest).
 *
 * PIN and PUK values never reach a log line from here.
 */
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "vcard.h"

#define ISO_ALG_GEN_RSA_2048 0xf3
#define ISO_ALG_RSA_PAD_PKCS1 0x11
#define ISO_ALG_GEN_EC 0xec
#define ISO_ALG_ECDSA_SHA1 0x21

static const uint8_t iso_aid[] = {
    0xf2, 0x76, 0xa2, 0x88, 0xbc, 0xfb, 0xa6, 0x9d, 0x34, 0xf3, 0x10, 0x01};

/* What SELECT of the applet answers: API 00.06; features: secure random
 * (02) and ECC (04), no extended APDUs (the applet's default build). */
static const uint8_t iso_select_answer[] = {0x00, 0x06, 0x06};

/* T=0 and T=1, historical bytes "cb-IsoApplet" (a virtual card's own). */
static const uint8_t iso_atr[] = {0x3b, 0x8c, 0x80, 0x01, 0x63, 0x62, 0x2d, 0x49, 0x73, 0x6f, 0x41,
    0x70, 0x70, 0x6c, 0x65, 0x74, 0x48};

static uint16_t handle_iso_select(
    struct vcard_card *card, const struct apdu *cmd, struct vcard_buf *resp);
static uint16_t handle_iso_verify(
    struct vcard_card *card, const struct apdu *cmd, struct vcard_buf *resp);
static uint16_t handle_iso_change_reference_data(
    struct vcard_card *card, const struct apdu *cmd, struct vcard_buf *resp);
static uint16_t handle_iso_reset_retry_counter(
    struct vcard_card *card, const struct apdu *cmd, struct vcard_buf *resp);
static uint16_t handle_iso_mse(
    struct vcard_card *card, const struct apdu *cmd, struct vcard_buf *resp);
static uint16_t handle_iso_generate(
    struct vcard_card *card, const struct apdu *cmd, struct vcard_buf *resp);
static uint16_t handle_iso_pso(
    struct vcard_card *card, const struct apdu *cmd, struct vcard_buf *resp);
static uint16_t handle_iso_put_data(
    struct vcard_card *card, const struct apdu *cmd, struct vcard_buf *resp);
static uint16_t handle_iso_get_challenge(
    struct vcard_card *card, const struct apdu *cmd, struct vcard_buf *resp);
static uint16_t iso_precheck(struct vcard_card *card, const struct apdu *cmd);

/* The applet's process() switch. */
static const struct vcard_command iso_commands[] = {
    {0xa4, handle_iso_select, 0},
    {0xb0, handle_iso_read_binary, 0},
    {0x20, handle_iso_verify, SECRET_DATA | PERSISTS},
    {0x22, handle_iso_mse, 0},
    {0x2a, handle_iso_pso, CHAINS},
    {0xe0, handle_iso_create_file, PERSISTS},
    {0xd6, handle_iso_update_binary, PERSISTS},
    {0x24, handle_iso_change_reference_data, SECRET_DATA | PERSISTS},
    {0xe4, handle_iso_delete_file, PERSISTS},
    {0x46, handle_iso_generate, CHAINS | PERSISTS},
    {0x2c, handle_iso_reset_retry_counter, SECRET_DATA | PERSISTS},
    {0xdb, handle_iso_put_data, CHAINS | SECRET_DATA},
    {0x84, handle_iso_get_challenge, 0},
};

/* Interindustry CLA only (b8 = 0); chaining only where the applet allows. */
const struct vcard_personality vcard_isoapplet = {
    .name = "isoapplet",
    .atr = iso_atr,
    .atr_len = sizeof(iso_atr),
    .commands = iso_commands,
    .n_commands = ARRAY_SIZE(iso_commands),
    .cla_reserved = 0x80,
    .chain_any = false,
    .precheck = iso_precheck,
    .reset_volatile = iso_reset_volatile,
};

/* Power on, reset, or the applet deselected: CLEAR_ON_DESELECT state. */
void
iso_reset_volatile(struct vcard_card *card)
{
	struct iso_card *iso = &card->iso;

	iso->selected = false;
	iso->pin_validated = false;
	iso->fs_authenticated = false;
	iso->se_algorithm = 0;
	iso->se_key = -1;
	isofs_select_mf(iso);
	card->chain_len = 0;
	card->pending.len = 0;
	card->pending_off = 0;
}

/*
 * Before the applet is selected the card manager answers (6D00 for what
 * it does not know). While a long answer waits for GET RESPONSE the
 * applet refuses anything else (6900), and GET RESPONSE needs the PIN.
 */
static uint16_t
iso_precheck(struct vcard_card *card, const struct apdu *cmd)
{
	if (!card->iso.selected && cmd->ins != 0xa4)
		return SW_INS_NOT_SUPPORTED;
	if (cmd->ins == 0xc0)
		return card->iso.pin_validated ? SW_OK : SW_SECURITY_NOT_SATISFIED;
	if (card->pending.len > card->pending_off)
		return SW_COMMAND_NOT_ALLOWED_GENERAL;
	return SW_OK;
}

static uint16_t
handle_iso_select(struct vcard_card *card, const struct apdu *cmd, struct vcard_buf *resp)
{
	struct iso_card *iso = &card->iso;

	/* The JCRE selects the applet by its AID or a prefix of it. */
	if (cmd->p1 == 0x04 && (cmd->p2 & 0x03) == 0 && cmd->lc >= 5 &&
	    cmd->lc <= sizeof(iso_aid) && memcmp(cmd->data, iso_aid, cmd->lc) == 0) {
		iso_reset_volatile(card);
		iso->selected = true;
		iso->fs_authenticated = iso->life_cycle != ISO_OPERATIONAL;
		buf_put(resp, iso_select_answer, sizeof(iso_select_answer));
		return SW_OK;
	}
	if (!iso->selected)
		return SW_FILE_NOT_FOUND;
	return handle_iso_select_file(card, cmd, resp);
}

static uint16_t
iso_tries_sw(const struct iso_pin *pin)
{
	return (uint16_t)(0x63c0 | pin->tries);
}

/*
 * OwnerPIN.check: a try is spent before comparing and given back on
 * success; a blocked PIN just fails. The value is compared zero-padded to
 * 16 bytes, the way the applet pads it.
 */
static bool
iso_pin_check(struct vcard_card *card, struct iso_pin *pin, const uint8_t *value, size_t len)
{
	uint8_t padded[ISO_PIN_LEN] = {0};
	uint8_t before = pin->tries;
	bool ok;

	if (pin->tries == 0)
		return false;
	pin->tries--;
	memcpy(padded, value, len < sizeof(padded) ? len : sizeof(padded));
	ok = pin->set && CRYPTO_memcmp(padded, pin->value, sizeof(padded)) == 0;
	if (ok)
		pin->tries = pin->max_tries;
	OPENSSL_cleanse(padded, sizeof(padded));
	if (pin->tries != before)
		card->dirty = true;
	return ok;
}

/* OwnerPIN.update + resetAndUnblock, with the applet's zero padding. */
static void
iso_pin_set(struct vcard_card *card, struct iso_pin *pin, const uint8_t *value, size_t len,
    uint8_t max_tries)
{
	OPENSSL_cleanse(pin->value, sizeof(pin->value));
	memcpy(pin->value, value, len < sizeof(pin->value) ? len : sizeof(pin->value));
	pin->set = true;
	pin->max_tries = max_tries;
	pin->tries = max_tries;
	card->iso.pin_validated = false;
	card->dirty = true;
}

static uint16_t
handle_iso_verify(struct vcard_card *card, const struct apdu *cmd, struct vcard_buf *resp)
{
	struct iso_card *iso = &card->iso;
	bool ok;

	(void)resp;
	if (cmd->p1 != 0x00 || cmd->p2 != 0x01)
		return SW_INCORRECT_P1P2;
	if ((cmd->lc > 0 && cmd->lc < ISO_PIN_MIN) || cmd->lc > ISO_PIN_LEN)
		return SW_WRONG_LENGTH;
	if (cmd->lc == 0) /* status: tries left, even when already verified */
		return iso->life_cycle == ISO_OPERATIONAL ? iso_tries_sw(&iso->pin) : SW_OK;
	ok = iso_pin_check(card, &iso->pin, cmd->data, cmd->lc);
	iso->pin_validated = ok;
	iso->fs_authenticated = ok;
	return ok ? SW_OK : iso_tries_sw(&iso->pin);
}

/* Personalisation (P1=01: PUK, then PIN) or a PIN change (P1=00). */
static uint16_t
handle_iso_change_reference_data(
    struct vcard_card *card, const struct apdu *cmd, struct vcard_buf *resp)
{
	struct iso_card *iso = &card->iso;

	(void)resp;
	if (iso->life_cycle == ISO_CREATION || iso->life_cycle == ISO_INITIALISATION) {
		if (cmd->p1 != 0x01 || (cmd->p2 != 0x01 && cmd->p2 != 0x02) ||
		    (cmd->p2 == 0x02 && iso->life_cycle != ISO_CREATION))
			return SW_INCORRECT_P1P2;
		if (cmd->p2 == 0x02) {
			if (cmd->lc != ISO_PUK_LEN)
				return SW_WRONG_LENGTH;
			iso_pin_set(card, &iso->puk, cmd->data, cmd->lc, ISO_PUK_TRIES);
			iso->life_cycle = ISO_INITIALISATION;
			return SW_OK;
		}
		if (cmd->lc < ISO_PIN_MIN || cmd->lc > ISO_PIN_LEN)
			return SW_WRONG_LENGTH;
		iso_pin_set(card, &iso->pin, cmd->data, cmd->lc, ISO_PIN_TRIES);
		iso->life_cycle = ISO_OPERATIONAL;
		return SW_OK;
	}
	/* Old and new PIN, each already padded to 16 bytes by the host. */
	if (cmd->p1 != 0x00 || cmd->p2 != 0x01)
		return SW_INCORRECT_P1P2;
	if (cmd->lc != 2 * ISO_PIN_LEN)
		return SW_WRONG_LENGTH;
	if (!iso_pin_check(card, &iso->pin, cmd->data, ISO_PIN_LEN)) {
		iso->pin_validated = false;
		return iso_tries_sw(&iso->pin);
	}
	iso_pin_set(card, &iso->pin, cmd->data + ISO_PIN_LEN, ISO_PIN_LEN, ISO_PIN_TRIES);
	return SW_OK;
}

/* P1=00 P2=01: PUK (16 bytes) followed by the new PIN (4..16 bytes). */
static uint16_t
handle_iso_reset_retry_counter(
    struct vcard_card *card, const struct apdu *cmd, struct vcard_buf *resp)
{
	struct iso_card *iso = &card->iso;

	(void)resp;
	if (iso->life_cycle != ISO_OPERATIONAL)
		return SW_COMMAND_NOT_ALLOWED;
	if (cmd->lc < ISO_PUK_LEN + ISO_PIN_MIN || cmd->lc > ISO_PUK_LEN + ISO_PIN_LEN)
		return SW_WRONG_LENGTH;
	if (cmd->p1 != 0x00 || cmd->p2 != 0x01)
		return SW_INCORRECT_P1P2;
	if (!iso->puk.set)
		return 0x63c0;
	if (!iso_pin_check(card, &iso->puk, cmd->data, ISO_PUK_LEN))
		return iso_tries_sw(&iso->puk);
	iso_pin_set(card, &iso->pin, cmd->data + ISO_PUK_LEN, cmd->lc - ISO_PUK_LEN, ISO_PIN_TRIES);
	return SW_OK;
}

/* The key an operation needs: 6F00 where the applet would dereference null
 * or cast to the wrong key class, as a Java Card answers an exception. */
static uint16_t
iso_key_for(const struct iso_card *iso, int ref, bool rsa)
{
	if (ref < 0 || ref >= ISO_KEYS)
		return SW_DATA_INVALID;
	if (iso->keys[ref] == NULL)
		return SW_UNKNOWN;
	return keys_is_rsa(iso->keys[ref]) == rsa ? SW_OK : SW_DATA_INVALID;
}

/* MSE SET (P1=41) or RESTORE (P1=F3): 80 algorithm, 84 key reference. */
static uint16_t
handle_iso_mse(struct vcard_card *card, const struct apdu *cmd, struct vcard_buf *resp)
{
	struct iso_card *iso = &card->iso;
	const uint8_t *v;
	size_t len;
	uint8_t alg = 0;
	int key = -1;
	uint16_t sw = SW_OK;

	(void)resp;
	if (!iso->pin_validated)
		return SW_SECURITY_NOT_SATISFIED;
	if (!iso_tlv_consistent(cmd->data, cmd->lc))
		return SW_DATA_INVALID;
	if (cmd->p1 == 0x41) {
		if ((v = iso_tlv_find(cmd->data, cmd->lc, 0x80, &len)) == NULL || len != 1)
			return SW_DATA_INVALID;
		alg = v[0];
		if ((v = iso_tlv_find(cmd->data, cmd->lc, 0x84, &len)) == NULL || len != 1 ||
		    v[0] >= ISO_KEYS)
			return SW_DATA_INVALID;
		key = v[0];
	} else if (cmd->p1 != 0xf3) {
		return SW_FUNCTION_NOT_SUPPORTED;
	}
	switch (cmd->p2) {
	case 0x00: /* key generation */
		if (alg != ISO_ALG_GEN_EC && alg != ISO_ALG_GEN_RSA_2048)
			return SW_FUNCTION_NOT_SUPPORTED;
		if (key < 0)
			sw = SW_DATA_INVALID;
		break;
	case 0xb6: /* signature */
		if (key < 0)
			sw = SW_DATA_INVALID;
		else if (alg == ISO_ALG_RSA_PAD_PKCS1 || alg == ISO_ALG_ECDSA_SHA1)
			sw = iso_key_for(iso, key, alg == ISO_ALG_RSA_PAD_PKCS1);
		else
			sw = SW_FUNCTION_NOT_SUPPORTED;
		break;
	case 0xb8: /* decipher */
		if (alg != ISO_ALG_RSA_PAD_PKCS1)
			return SW_FUNCTION_NOT_SUPPORTED;
		sw = key < 0 ? SW_DATA_INVALID : iso_key_for(iso, key, true);
		break;
	default:
		return SW_FUNCTION_NOT_SUPPORTED;
	}
	if (sw != SW_OK)
		return sw;
	iso->se_algorithm = alg;
	iso->se_key = key;
	return SW_OK;
}

static uint16_t
iso_generate_key(struct vcard_card *card, const struct apdu *cmd, struct vcard_buf *resp)
{
	struct iso_card *iso = &card->iso;
	EVP_PKEY *pkey = NULL;
	int r;

	if (card->opts->fail_keygen) {
		vcard_logf("fault injection: key generation fails (6F00)");
		return SW_UNKNOWN;
	}
	vcard_keygen_delay(card);
	if (iso->se_algorithm == ISO_ALG_GEN_RSA_2048)
		r = isokeys_generate_rsa(&pkey);
	else
		r = isokeys_generate_ec(cmd->data, cmd->lc, &pkey);
	if (r == VCARD_ERR_UNSUPPORTED)
		return SW_FUNCTION_NOT_SUPPORTED;
	if (r == VCARD_ERR_STATE_FORMAT)
		return SW_DATA_INVALID;
	if (r != VCARD_OK)
		return SW_UNKNOWN;
	EVP_PKEY_free(iso->keys[iso->se_key]);
	iso->keys[iso->se_key] = pkey; /* transferred */
	card->dirty = true;
	if (vcard_verbose)
		vcard_logf("generated key %d", iso->se_key);
	return isokeys_public_do(pkey, resp) == VCARD_OK ? SW_OK : SW_UNKNOWN;
}

/* INS 46 after MSE P2=00: RSA with P1P2 4200, EC with 0000 and the curve. */
static uint16_t
handle_iso_generate(struct vcard_card *card, const struct apdu *cmd, struct vcard_buf *resp)
{
	struct iso_card *iso = &card->iso;

	if (!iso->pin_validated)
		return SW_SECURITY_NOT_SATISFIED;
	if (iso->se_algorithm == ISO_ALG_GEN_RSA_2048) {
		if (cmd->p1 != 0x42 || cmd->p2 != 0x00)
			return SW_INCORRECT_P1P2;
	} else if (iso->se_algorithm == ISO_ALG_GEN_EC) {
		if (cmd->p1 != 0x00 || cmd->p2 != 0x00)
			return SW_INCORRECT_P1P2;
	} else {
		return SW_CONDITIONS_NOT_SATISFIED;
	}
	return iso_generate_key(card, cmd, resp);
}

static uint16_t
iso_sign(struct vcard_card *card, const struct apdu *cmd, struct vcard_buf *resp)
{
	struct iso_card *iso = &card->iso;
	EVP_PKEY *pkey;

	if (iso->se_algorithm != ISO_ALG_RSA_PAD_PKCS1 && iso->se_algorithm != ISO_ALG_ECDSA_SHA1)
		return SW_CONDITIONS_NOT_SATISFIED;
	if (iso->se_algorithm == ISO_ALG_RSA_PAD_PKCS1 && cmd->lc > 247)
		return SW_WRONG_LENGTH;
	if (iso_key_for(iso, iso->se_key, iso->se_algorithm == ISO_ALG_RSA_PAD_PKCS1) != SW_OK)
		return SW_UNKNOWN;
	pkey = iso->keys[iso->se_key];
	if (iso->se_algorithm == ISO_ALG_ECDSA_SHA1)
		return isokeys_sign_ecdsa_sha1(pkey, cmd->data, cmd->lc, resp) == VCARD_OK
			   ? SW_OK
			   : SW_UNKNOWN;
	if (cmd->le != 0 && cmd->le < 256)
		return 0x6c00; /* the signature is 256 bytes: Le must be 00 */
	/* The DigestInfo gets PKCS#1 v1.5 type 1 padding (Cipher ALG_RSA_PKCS1). */
	return keys_sign(pkey, cmd->data, cmd->lc, resp) == VCARD_OK ? SW_OK : SW_UNKNOWN;
}

static uint16_t
iso_decipher(struct vcard_card *card, const struct apdu *cmd, struct vcard_buf *resp)
{
	struct iso_card *iso = &card->iso;

	if (cmd->lc > 0 && cmd->data[0] != 0x00) /* padding indicator */
		return SW_WRONG_DATA;
	if (iso->se_algorithm != ISO_ALG_RSA_PAD_PKCS1)
		return SW_FUNCTION_NOT_SUPPORTED;
	if (iso_key_for(iso, iso->se_key, true) != SW_OK)
		return SW_UNKNOWN;
	if (cmd->lc != 1 + (size_t)EVP_PKEY_get_size(iso->keys[iso->se_key]))
		return SW_WRONG_LENGTH;
	if (keys_decipher(iso->keys[iso->se_key], cmd->data, cmd->lc, resp) != VCARD_OK)
		return SW_WRONG_DATA;
	return SW_OK;
}

static uint16_t
handle_iso_pso(struct vcard_card *card, const struct apdu *cmd, struct vcard_buf *resp)
{
	if (!card->iso.pin_validated)
		return SW_SECURITY_NOT_SATISFIED;
	if (cmd->p1 == 0x9e && cmd->p2 == 0x9a)
		return iso_sign(card, cmd, resp);
	if (cmd->p1 == 0x80 && cmd->p2 == 0x86)
		return iso_decipher(card, cmd, resp);
	return SW_INCORRECT_P1P2;
}

/* Key import (P1P2 3FFF): refused, as DEF_PRIVATE_KEY_IMPORT_ALLOWED=false. */
static uint16_t
handle_iso_put_data(struct vcard_card *card, const struct apdu *cmd, struct vcard_buf *resp)
{
	(void)resp;
	if (!card->iso.pin_validated)
		return SW_SECURITY_NOT_SATISFIED;
	if (cmd->p1 == 0x3f && cmd->p2 == 0xff)
		return SW_COMMAND_NOT_ALLOWED_GENERAL;
	return SW_INCORRECT_P1P2;
}

/* The applet checks P1 only (its P2 test repeats P1). */
static uint16_t
handle_iso_get_challenge(struct vcard_card *card, const struct apdu *cmd, struct vcard_buf *resp)
{
	uint8_t random[256];

	(void)card;
	if (cmd->p1 != 0x00)
		return SW_INCORRECT_P1P2;
	if (cmd->le == 0 || cmd->le > sizeof(random))
		return SW_WRONG_LENGTH;
	if (RAND_bytes(random, (int)cmd->le) != 1)
		return SW_UNKNOWN;
	buf_put(resp, random, cmd->le);
	return SW_OK;
}

/*
 * openpgp.c - the commands of the OpenPGP card 3.4 application that are
 * about PINs, keys and the life cycle: SELECT, VERIFY, CHANGE REFERENCE
 * DATA, RESET RETRY COUNTER, GENERATE ASYMMETRIC KEY PAIR, PSO:CDS,
 * PSO:DECIPHER, INTERNAL AUTHENTICATE, MSE, GET CHALLENGE, TERMINATE DF and
 * ACTIVATE FILE. Data objects live in dos.c, OpenSSL calls in keys.c.
 *
 * Access rules (spec 3.4, 4.3): PSO:CDS needs PW1 verified in mode 81, and
 * that verification is used up by one signature unless the PW1 status byte
 * (C4) says otherwise; PSO:DECIPHER and INTERNAL AUTHENTICATE need PW1 in
 * mode 82; key generation and most PUT DATA need PW3. Retry counters start
 * at 3, count down on every wrong PIN and lock at 0 (6983).
 *
 * PIN values never reach a log line from here.
 */
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "vcard.h"

static const uint8_t crt_tags[VCARD_KEY_SLOTS] = {0xb6, 0xb8, 0xa4};

static uint16_t openpgp_precheck(struct vcard_card *card, const struct apdu *cmd);

static const uint8_t openpgp_atr[] = {
    0x3b,
    0xda,
    0x18,
    0xff,
    0x81,
    0xb1,
    0xfe,
    0x75,
    0x1f,
    0x03,
    OPENPGP_HIST_BYTES,
    0xf9,
};

/* One row per instruction the OpenPGP application understands. */
static const struct vcard_command openpgp_commands[] = {
    {0xa4, handle_select, WHEN_TERMINATED},
    {0xca, handle_get_data, 0},
    {0xcc, handle_get_next_data, 0},
    {0xa5, handle_select_data, 0},
    {0xda, handle_put_data, PERSISTS},
    {0x20, handle_verify, SECRET_DATA | PERSISTS},
    {0x24, handle_change_reference_data, SECRET_DATA | PERSISTS},
    {0x2c, handle_reset_retry_counter, SECRET_DATA | PERSISTS},
    {0x47, handle_generate_key, PERSISTS},
    {0x2a, handle_pso, PERSISTS},
    {0x88, handle_internal_authenticate, 0},
    {0x22, handle_mse, 0},
    {0x84, handle_get_challenge, 0},
    {0xe6, handle_terminate_df, PERSISTS},
    {0x44, handle_activate_file, WHEN_TERMINATED | PERSISTS},
};

/* CLA 00 or 10 only; any command may be chained. */
const struct vcard_personality vcard_openpgp = {
    .name = "openpgp",
    .atr = openpgp_atr,
    .atr_len = sizeof(openpgp_atr),
    .commands = openpgp_commands,
    .n_commands = ARRAY_SIZE(openpgp_commands),
    .cla_reserved = 0xef,
    .chain_any = true,
    .precheck = openpgp_precheck,
    .reset_volatile = openpgp_reset_volatile,
};

static uint16_t
openpgp_precheck(struct vcard_card *card, const struct apdu *cmd)
{
	(void)card;
	(void)cmd;
	return SW_OK;
}

void
openpgp_reset_volatile(struct vcard_card *card)
{
	card->pw1_sign_ok = false;
	card->pw1_other_ok = false;
	card->pw3_ok = false;
	card->cert_occurrence = 0;
	card->dec_slot = VCARD_SLOT_DEC;
	card->aut_slot = VCARD_SLOT_AUT;
	card->chain_len = 0;
	card->pending.len = 0;
	card->pending_off = 0;
}

uint16_t
handle_select(struct vcard_card *card, const struct apdu *cmd, struct vcard_buf *resp)
{
	struct vcard_buf aid = {.len = 0};

	(void)resp;
	/* The host may give the whole AID or any prefix of it of at least the
	 * RID and application (D2 76 00 01 24 01); OpenSC sends just that. */
	if (cmd->p1 != 0x04 || cmd->lc < 6 || cmd->lc > 16)
		return SW_FILE_NOT_FOUND;
	dos_put_aid(card, &aid);
	if (memcmp(aid.data, cmd->data, cmd->lc) != 0)
		return SW_FILE_NOT_FOUND;
	openpgp_reset_volatile(card);
	return card->terminated ? SW_TERMINATED : SW_OK;
}

static struct vcard_pin *
openpgp_pin(struct vcard_card *card, uint8_t ref)
{
	return ref == 0x83 ? &card->pw3 : &card->pw1;
}

static bool *
openpgp_pin_flag(struct vcard_card *card, uint8_t ref)
{
	switch (ref) {
	case 0x81:
		return &card->pw1_sign_ok;
	case 0x82:
		return &card->pw1_other_ok;
	default:
		return &card->pw3_ok;
	}
}

static uint16_t
openpgp_tries_sw(const struct vcard_pin *pin)
{
	return pin->tries == 0 ? SW_AUTH_BLOCKED : (uint16_t)(0x63c0 | pin->tries);
}

/*
 * Compare a PIN attempt and count it. A wrong attempt costs one try and
 * answers 63Cx with the tries left; the last one answers 63C0 and every
 * attempt after it 6983.
 */
static uint16_t
openpgp_check_pin(struct vcard_card *card, struct vcard_pin *pin, const uint8_t *value, size_t len)
{
	if (pin->tries == 0)
		return SW_AUTH_BLOCKED;
	if (len == pin->len && CRYPTO_memcmp(value, pin->value, len) == 0) {
		if (pin->tries != VCARD_PIN_TRIES)
			card->dirty = true;
		pin->tries = VCARD_PIN_TRIES;
		return SW_OK;
	}
	pin->tries--;
	card->dirty = true;
	return (uint16_t)(0x63c0 | pin->tries);
}

static void
openpgp_set_pin(struct vcard_pin *pin, const uint8_t *value, size_t len)
{
	OPENSSL_cleanse(pin->value, sizeof(pin->value));
	memcpy(pin->value, value, len);
	pin->len = len;
	pin->tries = VCARD_PIN_TRIES;
}

static size_t
openpgp_min_len(uint8_t ref)
{
	return ref == 0x83 ? 8 : 6;
}

uint16_t
handle_verify(struct vcard_card *card, const struct apdu *cmd, struct vcard_buf *resp)
{
	struct vcard_pin *pin;
	bool *flag;
	uint16_t sw;

	(void)resp;
	if ((cmd->p1 != 0x00 && cmd->p1 != 0xff) || cmd->p2 < 0x81 || cmd->p2 > 0x83)
		return SW_WRONG_P1P2;
	pin = openpgp_pin(card, cmd->p2);
	flag = openpgp_pin_flag(card, cmd->p2);
	if (cmd->p1 == 0xff) { /* 3.4: reset the access status */
		if (cmd->lc != 0)
			return SW_WRONG_LENGTH;
		*flag = false;
		return SW_OK;
	}
	if (cmd->lc == 0) /* status check, costs no try */
		return *flag ? SW_OK : openpgp_tries_sw(pin);
	sw = openpgp_check_pin(card, pin, cmd->data, cmd->lc);
	*flag = sw == SW_OK;
	return sw;
}

/* Data: old PIN || new PIN; the card knows where the old one ends. */
uint16_t
handle_change_reference_data(
    struct vcard_card *card, const struct apdu *cmd, struct vcard_buf *resp)
{
	struct vcard_pin *pin;
	size_t new_len;
	uint16_t sw;

	(void)resp;
	if (cmd->p1 != 0x00 || (cmd->p2 != 0x81 && cmd->p2 != 0x83))
		return SW_WRONG_P1P2;
	pin = openpgp_pin(card, cmd->p2);
	if (pin->tries == 0)
		return SW_AUTH_BLOCKED;
	if (cmd->lc <= pin->len)
		return openpgp_check_pin(card, pin, cmd->data, cmd->lc);
	sw = openpgp_check_pin(card, pin, cmd->data, pin->len);
	if (sw != SW_OK)
		return sw;
	new_len = cmd->lc - pin->len;
	if (new_len < openpgp_min_len(cmd->p2) || new_len > VCARD_PIN_MAX)
		return SW_WRONG_DATA;
	openpgp_set_pin(pin, cmd->data + pin->len, new_len);
	*openpgp_pin_flag(card, cmd->p2) = false;
	card->dirty = true;
	return SW_OK;
}

/* P1=02: new PW1 after PW3; P1=00: resetting code || new PW1. */
uint16_t
handle_reset_retry_counter(struct vcard_card *card, const struct apdu *cmd, struct vcard_buf *resp)
{
	const uint8_t *new_pin = cmd->data;
	size_t new_len = cmd->lc;
	uint16_t sw;

	(void)resp;
	if ((cmd->p1 != 0x00 && cmd->p1 != 0x02) || cmd->p2 != 0x81)
		return SW_WRONG_P1P2;
	if (cmd->p1 == 0x02) {
		if (!card->pw3_ok)
			return SW_SECURITY_NOT_SATISFIED;
	} else {
		if (card->rc.len == 0)
			return SW_SECURITY_NOT_SATISFIED;
		if (cmd->lc <= card->rc.len)
			return openpgp_check_pin(card, &card->rc, cmd->data, cmd->lc);
		sw = openpgp_check_pin(card, &card->rc, cmd->data, card->rc.len);
		if (sw != SW_OK)
			return sw;
		new_pin += card->rc.len;
		new_len -= card->rc.len;
	}
	if (new_len < openpgp_min_len(0x81) || new_len > VCARD_PIN_MAX)
		return SW_WRONG_DATA;
	openpgp_set_pin(&card->pw1, new_pin, new_len);
	card->dirty = true;
	return SW_OK;
}

static int
openpgp_slot_of_crt(const struct apdu *cmd)
{
	int i;

	if (cmd->lc < 2 || cmd->data[1] != 0x00)
		return -1;
	for (i = 0; i < VCARD_KEY_SLOTS; i++)
		if (cmd->data[0] == crt_tags[i])
			return i;
	return -1;
}

uint16_t
handle_generate_key(struct vcard_card *card, const struct apdu *cmd, struct vcard_buf *resp)
{
	const struct vcard_blob *attr;
	EVP_PKEY *pkey = NULL;
	struct timespec t0, t1;
	int slot, r;

	if ((cmd->p1 != 0x80 && cmd->p1 != 0x81) || cmd->p2 != 0x00)
		return SW_WRONG_P1P2;
	if ((slot = openpgp_slot_of_crt(cmd)) < 0)
		return SW_WRONG_DATA;
	if (cmd->p1 == 0x80) {
		if (!card->pw3_ok)
			return SW_SECURITY_NOT_SATISFIED;
		if (card->opts->fail_keygen) {
			vcard_logf("fault injection: key generation fails (6F00)");
			return SW_UNKNOWN;
		}
		attr = dos_find(card, (uint16_t)(0xc1 + slot));
		if (attr == NULL)
			return SW_CONDITIONS_NOT_SATISFIED;
		vcard_keygen_delay(card);
		clock_gettime(CLOCK_MONOTONIC, &t0);
		if ((r = keys_generate(attr->data, attr->len, &pkey)) != VCARD_OK) {
			vcard_logf("key generation failed: %s", vcard_err_str(r));
			return r == VCARD_ERR_UNSUPPORTED ? SW_CONDITIONS_NOT_SATISFIED
							  : SW_MEMORY_FAILURE;
		}
		clock_gettime(CLOCK_MONOTONIC, &t1);
		if (vcard_verbose)
			vcard_logf("generated key %d in %ld ms", slot + 1,
			    (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000);
		dos_forget_key(card, (enum vcard_slot)slot);
		card->keys[slot] = pkey; /* transferred */
		card->key_origin[slot] = 0x01;
		if (slot == VCARD_SLOT_SIG)
			card->sig_count = 0;
		card->dirty = true;
	}
	if (card->keys[slot] == NULL)
		return SW_DATA_NOT_FOUND;
	if (keys_public_do(card->keys[slot], resp) != VCARD_OK)
		return SW_MEMORY_FAILURE;
	return SW_OK;
}

static uint16_t
openpgp_sign_with(EVP_PKEY *pkey, const struct apdu *cmd, struct vcard_buf *resp)
{
	int r;

	if (pkey == NULL)
		return SW_DATA_NOT_FOUND;
	r = keys_sign(pkey, cmd->data, cmd->lc, resp);
	if (r == VCARD_ERR_UNSUPPORTED)
		return SW_WRONG_LENGTH;
	return r == VCARD_OK ? SW_OK : SW_UNKNOWN;
}

static uint16_t
openpgp_compute_signature(struct vcard_card *card, const struct apdu *cmd, struct vcard_buf *resp)
{
	uint16_t sw;

	if (!card->pw1_sign_ok)
		return SW_SECURITY_NOT_SATISFIED;
	sw = openpgp_sign_with(card->keys[VCARD_SLOT_SIG], cmd, resp);
	if (sw != SW_OK)
		return sw;
	if (card->pw1_status == 0x00)
		card->pw1_sign_ok = false;
	if (card->sig_count < 0xffffff)
		card->sig_count++;
	card->dirty = true;
	return SW_OK;
}

static uint16_t
openpgp_decipher(struct vcard_card *card, const struct apdu *cmd, struct vcard_buf *resp)
{
	EVP_PKEY *pkey = card->keys[card->dec_slot];

	if (!card->pw1_other_ok)
		return SW_SECURITY_NOT_SATISFIED;
	if (pkey == NULL)
		return SW_DATA_NOT_FOUND;
	if (keys_decipher(pkey, cmd->data, cmd->lc, resp) != VCARD_OK)
		return SW_WRONG_DATA;
	return SW_OK;
}

uint16_t
handle_pso(struct vcard_card *card, const struct apdu *cmd, struct vcard_buf *resp)
{
	if (cmd->p1 == 0x9e && cmd->p2 == 0x9a)
		return openpgp_compute_signature(card, cmd, resp);
	if (cmd->p1 == 0x80 && cmd->p2 == 0x86)
		return openpgp_decipher(card, cmd, resp);
	return SW_INCORRECT_P1P2;
}

uint16_t
handle_internal_authenticate(
    struct vcard_card *card, const struct apdu *cmd, struct vcard_buf *resp)
{
	if (cmd->p1 != 0x00 || cmd->p2 != 0x00)
		return SW_WRONG_P1P2;
	if (!card->pw1_other_ok)
		return SW_SECURITY_NOT_SATISFIED;
	return openpgp_sign_with(card->keys[card->aut_slot], cmd, resp);
}

/* MSE SET: 22 41 {A4|B8} 83 01 {02|03} swaps DEC and AUT keys (3.3+). */
uint16_t
handle_mse(struct vcard_card *card, const struct apdu *cmd, struct vcard_buf *resp)
{
	enum vcard_slot slot;

	(void)resp;
	if (cmd->p1 != 0x41 || (cmd->p2 != 0xa4 && cmd->p2 != 0xb8))
		return SW_WRONG_P1P2;
	if (cmd->lc != 3 || cmd->data[0] != 0x83 || cmd->data[1] != 0x01 ||
	    (cmd->data[2] != 0x02 && cmd->data[2] != 0x03))
		return SW_WRONG_DATA;
	slot = cmd->data[2] == 0x02 ? VCARD_SLOT_DEC : VCARD_SLOT_AUT;
	if (cmd->p2 == 0xb8)
		card->dec_slot = slot;
	else
		card->aut_slot = slot;
	return SW_OK;
}

uint16_t
handle_get_challenge(struct vcard_card *card, const struct apdu *cmd, struct vcard_buf *resp)
{
	uint8_t random[255];

	(void)card;
	if (cmd->p1 != 0x00 || cmd->p2 != 0x00)
		return SW_WRONG_P1P2;
	if (cmd->lc != 0 || cmd->le == 0 || cmd->le > sizeof(random))
		return SW_WRONG_LENGTH;
	if (RAND_bytes(random, (int)cmd->le) != 1)
		return SW_UNKNOWN;
	buf_put(resp, random, cmd->le);
	return SW_OK;
}

/* Allowed after PW3, or when PW3 is blocked (the way out of a lost card). */
uint16_t
handle_terminate_df(struct vcard_card *card, const struct apdu *cmd, struct vcard_buf *resp)
{
	(void)resp;
	if (cmd->p1 != 0x00 || cmd->p2 != 0x00)
		return SW_WRONG_P1P2;
	if (!card->pw3_ok && card->pw3.tries != 0)
		return SW_SECURITY_NOT_SATISFIED;
	card->terminated = true;
	openpgp_reset_volatile(card);
	card->dirty = true;
	return SW_OK;
}

/* ACTIVATE FILE on a terminated card is the factory reset. */
uint16_t
handle_activate_file(struct vcard_card *card, const struct apdu *cmd, struct vcard_buf *resp)
{
	(void)resp;
	if (cmd->p1 != 0x00 || cmd->p2 != 0x00)
		return SW_WRONG_P1P2;
	if (!card->terminated)
		return SW_OK;
	if (state_factory_reset(card) != VCARD_OK)
		return SW_MEMORY_FAILURE;
	card->dirty = true;
	return SW_OK;
}

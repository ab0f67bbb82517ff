/*
 * dos.c - the data objects (DOs) of the virtual OpenPGP card: GET DATA,
 * PUT DATA, SELECT DATA and GET NEXT DATA, plus the small store that keeps
 * the simple DOs a host may write.
 *
 * Constructed DOs (6E, 65, 73, 7A, C5, C6, CD, DE, FA) are never stored:
 * they are built on every read from the simple DOs and the card state, so
 * they cannot disagree with them. Access rules come from the OpenPGP card
 * 3.4 specification, section 4.4; the rule table is the single place
 * that says who may read or write which tag.
 */
#include <string.h>

#include <openssl/crypto.h>

#include "vcard.h"

static const uint8_t hist_bytes[] = {OPENPGP_HIST_BYTES};

/* 7F66 extended length information: 2048-byte commands and responses. */
static const uint8_t ext_length_info[] = {0x02, 0x02, 0x08, 0x00, 0x02, 0x02, 0x08, 0x00};

enum do_access { ALWAYS, PW1, PW3, NEVER };

struct do_rule {
	uint16_t tag;
	uint8_t read, write;
	uint16_t min_len, max_len; /* for PUT DATA; 0 always deletes */
};

static const struct do_rule do_rules[] = {
    {0x005b, ALWAYS, PW3, 0, 39},  /* name */
    {0x005e, ALWAYS, PW3, 0, 254}, /* login data */
    {0x5f2d, ALWAYS, PW3, 2, 8},   /* language preferences */
    {0x5f35, ALWAYS, PW3, 1, 1},   /* sex */
    {0x5f50, ALWAYS, PW3, 0, 254}, /* URL */
    {0x0101, ALWAYS, PW1, 0, VCARD_MAX_SPECIAL_DO},
    {0x0102, ALWAYS, PW3, 0, VCARD_MAX_SPECIAL_DO},
    {0x0103, PW1, PW1, 0, VCARD_MAX_SPECIAL_DO},
    {0x0104, PW3, PW3, 0, VCARD_MAX_SPECIAL_DO},
    {0x00c1, ALWAYS, PW3, 2, 16}, /* algorithm attributes */
    {0x00c2, ALWAYS, PW3, 2, 16},
    {0x00c3, ALWAYS, PW3, 2, 16},
    {0x00c7, NEVER, PW3, 20, 20}, /* fingerprints, read via C5 */
    {0x00c8, NEVER, PW3, 20, 20},
    {0x00c9, NEVER, PW3, 20, 20},
    {0x00ca, NEVER, PW3, 20, 20}, /* CA fingerprints, read via C6 */
    {0x00cb, NEVER, PW3, 20, 20},
    {0x00cc, NEVER, PW3, 20, 20},
    {0x00ce, NEVER, PW3, 4, 4}, /* generation dates, read via CD */
    {0x00cf, NEVER, PW3, 4, 4},
    {0x00d0, NEVER, PW3, 4, 4},
    {0x00d6, ALWAYS, PW3, 2, 2}, /* user interaction flags */
    {0x00d7, ALWAYS, PW3, 2, 2},
    {0x00d8, ALWAYS, PW3, 2, 2},
};

static const struct do_rule *
dos_rule(uint16_t tag)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(do_rules); i++)
		if (do_rules[i].tag == tag)
			return &do_rules[i];
	return NULL;
}

static bool
dos_access_ok(const struct vcard_card *card, uint8_t access)
{
	switch (access) {
	case ALWAYS:
		return true;
	case PW1:
		return card->pw1_other_ok;
	case PW3:
		return card->pw3_ok;
	default:
		return false;
	}
}

const struct vcard_blob *
dos_find(const struct vcard_card *card, uint16_t tag)
{
	size_t i;

	for (i = 0; i < card->n_dos; i++)
		if (card->dos[i].tag == tag)
			return &card->dos[i].value;
	return NULL;
}

/* Store a simple DO; an empty value deletes it. */
int
dos_set(struct vcard_card *card, uint16_t tag, const void *data, size_t len)
{
	size_t i;

	for (i = 0; i < card->n_dos; i++)
		if (card->dos[i].tag == tag)
			break;
	if (len == 0) {
		if (i < card->n_dos) {
			blob_clear(&card->dos[i].value);
			card->dos[i] = card->dos[--card->n_dos];
		}
		return VCARD_OK;
	}
	if (i == card->n_dos) {
		if (card->n_dos == VCARD_MAX_DOS)
			return VCARD_ERR_NO_MEMORY;
		card->dos[i].tag = tag;
		card->dos[i].value.data = NULL;
		card->dos[i].value.len = 0;
		card->n_dos++;
	}
	return blob_set(&card->dos[i].value, data, len);
}

/* A new key (or none) in a slot makes its fingerprint and date stale. */
void
dos_forget_key(struct vcard_card *card, enum vcard_slot slot)
{
	if (card->keys[slot] != NULL) {
		EVP_PKEY_free(card->keys[slot]);
		card->keys[slot] = NULL;
	}
	card->key_origin[slot] = 0;
	(void)dos_set(card, (uint16_t)(0xc7 + slot), NULL, 0);
	(void)dos_set(card, (uint16_t)(0xce + slot), NULL, 0);
	card->dirty = true;
}

static void
dos_put_stored(const struct vcard_card *card, uint16_t tag, struct vcard_buf *out)
{
	const struct vcard_blob *v = dos_find(card, tag);

	if (v != NULL)
		buf_put(out, v->data, v->len);
}

static void
dos_put_stored_tlv(const struct vcard_card *card, uint16_t tag, struct vcard_buf *out)
{
	const struct vcard_blob *v = dos_find(card, tag);

	buf_put_tlv(out, tag, v ? v->data : NULL, v ? v->len : 0);
}

/* Three fixed-size fields in a row, zero when unset (C5, C6, CD). */
static void
dos_put_triplet(const struct vcard_card *card, uint16_t first, size_t size, struct vcard_buf *out)
{
	static const uint8_t zeros[20];
	const struct vcard_blob *v;
	uint16_t t;

	for (t = first; t < first + 3; t++) {
		v = dos_find(card, t);
		buf_put(out, v && v->len == size ? v->data : zeros, size);
	}
}

void
dos_put_aid(const struct vcard_card *card, struct vcard_buf *out)
{
	uint32_t s = card->opts->serial;
	uint8_t aid[16] = {0xd2, 0x76, 0x00, 0x01, 0x24, 0x01, 0x03, 0x04, 0xff, 0xfe,
	    (uint8_t)(s >> 24), (uint8_t)(s >> 16), (uint8_t)(s >> 8), (uint8_t)s, 0x00, 0x00};

	buf_put(out, aid, sizeof(aid));
}

static void
dos_put_hist(const struct vcard_card *card, struct vcard_buf *out)
{
	uint8_t hist[sizeof(hist_bytes)];

	memcpy(hist, hist_bytes, sizeof(hist));
	if (card->terminated)
		hist[sizeof(hist) - 3] = 0x03; /* life cycle: terminated */
	buf_put(out, hist, sizeof(hist));
}

static void
dos_put_pw_status(const struct vcard_card *card, struct vcard_buf *out)
{
	uint8_t c4[7] = {card->pw1_status, VCARD_PIN_MAX, VCARD_PIN_MAX, VCARD_PIN_MAX,
	    card->pw1.tries, card->rc.len ? card->rc.tries : 0, card->pw3.tries};

	buf_put(out, c4, sizeof(c4));
}

static void
dos_put_ext_caps(struct vcard_buf *out)
{
	/* GET CHALLENGE, C4 changeable, private DOs, algorithm attributes
	 * changeable; no SM, no key import; 255-byte challenges, cert size,
	 * special DO size, no PIN block 2, MSE supported. */
	const uint8_t c0[10] = {0x5c, 0x00, 0x00, 0xff, VCARD_MAX_CERT >> 8, VCARD_MAX_CERT & 0xff,
	    0x00, VCARD_MAX_SPECIAL_DO, 0x00, 0x01};

	buf_put(out, c0, sizeof(c0));
}

static void
dos_put_algorithm_info(struct vcard_buf *out)
{
	static const uint8_t rsa[][6] = {
	    {0x01, 0x08, 0x00, 0x00, 0x20, 0x00},
	    {0x01, 0x0c, 0x00, 0x00, 0x20, 0x00},
	    {0x01, 0x10, 0x00, 0x00, 0x20, 0x00},
	};
	static const uint8_t curves[][9] = {
	    {8, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07}, /* P-256 */
	    {5, 0x2b, 0x81, 0x04, 0x00, 0x22},			 /* P-384 */
	    {5, 0x2b, 0x81, 0x04, 0x00, 0x23},			 /* P-521 */
	};
	uint8_t attr[9];
	size_t i, j;

	for (i = 0; i < VCARD_KEY_SLOTS; i++) {
		for (j = 0; j < ARRAY_SIZE(rsa); j++)
			buf_put_tlv(out, 0xc1 + i, rsa[j], sizeof(rsa[j]));
		for (j = 0; j < ARRAY_SIZE(curves); j++) {
			attr[0] = i == VCARD_SLOT_DEC ? 0x12 : 0x13; /* ECDH : ECDSA */
			memcpy(attr + 1, curves[j] + 1, curves[j][0]);
			buf_put_tlv(out, 0xc1 + i, attr, 1 + curves[j][0]);
		}
	}
}

/* 73: discretionary data objects. */
static void
dos_put_discretionary(const struct vcard_card *card, struct vcard_buf *out)
{
	struct vcard_buf tmp = {.len = 0};
	uint16_t t;
	size_t i;

	dos_put_ext_caps(&tmp);
	buf_put_tlv(out, 0xc0, tmp.data, tmp.len);
	for (t = 0xc1; t <= 0xc3; t++)
		dos_put_stored_tlv(card, t, out);
	tmp.len = 0;
	dos_put_pw_status(card, &tmp);
	buf_put_tlv(out, 0xc4, tmp.data, tmp.len);
	tmp.len = 0;
	dos_put_triplet(card, 0xc7, 20, &tmp);
	buf_put_tlv(out, 0xc5, tmp.data, tmp.len);
	tmp.len = 0;
	dos_put_triplet(card, 0xca, 20, &tmp);
	buf_put_tlv(out, 0xc6, tmp.data, tmp.len);
	tmp.len = 0;
	dos_put_triplet(card, 0xce, 4, &tmp);
	buf_put_tlv(out, 0xcd, tmp.data, tmp.len);
	tmp.len = 0;
	for (i = 0; i < VCARD_KEY_SLOTS; i++) {
		buf_put_byte(&tmp, (uint8_t)(i + 1));
		buf_put_byte(&tmp, card->key_origin[i]);
	}
	buf_put_tlv(out, 0xde, tmp.data, tmp.len);
}

/* Append the value of a readable DO; false when the tag is unknown. */
static bool
dos_read(const struct vcard_card *card, uint16_t tag, struct vcard_buf *out)
{
	struct vcard_buf tmp = {.len = 0};
	uint8_t counter[3];

	switch (tag) {
	case 0x004f:
		dos_put_aid(card, out);
		return true;
	case 0x5f52:
		dos_put_hist(card, out);
		return true;
	case 0x7f66:
		buf_put(out, ext_length_info, sizeof(ext_length_info));
		return true;
	case 0x0065:
		dos_put_stored_tlv(card, 0x005b, out);
		dos_put_stored_tlv(card, 0x5f2d, out);
		dos_put_stored_tlv(card, 0x5f35, out);
		return true;
	case 0x006e:
		dos_put_aid(card, &tmp);
		buf_put_tlv(out, 0x4f, tmp.data, tmp.len);
		tmp.len = 0;
		dos_put_hist(card, &tmp);
		buf_put_tlv(out, 0x5f52, tmp.data, tmp.len);
		buf_put_tlv(out, 0x7f66, ext_length_info, sizeof(ext_length_info));
		tmp.len = 0;
		dos_put_discretionary(card, &tmp);
		buf_put_tlv(out, 0x73, tmp.data, tmp.len);
		return true;
	case 0x0073:
		dos_put_discretionary(card, out);
		return true;
	case 0x007a:
		counter[0] = (uint8_t)(card->sig_count >> 16);
		counter[1] = (uint8_t)(card->sig_count >> 8);
		counter[2] = (uint8_t)card->sig_count;
		buf_put_tlv(out, 0x93, counter, sizeof(counter));
		return true;
	case 0x00c0:
		dos_put_ext_caps(out);
		return true;
	case 0x00c4:
		dos_put_pw_status(card, out);
		return true;
	case 0x00c5:
		dos_put_triplet(card, 0xc7, 20, out);
		return true;
	case 0x00c6:
		dos_put_triplet(card, 0xca, 20, out);
		return true;
	case 0x00cd:
		dos_put_triplet(card, 0xce, 4, out);
		return true;
	case 0x00fa:
		dos_put_algorithm_info(out);
		return true;
	case 0x7f21:
		buf_put(out, card->certs[card->cert_occurrence].data,
		    card->certs[card->cert_occurrence].len);
		return true;
	default:
		return false;
	}
}

uint16_t
handle_get_data(struct vcard_card *card, const struct apdu *cmd, struct vcard_buf *resp)
{
	uint16_t tag = (uint16_t)(cmd->p1 << 8 | cmd->p2);
	const struct do_rule *rule = dos_rule(tag);

	if (cmd->lc != 0)
		return SW_WRONG_LENGTH;
	if (rule != NULL) {
		if (rule->read == NEVER)
			return SW_DATA_NOT_FOUND;
		if (!dos_access_ok(card, rule->read))
			return SW_SECURITY_NOT_SATISFIED;
		dos_put_stored(card, tag, resp);
		return SW_OK;
	}
	if (!dos_read(card, tag, resp))
		return SW_DATA_NOT_FOUND;
	return SW_OK;
}

/* C1-C3: a different algorithm deletes the key of that slot. */
static uint16_t
dos_put_algorithm(struct vcard_card *card, uint16_t tag, const struct apdu *cmd)
{
	enum vcard_slot slot = (enum vcard_slot)(tag - 0xc1);
	const struct vcard_blob *old = dos_find(card, tag);

	if (!keys_attr_supported(cmd->data, cmd->lc))
		return SW_WRONG_DATA;
	if (old != NULL && old->len == cmd->lc && memcmp(old->data, cmd->data, cmd->lc) == 0)
		return SW_OK;
	dos_forget_key(card, slot);
	if (dos_set(card, tag, cmd->data, cmd->lc) != VCARD_OK)
		return SW_MEMORY_FAILURE;
	return SW_OK;
}

static uint16_t
dos_put_special(struct vcard_card *card, uint16_t tag, const struct apdu *cmd)
{
	switch (tag) {
	case 0x00c4:
		if (cmd->lc < 1 || cmd->lc > 4 || cmd->data[0] > 1)
			return SW_WRONG_DATA;
		card->pw1_status = cmd->data[0];
		return SW_OK;
	case 0x00d3: /* resetting code: empty deletes it */
		if (cmd->lc != 0 && (cmd->lc < 8 || cmd->lc > VCARD_PIN_MAX))
			return SW_WRONG_DATA;
		OPENSSL_cleanse(card->rc.value, sizeof(card->rc.value));
		if (cmd->lc > 0)
			memcpy(card->rc.value, cmd->data, cmd->lc);
		card->rc.len = cmd->lc;
		card->rc.tries = cmd->lc ? VCARD_PIN_TRIES : 0;
		return SW_OK;
	case 0x7f21:
		if (cmd->lc > VCARD_MAX_CERT)
			return SW_WRONG_LENGTH;
		if (blob_set(&card->certs[card->cert_occurrence], cmd->data, cmd->lc) != VCARD_OK)
			return SW_MEMORY_FAILURE;
		return SW_OK;
	default:
		return SW_DATA_NOT_FOUND;
	}
}

uint16_t
handle_put_data(struct vcard_card *card, const struct apdu *cmd, struct vcard_buf *resp)
{
	uint16_t tag = (uint16_t)(cmd->p1 << 8 | cmd->p2);
	const struct do_rule *rule = dos_rule(tag);
	uint16_t sw;

	(void)resp;
	if (rule == NULL) {
		if (tag != 0x00c4 && tag != 0x00d3 && tag != 0x7f21)
			return SW_DATA_NOT_FOUND;
		if (!card->pw3_ok)
			return SW_SECURITY_NOT_SATISFIED;
		sw = dos_put_special(card, tag, cmd);
	} else {
		if (!dos_access_ok(card, rule->write))
			return SW_SECURITY_NOT_SATISFIED;
		if (cmd->lc > rule->max_len || (cmd->lc != 0 && cmd->lc < rule->min_len))
			return SW_WRONG_LENGTH;
		if (tag >= 0xc1 && tag <= 0xc3)
			sw = dos_put_algorithm(card, tag, cmd);
		else if (dos_set(card, tag, cmd->data, cmd->lc) != VCARD_OK)
			sw = SW_MEMORY_FAILURE;
		else
			sw = SW_OK;
	}
	if (sw == SW_OK)
		card->dirty = true;
	return sw;
}

/* SELECT DATA: P1 is the occurrence of 7F21, counted from 0. */
uint16_t
handle_select_data(struct vcard_card *card, const struct apdu *cmd, struct vcard_buf *resp)
{
	static const uint8_t cert_tag[] = {0x7f, 0x21};
	size_t i;
	bool found = false;

	(void)resp;
	if (cmd->p2 != 0x04)
		return SW_WRONG_P1P2;
	for (i = 0; i + 1 < cmd->lc; i++)
		if (memcmp(cmd->data + i, cert_tag, sizeof(cert_tag)) == 0)
			found = true;
	if (!found)
		return SW_DATA_NOT_FOUND;
	if (cmd->p1 >= VCARD_CERT_SLOTS)
		return SW_INCORRECT_P1P2;
	card->cert_occurrence = cmd->p1;
	return SW_OK;
}

/* GET NEXT DATA 7F21: move to the next occurrence and read it. */
uint16_t
handle_get_next_data(struct vcard_card *card, const struct apdu *cmd, struct vcard_buf *resp)
{
	if (cmd->p1 != 0x7f || cmd->p2 != 0x21)
		return SW_INCORRECT_P1P2;
	if (card->cert_occurrence + 1 >= VCARD_CERT_SLOTS)
		return SW_DATA_NOT_FOUND;
	card->cert_occurrence++;
	buf_put(
	    resp, card->certs[card->cert_occurrence].data, card->certs[card->cert_occurrence].len);
	return SW_OK;
}

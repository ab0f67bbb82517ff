/*
 * isostate.c - the IsoApplet personality's factory state (the applet just
 * installed: life cycle CREATION, no PIN, no PUK, no keys, only the MF)
 * and its lines in the --state file, after the magic line state.c writes:
 *
 *   cardbridge-vcard-isoapplet-state 1
 *   life-cycle 5
 *   pin 31323334350000000000000000000000 3 3     (value, tries, limit; "-" unset)
 *   puk 31323334353637383132333435363738 5 5
 *   key 0 3082...                                (reference 0..15, DER)
 *   file 1 0 1 6f16... 0000...                   (index, parent, order, FCI, body)
 *
 * Files come parent first (the MF is index 0 and is not written). Like
 * the rest of the state file this holds PINs and private keys in clear:
 * it is test data and stays in the test's own directory.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "vcard.h"

void
isostate_free(struct vcard_card *card)
{
	struct iso_card *iso = &card->iso;
	int i;

	for (i = 0; i < ISO_KEYS; i++) {
		EVP_PKEY_free(iso->keys[i]);
		iso->keys[i] = NULL;
	}
	isofs_free(iso);
	OPENSSL_cleanse(&iso->pin, sizeof(iso->pin));
	OPENSSL_cleanse(&iso->puk, sizeof(iso->puk));
}

int
isostate_factory_reset(struct vcard_card *card)
{
	struct iso_card *iso = &card->iso;

	isostate_free(card);
	iso->life_cycle = ISO_CREATION;
	iso->pin.max_tries = ISO_PIN_TRIES;
	iso->pin.tries = ISO_PIN_TRIES;
	iso->puk.max_tries = ISO_PUK_TRIES;
	iso->puk.tries = ISO_PUK_TRIES;
	iso_reset_volatile(card);
	return isofs_format(iso);
}

static void
isostate_put_pin(FILE *f, const char *name, const struct iso_pin *pin)
{
	fprintf(f, "%s ", name);
	state_put_hex(f, pin->value, pin->set ? sizeof(pin->value) : 0);
	fprintf(f, " %u %u\n", pin->tries, pin->max_tries);
}

/* Files in creation order, so every parent comes before its children. */
static void
isostate_put_files(const struct iso_card *iso, FILE *f)
{
	unsigned int seq;
	int i;

	for (seq = 1; seq < iso->next_seq; seq++)
		for (i = 1; i < ISO_MAX_FILES; i++) {
			const struct iso_file *file = &iso->files[i];

			if (!file->used || file->seq != seq)
				continue;
			fprintf(f, "file %d %d %u ", i, file->parent, file->seq);
			state_put_hex(f, file->fci.data, file->fci.len);
			fputc(' ', f);
			state_put_hex(f, file->data.data, file->data.len);
			fputc('\n', f);
		}
}

int
isostate_write(const struct vcard_card *card, FILE *f)
{
	const struct iso_card *iso = &card->iso;
	uint8_t *der = NULL;
	size_t der_len;
	int i, r;

	fprintf(f, "life-cycle %u\n", iso->life_cycle);
	isostate_put_pin(f, "pin", &iso->pin);
	isostate_put_pin(f, "puk", &iso->puk);
	for (i = 0; i < ISO_KEYS; i++) {
		if (iso->keys[i] == NULL)
			continue;
		if ((r = keys_to_der(iso->keys[i], &der, &der_len)) != VCARD_OK)
			return r;
		fprintf(f, "key %d ", i);
		state_put_hex(f, der, der_len);
		fputc('\n', f);
		OPENSSL_clear_free(der, der_len);
	}
	isostate_put_files(iso, f);
	return VCARD_OK;
}

static int
isostate_parse_pin(
    struct iso_pin *pin, const uint8_t *value, size_t len, const char *tries, const char *max_tries)
{
	unsigned long t = strtoul(tries, NULL, 10), m = strtoul(max_tries, NULL, 10);

	if ((len != 0 && len != ISO_PIN_LEN) || m == 0 || m > 15 || t > m)
		return VCARD_ERR_STATE_FORMAT;
	OPENSSL_cleanse(pin->value, sizeof(pin->value));
	if (len > 0)
		memcpy(pin->value, value, len);
	pin->set = len > 0;
	pin->tries = (uint8_t)t;
	pin->max_tries = (uint8_t)m;
	return VCARD_OK;
}

/* A file from the state file; its kind and FID come from its FCI. */
static int
isostate_restore_file(struct iso_card *iso, int index, int parent, unsigned int seq,
    const uint8_t *fci, size_t fci_len, const uint8_t *data, size_t data_len)
{
	struct iso_file *f;
	const uint8_t *v;
	size_t vlen;

	if (index < 1 || index >= ISO_MAX_FILES || parent < 0 || parent >= ISO_MAX_FILES ||
	    parent == index || !iso->files[parent].used || !iso->files[parent].df ||
	    iso->files[index].used)
		return VCARD_ERR_STATE_FORMAT;
	f = &iso->files[index];
	if (blob_set(&f->fci, fci, fci_len) != VCARD_OK ||
	    blob_set(&f->data, data, data_len) != VCARD_OK)
		return VCARD_ERR_NO_MEMORY;
	f->used = true;
	f->parent = parent;
	f->seq = seq;
	if (seq >= iso->next_seq)
		iso->next_seq = seq + 1;
	if ((v = isofs_fci_value(f, 0x83, &vlen)) == NULL || vlen != 2)
		return VCARD_ERR_STATE_FORMAT;
	f->fid = (uint16_t)(v[0] << 8 | v[1]);
	if ((v = isofs_fci_value(f, 0x82, &vlen)) == NULL || vlen < 1)
		return VCARD_ERR_STATE_FORMAT;
	f->df = (v[0] & 0x3f) == 0x38;
	f->structure = f->df ? 0 : v[0] & 0x07;
	return VCARD_OK;
}

static int
isostate_parse_file(struct vcard_card *card, char *a1, char *a2, char *a3, char *a4, char *a5)
{
	uint8_t *fci = NULL, *data = NULL;
	size_t fci_len = 0, data_len = 0;
	int r = VCARD_ERR_STATE_FORMAT;

	if (a5 == NULL || state_hex(a4, &fci, &fci_len) != VCARD_OK ||
	    state_hex(a5, &data, &data_len) != VCARD_OK)
		goto out;
	r = isostate_restore_file(&card->iso, atoi(a1), atoi(a2),
	    (unsigned int)strtoul(a3, NULL, 10), fci, fci_len, data, data_len);
out:
	free(fci);
	free(data);
	return r;
}

/* One line after the magic one; a damaged line is an error. */
int
isostate_parse_line(struct vcard_card *card, char *line)
{
	struct iso_card *iso = &card->iso;
	char *word = strtok(line, " \n"), *a1 = strtok(NULL, " \n"), *a2 = strtok(NULL, " \n");
	char *a3 = strtok(NULL, " \n"), *a4 = strtok(NULL, " \n"), *a5 = strtok(NULL, " \n");
	uint8_t *value = NULL;
	size_t len = 0;
	long n;
	int r = VCARD_ERR_STATE_FORMAT;

	if (word == NULL || a1 == NULL)
		goto out;
	n = strtol(a1, NULL, 10);
	if (strcmp(word, "life-cycle") == 0 &&
	    (n == ISO_CREATION || n == ISO_INITIALISATION || n == ISO_OPERATIONAL)) {
		iso->life_cycle = (uint8_t)n;
		r = VCARD_OK;
	} else if ((strcmp(word, "pin") == 0 || strcmp(word, "puk") == 0) && a3 != NULL &&
		   state_hex(a1, &value, &len) == VCARD_OK) {
		r = isostate_parse_pin(
		    strcmp(word, "pin") == 0 ? &iso->pin : &iso->puk, value, len, a2, a3);
	} else if (strcmp(word, "key") == 0 && n >= 0 && n < ISO_KEYS && a2 != NULL &&
		   iso->keys[n] == NULL && state_hex(a2, &value, &len) == VCARD_OK) {
		r = keys_from_der(value, len, &iso->keys[n]);
	} else if (strcmp(word, "file") == 0) {
		r = isostate_parse_file(card, a1, a2, a3, a4, a5);
	}
out:
	if (value != NULL)
		OPENSSL_clear_free(value, len);
	return r;
}

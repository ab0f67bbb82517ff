/*
 * state.c - factory defaults of the virtual card and the --state file, so
 * a test can stop the card process and start it again with the same keys,
 * PINs, retry counters, DOs and certificates (OpenPGP) or file system
 * (IsoApplet, whose lines isostate.c writes and reads).
 *
 * The file is line-based text, one item per line, binary values in hex and
 * private keys as hex DER. Its first line names the personality; the
 * OpenPGP card's:
 *
 *   cardbridge-vcard-state 1
 *   pin pw1 313233343536 3
 *   pw1-status 0
 *   key 1 1 3082...        (slot 1..3, origin, DER)
 *   do 00c1 010800002000
 *   cert 0 3082...         (7F21 occurrence 0..2)
 *
 * It is written atomically (temporary file, fsync, rename, fsync of the
 * directory) so a card killed mid-write keeps the previous state. It holds
 * PINs and private keys in clear: it is test data and must stay in the
 * test's own directory (mode 0600).
 */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "vcard.h"

#define STATE_MAGIC "cardbridge-vcard-state 1"
#define STATE_MAGIC_ISO "cardbridge-vcard-isoapplet-state 1"

static bool
state_is_iso(const struct vcard_card *card)
{
	return card->personality == &vcard_isoapplet;
}

int
blob_set(struct vcard_blob *blob, const void *data, size_t len)
{
	uint8_t *copy = NULL;

	if (len > 0) {
		if ((copy = malloc(len)) == NULL)
			return VCARD_ERR_NO_MEMORY;
		memcpy(copy, data, len);
	}
	blob_clear(blob);
	blob->data = copy; /* transferred */
	blob->len = len;
	return VCARD_OK;
}

void
blob_clear(struct vcard_blob *blob)
{
	free(blob->data);
	blob->data = NULL;
	blob->len = 0;
}

void
state_free(struct vcard_card *card)
{
	size_t i;

	for (i = 0; i < VCARD_KEY_SLOTS; i++) {
		EVP_PKEY_free(card->keys[i]);
		card->keys[i] = NULL;
		card->key_origin[i] = 0;
	}
	for (i = 0; i < card->n_dos; i++)
		blob_clear(&card->dos[i].value);
	card->n_dos = 0;
	for (i = 0; i < VCARD_CERT_SLOTS; i++)
		blob_clear(&card->certs[i]);
	OPENSSL_cleanse(&card->pw1, sizeof(card->pw1));
	OPENSSL_cleanse(&card->pw3, sizeof(card->pw3));
	OPENSSL_cleanse(&card->rc, sizeof(card->rc));
	isostate_free(card);
}

/* Everything back to how a new card leaves the factory. */
int
state_factory_reset(struct vcard_card *card)
{
	static const uint8_t rsa2048[] = {0x01, 0x08, 0x00, 0x00, 0x20, 0x00};
	uint16_t tag;
	int r = VCARD_OK;

	state_free(card);
	if (state_is_iso(card))
		return isostate_factory_reset(card);
	memcpy(card->pw1.value, "123456", 6);
	card->pw1.len = 6;
	card->pw1.tries = VCARD_PIN_TRIES;
	memcpy(card->pw3.value, "12345678", 8);
	card->pw3.len = 8;
	card->pw3.tries = VCARD_PIN_TRIES;
	card->pw1_status = 0x00;
	card->sig_count = 0;
	card->terminated = false;
	for (tag = 0xc1; tag <= 0xc3 && r == VCARD_OK; tag++)
		r = dos_set(card, tag, rsa2048, sizeof(rsa2048));
	if (r == VCARD_OK)
		r = dos_set(card, 0x5f2d, "en", 2);
	if (r == VCARD_OK)
		r = dos_set(card, 0x5f35, "9", 1);
	openpgp_reset_volatile(card);
	return r;
}

void
state_put_hex(FILE *f, const uint8_t *data, size_t len)
{
	size_t i;

	if (len == 0)
		fputc('-', f);
	for (i = 0; i < len; i++)
		fprintf(f, "%02x", data[i]);
}

static void
state_put_pin(FILE *f, const char *name, const struct vcard_pin *pin)
{
	fprintf(f, "pin %s ", name);
	state_put_hex(f, pin->value, pin->len);
	fprintf(f, " %u\n", pin->tries);
}

static int
state_write(const struct vcard_card *card, FILE *f)
{
	uint8_t *der = NULL;
	size_t der_len, i;
	int r;

	if (state_is_iso(card)) {
		fprintf(f, "%s\n", STATE_MAGIC_ISO);
		r = isostate_write(card, f);
		return r == VCARD_OK && ferror(f) ? VCARD_ERR_SYSTEM : r;
	}
	fprintf(f, "%s\n", STATE_MAGIC);
	state_put_pin(f, "pw1", &card->pw1);
	state_put_pin(f, "pw3", &card->pw3);
	state_put_pin(f, "rc", &card->rc);
	fprintf(f, "pw1-status %u\nsig-count %u\nterminated %d\n", card->pw1_status,
	    card->sig_count, card->terminated ? 1 : 0);
	for (i = 0; i < VCARD_KEY_SLOTS; i++) {
		if (card->keys[i] == NULL)
			continue;
		if ((r = keys_to_der(card->keys[i], &der, &der_len)) != VCARD_OK)
			return r;
		fprintf(f, "key %zu %u ", i + 1, card->key_origin[i]);
		state_put_hex(f, der, der_len);
		fputc('\n', f);
		OPENSSL_clear_free(der, der_len);
	}
	for (i = 0; i < card->n_dos; i++) {
		fprintf(f, "do %04x ", card->dos[i].tag);
		state_put_hex(f, card->dos[i].value.data, card->dos[i].value.len);
		fputc('\n', f);
	}
	for (i = 0; i < VCARD_CERT_SLOTS; i++) {
		if (card->certs[i].len == 0)
			continue;
		fprintf(f, "cert %zu ", i);
		state_put_hex(f, card->certs[i].data, card->certs[i].len);
		fputc('\n', f);
	}
	return ferror(f) ? VCARD_ERR_SYSTEM : VCARD_OK;
}

static void
state_fsync_dir(const char *path)
{
	char *copy = strdup(path);
	int fd;

	if (copy == NULL)
		return;
	fd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd >= 0) {
		(void)fsync(fd);
		close(fd);
	}
	free(copy);
}

int
state_save(const struct vcard_card *card, const char *path)
{
	char tmp[4096];
	FILE *f = NULL;
	int fd = -1, r;

	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp.%ld", path, (long)getpid()) >= sizeof(tmp)) {
		r = VCARD_ERR_SYSTEM;
		errno = ENAMETOOLONG;
		goto out;
	}
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0 || (f = fdopen(fd, "w")) == NULL) {
		r = VCARD_ERR_SYSTEM;
		goto out;
	}
	fd = -1; /* transferred to f */
	if ((r = state_write(card, f)) != VCARD_OK)
		goto out;
	if (fflush(f) != 0 || fsync(fileno(f)) != 0) {
		r = VCARD_ERR_SYSTEM;
		goto out;
	}
	r = fclose(f) == 0 ? VCARD_OK : VCARD_ERR_SYSTEM;
	f = NULL;
	if (r == VCARD_OK && rename(tmp, path) != 0)
		r = VCARD_ERR_SYSTEM;
	if (r == VCARD_OK)
		state_fsync_dir(path);
out:
	if (r != VCARD_OK) {
		vcard_logf("cannot save state to %s: %s%s%s", path, vcard_err_str(r),
		    r == VCARD_ERR_SYSTEM ? ": " : "",
		    r == VCARD_ERR_SYSTEM ? strerror(errno) : "");
		(void)unlink(tmp);
	}
	if (f != NULL)
		fclose(f);
	if (fd >= 0)
		close(fd);
	return r;
}

/* Decode hex ("-" is empty) into a malloc'ed buffer. */
int
state_hex(const char *hex, uint8_t **out, size_t *out_len)
{
	size_t n = strlen(hex), i;
	uint8_t *bytes;
	unsigned int byte;

	*out = NULL;
	*out_len = 0;
	if (strcmp(hex, "-") == 0)
		return VCARD_OK;
	if (n == 0 || n % 2 != 0 || (bytes = malloc(n / 2)) == NULL)
		return VCARD_ERR_STATE_FORMAT;
	for (i = 0; i < n / 2; i++) {
		if (sscanf(hex + 2 * i, "%2x", &byte) != 1) {
			free(bytes);
			return VCARD_ERR_STATE_FORMAT;
		}
		bytes[i] = (uint8_t)byte;
	}
	*out = bytes;
	*out_len = n / 2;
	return VCARD_OK;
}

static int
state_parse_pin(struct vcard_pin *pin, const uint8_t *value, size_t len, unsigned long tries)
{
	if (len > VCARD_PIN_MAX || tries > VCARD_PIN_TRIES)
		return VCARD_ERR_STATE_FORMAT;
	memset(pin->value, 0, sizeof(pin->value));
	if (len > 0)
		memcpy(pin->value, value, len);
	pin->len = len;
	pin->tries = (uint8_t)tries;
	return VCARD_OK;
}

/* One line: keyword, first argument, optional number, optional hex value. */
static int
state_parse_line(struct vcard_card *card, char *line)
{
	char *word = strtok(line, " \n"), *a1 = strtok(NULL, " \n"), *a2 = strtok(NULL, " \n");
	char *a3 = strtok(NULL, " \n");
	unsigned long n1 = a1 ? strtoul(a1, NULL, 0) : 0;
	uint8_t *value = NULL;
	size_t len = 0;
	int r = VCARD_ERR_STATE_FORMAT;

	if (word == NULL || a1 == NULL)
		goto out;
	if (strcmp(word, "pin") == 0 && a2 && a3 && state_hex(a2, &value, &len) == VCARD_OK) {
		struct vcard_pin *pin = strcmp(a1, "pw1") == 0	 ? &card->pw1
					: strcmp(a1, "pw3") == 0 ? &card->pw3
					: strcmp(a1, "rc") == 0	 ? &card->rc
								 : NULL;
		if (pin != NULL)
			r = state_parse_pin(pin, value, len, strtoul(a3, NULL, 10));
	} else if (strcmp(word, "pw1-status") == 0 && n1 <= 1) {
		card->pw1_status = (uint8_t)n1;
		r = VCARD_OK;
	} else if (strcmp(word, "sig-count") == 0 && n1 <= 0xffffff) {
		card->sig_count = (uint32_t)n1;
		r = VCARD_OK;
	} else if (strcmp(word, "terminated") == 0) {
		card->terminated = n1 != 0;
		r = VCARD_OK;
	} else if (strcmp(word, "key") == 0 && n1 >= 1 && n1 <= VCARD_KEY_SLOTS && a2 && a3 &&
		   state_hex(a3, &value, &len) == VCARD_OK) {
		EVP_PKEY_free(card->keys[n1 - 1]);
		card->keys[n1 - 1] = NULL;
		card->key_origin[n1 - 1] = (uint8_t)strtoul(a2, NULL, 10);
		r = keys_from_der(value, len, &card->keys[n1 - 1]);
	} else if (strcmp(word, "do") == 0 && a2 && state_hex(a2, &value, &len) == VCARD_OK) {
		r = dos_set(card, (uint16_t)strtoul(a1, NULL, 16), value, len);
	} else if (strcmp(word, "cert") == 0 && n1 < VCARD_CERT_SLOTS && a2 &&
		   state_hex(a2, &value, &len) == VCARD_OK && len <= VCARD_MAX_CERT) {
		r = blob_set(&card->certs[n1], value, len);
	}
out:
	if (value != NULL)
		OPENSSL_clear_free(value, len);
	return r;
}

/*
 * Load the state file over factory defaults. A missing file is a new card
 * (and is created); a damaged one is an error naming the line.
 */
int
state_load(struct vcard_card *card, const char *path)
{
	FILE *f = NULL;
	char *line = NULL;
	const char *magic;
	size_t cap = 0, lineno = 0;
	int r;

	if ((r = state_factory_reset(card)) != VCARD_OK)
		goto out;
	f = fopen(path, "re");
	if (f == NULL) {
		if (errno != ENOENT) {
			vcard_logf("cannot open state %s: %s", path, strerror(errno));
			r = VCARD_ERR_SYSTEM;
			goto out;
		}
		r = state_save(card, path);
		goto out;
	}
	magic = state_is_iso(card) ? STATE_MAGIC_ISO : STATE_MAGIC;
	while (getline(&line, &cap, f) > 0) {
		lineno++;
		if (lineno == 1) {
			if (strncmp(line, magic, strlen(magic)) != 0) {
				vcard_logf("state file %s belongs to another personality than %s",
				    path, card->personality->name);
				r = VCARD_ERR_STATE_FORMAT;
				break;
			}
			continue;
		}
		if (state_is_iso(card))
			r = isostate_parse_line(card, line);
		else
			r = state_parse_line(card, line);
		if (r != VCARD_OK)
			break;
	}
	if (lineno == 0)
		r = VCARD_ERR_STATE_FORMAT;
	if (r != VCARD_OK)
		vcard_logf("state file %s is damaged at line %zu", path, lineno);
out:
	if (line != NULL) {
		OPENSSL_cleanse(line, cap);
		free(line);
	}
	if (f != NULL)
		fclose(f);
	return r;
}

/*
 * vcard.h - shared types of cardbridge-vcard, the virtual OpenPGP card 3.4
 * used by the test tiers.
 *
 * The program connects to the vsmartcard "vpcd" driver inside pcscd and
 * answers APDUs like an OpenPGP card would, well enough for OpenSC 0.23.
 * It is test equipment: it must never be installed or linked into the
 * product, and it must never log a PIN.
 *
 * Files:
 *   vcard.c      options, fault injection, connection loop (main)
 *   vpcd_link.c  vpcd wire protocol over TCP
 *   apdu.c       APDU parsing, command chaining, GET RESPONSE, dispatch
 *   openpgp.c    PIN, key and crypto commands of the OpenPGP application
 *   dos.c        data objects: GET DATA, PUT DATA, SELECT DATA
 *   keys.c       OpenSSL 3 key generation and private key operations
 *   state.c      factory defaults and the --state file
 */
#ifndef VCARD_H
#define VCARD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* Errors of the program (not status words, which are plain uint16_t). */
enum vcard_err {
	VCARD_OK = 0,
	VCARD_ERR_SYSTEM = -1, /* see errno */
	VCARD_ERR_NO_MEMORY = -2,
	VCARD_ERR_CONNECT = -3,	     /* vpcd not listening in time */
	VCARD_ERR_PEER_CLOSED = -4,  /* vpcd closed the connection */
	VCARD_ERR_PROTOCOL = -5,     /* malformed vpcd frame */
	VCARD_ERR_CRYPTO = -6,	     /* OpenSSL failed */
	VCARD_ERR_UNSUPPORTED = -7,  /* algorithm or attribute not supported */
	VCARD_ERR_STATE_FORMAT = -8, /* state file damaged */
	VCARD_ERR_INTERRUPTED = -9,  /* SIGTERM or SIGINT */
};

const char *vcard_err_str(int err);

/* Exit codes, documented in README.md. */
#define VCARD_EXIT_OK 0
#define VCARD_EXIT_FAILURE 1
#define VCARD_EXIT_NO_VPCD 2
#define VCARD_EXIT_REMOVED 3

/* Key slots in OpenPGP order; the CRT tags are B6, B8, A4. */
enum vcard_slot { VCARD_SLOT_SIG = 0, VCARD_SLOT_DEC = 1, VCARD_SLOT_AUT = 2 };
#define VCARD_KEY_SLOTS 3
#define VCARD_CERT_SLOTS 3 /* 7F21 occurrences: 0 = AUT, 1 = DEC, 2 = SIG */

#define VCARD_PIN_MAX 127
#define VCARD_PIN_TRIES 3
#define VCARD_MAX_CERT 2048	 /* announced in C0 */
#define VCARD_MAX_SPECIAL_DO 255 /* announced in C0 */
#define VCARD_MAX_CHAIN 4096	 /* largest command a chain may build */
#define VCARD_MAX_RESPONSE 4096	 /* largest response data we build */
#define VCARD_MAX_DOS 48	 /* simple DOs held by the DO store */

/* Status words used by more than one file. */
#define SW_OK 0x9000
#define SW_WRONG_LENGTH 0x6700
#define SW_SECURITY_NOT_SATISFIED 0x6982
#define SW_AUTH_BLOCKED 0x6983
#define SW_CONDITIONS_NOT_SATISFIED 0x6985
#define SW_WRONG_DATA 0x6a80
#define SW_FUNCTION_NOT_SUPPORTED 0x6a81
#define SW_FILE_NOT_FOUND 0x6a82
#define SW_INCORRECT_P1P2 0x6a86
#define SW_DATA_NOT_FOUND 0x6a88
#define SW_WRONG_P1P2 0x6b00
#define SW_INS_NOT_SUPPORTED 0x6d00
#define SW_CLA_NOT_SUPPORTED 0x6e00
#define SW_UNKNOWN 0x6f00
#define SW_MEMORY_FAILURE 0x6581
#define SW_TERMINATED 0x6285

/* A bounded output buffer: appends past the end set overflow instead. */
struct vcard_buf {
	uint8_t data[VCARD_MAX_RESPONSE];
	size_t len;
	bool overflow;
};

void buf_put(struct vcard_buf *b, const void *data, size_t len);
void buf_put_byte(struct vcard_buf *b, uint8_t byte);
void buf_put_tlv(struct vcard_buf *b, unsigned int tag, const void *data, size_t len);

/* A heap copy of some bytes; empty when data is NULL. */
struct vcard_blob {
	uint8_t *data;
	size_t len;
};

int blob_set(struct vcard_blob *blob, const void *data, size_t len);
void blob_clear(struct vcard_blob *blob);

struct vcard_pin {
	uint8_t value[VCARD_PIN_MAX];
	size_t len; /* 0: not set (only the resetting code) */
	uint8_t tries;
};

struct vcard_do {
	uint16_t tag;
	struct vcard_blob value;
};

/* A parsed command APDU. data points into the receive buffer or the chain. */
struct apdu {
	uint8_t cla, ins, p1, p2;
	const uint8_t *data;
	size_t lc;
	size_t le; /* 0 when absent; 256 or 65536 for "00" */
	bool extended;
};

struct vcard_options {
	const char *host;
	unsigned int port;
	const char *state_path; /* NULL: memory only */
	long remove_after;	/* APDUs; 0: never */
	long reinsert_after_ms; /* -1: exit after removal */
	long delay_ms;
	long connect_timeout_ms;
	uint32_t serial; /* card serial number in the AID */
	bool fail_keygen;
	bool verbose;
};

struct vcard_card {
	/* persistent: state.c saves all of these */
	struct vcard_pin pw1, pw3, rc;
	uint8_t pw1_status; /* C4 byte 1: 00 = PW1 valid for one PSO:CDS */
	EVP_PKEY *keys[VCARD_KEY_SLOTS];
	uint8_t key_origin[VCARD_KEY_SLOTS]; /* DE: 0 none, 1 generated */
	uint32_t sig_count;
	bool terminated;
	struct vcard_do dos[VCARD_MAX_DOS];
	size_t n_dos;
	struct vcard_blob certs[VCARD_CERT_SLOTS];

	/* volatile: cleared on power on, reset and SELECT */
	bool pw1_sign_ok, pw1_other_ok, pw3_ok;
	unsigned int cert_occurrence;
	enum vcard_slot dec_slot, aut_slot; /* MSE */
	uint8_t chain_header[4];
	uint8_t chain[VCARD_MAX_CHAIN];
	size_t chain_len;
	struct vcard_buf pending; /* for GET RESPONSE */
	size_t pending_off;

	bool dirty; /* persistent part changed */
	const struct vcard_options *opts;
};

/* apdu.c */
size_t vcard_process_apdu(
    struct vcard_card *card, const uint8_t *in, size_t in_len, uint8_t *out, size_t out_cap);
void vcard_log_hex(const char *prefix, const uint8_t *data, size_t len);

/* openpgp.c: handlers return a status word and append data to resp */
uint16_t handle_select(struct vcard_card *card, const struct apdu *cmd, struct vcard_buf *resp);
uint16_t handle_verify(struct vcard_card *card, const struct apdu *cmd, struct vcard_buf *resp);
uint16_t handle_change_reference_data(
    struct vcard_card *card, const struct apdu *cmd, struct vcard_buf *resp);
uint16_t handle_reset_retry_counter(
    struct vcard_card *card, const struct apdu *cmd, struct vcard_buf *resp);
uint16_t handle_generate_key(
    struct vcard_card *card, const struct apdu *cmd, struct vcard_buf *resp);
uint16_t handle_pso(struct vcard_card *card, const struct apdu *cmd, struct vcard_buf *resp);
uint16_t handle_internal_authenticate(
    struct vcard_card *card, const struct apdu *cmd, struct vcard_buf *resp);
uint16_t handle_mse(struct vcard_card *card, const struct apdu *cmd, struct vcard_buf *resp);
uint16_t handle_get_challenge(
    struct vcard_card *card, const struct apdu *cmd, struct vcard_buf *resp);
uint16_t handle_terminate_df(
    struct vcard_card *card, const struct apdu *cmd, struct vcard_buf *resp);
uint16_t handle_activate_file(
    struct vcard_card *card, const struct apdu *cmd, struct vcard_buf *resp);
void openpgp_reset_volatile(struct vcard_card *card);

/* dos.c */
uint16_t handle_get_data(struct vcard_card *card, const struct apdu *cmd, struct vcard_buf *resp);
uint16_t handle_put_data(struct vcard_card *card, const struct apdu *cmd, struct vcard_buf *resp);
uint16_t handle_select_data(
    struct vcard_card *card, const struct apdu *cmd, struct vcard_buf *resp);
uint16_t handle_get_next_data(
    struct vcard_card *card, const struct apdu *cmd, struct vcard_buf *resp);
const struct vcard_blob *dos_find(const struct vcard_card *card, uint16_t tag);
int dos_set(struct vcard_card *card, uint16_t tag, const void *data, size_t len);
void dos_forget_key(struct vcard_card *card, enum vcard_slot slot);
void dos_put_aid(const struct vcard_card *card, struct vcard_buf *out);
extern const uint8_t vcard_atr[];
extern const size_t vcard_atr_len;

/* keys.c */
bool keys_attr_supported(const uint8_t *attr, size_t len);
int keys_generate(const uint8_t *attr, size_t attr_len, EVP_PKEY **out);
int keys_public_do(EVP_PKEY *pkey, struct vcard_buf *out);
int keys_sign(EVP_PKEY *pkey, const uint8_t *in, size_t in_len, struct vcard_buf *out);
int keys_decipher(EVP_PKEY *pkey, const uint8_t *in, size_t in_len, struct vcard_buf *out);
bool keys_is_rsa(EVP_PKEY *pkey);
int keys_to_der(EVP_PKEY *pkey, uint8_t **der, size_t *der_len);
int keys_from_der(const uint8_t *der, size_t der_len, EVP_PKEY **out);

/* state.c */
int state_factory_reset(struct vcard_card *card);
int state_load(struct vcard_card *card, const char *path);
int state_save(const struct vcard_card *card, const char *path);
void state_free(struct vcard_card *card);

/* vpcd_link.c */
int vpcd_link_connect(const char *host, unsigned int port, long timeout_ms, int *fd_out);
int vpcd_link_recv(int fd, uint8_t *buf, size_t cap, size_t *len_out);
int vpcd_link_send(int fd, const uint8_t *data, size_t len);

/* vcard.c */
extern volatile int vcard_stop;
void vcard_logf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
extern bool vcard_verbose;

#endif /* VCARD_H */

/*
 * vcard.h - shared types of cardbridge-vcard, the virtual smart card used
 * by the test tiers. It has two personalities: an OpenPGP card 3.4 (the
 * default) and a Java Card running the IsoApplet PKI applet (API 00.06).
 *
 * The program connects to the vsmartcard "vpcd" driver inside pcscd and
 * answers APDUs like the real card would, well enough for OpenSC 0.23.
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
 *   isoapplet.c  IsoApplet: SELECT, PINs, MSE, PSO, key generation
 *   isofs.c      IsoApplet: the ISO 7816-4 file system and its ACLs
 *   isokeys.c    IsoApplet: key pairs from explicit curve parameters, 7F49
 *   isostate.c   IsoApplet: factory state and its --state file lines
 */
#ifndef VCARD_H
#define VCARD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

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
#define SW_SM_NOT_SUPPORTED 0x6882
#define SW_CHAINING_NOT_SUPPORTED 0x6884
#define SW_COMMAND_NOT_ALLOWED_GENERAL 0x6900
#define SW_FILE_STRUCTURE 0x6981
#define SW_SECURITY_NOT_SATISFIED 0x6982
#define SW_AUTH_BLOCKED 0x6983
#define SW_DATA_INVALID 0x6984
#define SW_CONDITIONS_NOT_SATISFIED 0x6985
#define SW_COMMAND_NOT_ALLOWED 0x6986
#define SW_WRONG_DATA 0x6a80
#define SW_FUNCTION_NOT_SUPPORTED 0x6a81
#define SW_FILE_NOT_FOUND 0x6a82
#define SW_FILE_FULL 0x6a84
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

struct vcard_card;

typedef uint16_t (*vcard_handler)(
    struct vcard_card *card, const struct apdu *cmd, struct vcard_buf *resp);

enum command_flags {
	WHEN_TERMINATED = 1 << 0, /* allowed while the application is terminated */
	SECRET_DATA = 1 << 1,	  /* command data holds PINs: never log it */
	PERSISTS = 1 << 2,	  /* may change persistent state */
	CHAINS = 1 << 3,	  /* may be chained where not every command may */
};

struct vcard_command {
	uint8_t ins;
	vcard_handler handler;
	unsigned int flags;
};

/*
 * What makes one card different from the other: its ATR, its instruction
 * table and the few framing rules apdu.c applies before dispatching.
 */
struct vcard_personality {
	const char *name;
	const uint8_t *atr;
	size_t atr_len;
	const struct vcard_command *commands;
	size_t n_commands;
	uint8_t cla_reserved; /* CLA bits that make 6E00 (after the SM check) */
	bool chain_any;	      /* any command may be chained, not only CHAINS rows */
	/* Before dispatch and GET RESPONSE: SW_OK, or the status to refuse with. */
	uint16_t (*precheck)(struct vcard_card *card, const struct apdu *cmd);
	/* Power on, reset, reconnect: forget everything that is not persistent. */
	void (*reset_volatile)(struct vcard_card *card);
};

extern const struct vcard_personality vcard_openpgp, vcard_isoapplet;

struct vcard_options {
	const char *host;
	unsigned int port;
	const char *state_path; /* NULL: memory only */
	const struct vcard_personality *personality;
	const char *apdu_count_path; /* NULL: not counted */
	long remove_after;	     /* APDUs; 0: never */
	long reinsert_after_ms;	     /* -1: exit after removal */
	long delay_ms;		     /* before every APDU */
	long keygen_delay_ms;	     /* before every key generation */
	long connect_timeout_ms;
	uint32_t serial; /* card serial number in the AID */
	bool fail_keygen;
	bool verbose;
};

/* IsoApplet (API 00.06, the version OpenSC 0.23 speaks) */
#define ISO_PIN_LEN 16 /* PIN_MAX_LENGTH: PINs are kept zero-padded to it */
#define ISO_PIN_MIN 4
#define ISO_PUK_LEN 16 /* the PUK has exactly this length */
#define ISO_PIN_TRIES 3
#define ISO_PUK_TRIES 5
#define ISO_KEYS 16	    /* KEY_MAX_COUNT: key references 0..15 */
#define ISO_MAX_FILES 64    /* MF included */
#define ISO_MAX_CHILDREN 30 /* CHILDREN_COUNT_MAX of a DF */
#define ISO_FS_BYTES 65536  /* what the EEPROM holds for FCIs and file bodies */
#define ISO_EF_DEFAULT_SIZE 128

/* Applet life cycle (the values the applet uses). */
enum iso_life_cycle {
	ISO_CREATION = 0x00,	   /* nothing set: no PIN needed for anything */
	ISO_INITIALISATION = 0x01, /* PUK set, PIN not yet */
	ISO_OPERATIONAL = 0x05,	   /* PIN set: files and keys are protected */
};

/* An OwnerPIN: a zero-padded value, a try counter and its limit. */
struct iso_pin {
	uint8_t value[ISO_PIN_LEN];
	uint8_t tries, max_tries;
	bool set;
};

/* One node of the file tree; files[0] is the MF. */
struct iso_file {
	bool used;
	bool df;
	uint8_t structure; /* EF: file descriptor byte & 7 (1 = transparent) */
	uint16_t fid;
	int parent;		/* index in files[], -1 for the MF */
	unsigned int seq;	/* creation order, the order of a DF's children */
	struct vcard_blob fci;	/* as the host sent it in CREATE FILE */
	struct vcard_blob data; /* transparent EF body, fixed size */
};

struct iso_card {
	/* persistent: isostate.c saves all of these */
	uint8_t life_cycle;
	struct iso_pin pin, puk;
	EVP_PKEY *keys[ISO_KEYS];
	struct iso_file files[ISO_MAX_FILES];
	unsigned int next_seq;

	/* volatile: cleared on power on, reset and (re)selection */
	bool selected;		    /* the applet is the selected application */
	bool pin_validated;	    /* OwnerPIN.isValidated(): needed by MSE, PSO, ... */
	bool fs_authenticated;	    /* ACL byte 90 satisfied */
	int current_df, current_ef; /* indexes in files[]; -1: no EF */
	uint8_t se_algorithm;	    /* MSE: algorithm reference */
	int se_key;		    /* MSE: private key reference, -1 none */
};

struct vcard_card {
	const struct vcard_personality *personality;
	struct iso_card iso; /* the IsoApplet personality's own state */

	/* OpenPGP, persistent: state.c saves all of these */
	struct vcard_pin pw1, pw3, rc;
	uint8_t pw1_status; /* C4 byte 1: 00 = PW1 valid for one PSO:CDS */
	EVP_PKEY *keys[VCARD_KEY_SLOTS];
	uint8_t key_origin[VCARD_KEY_SLOTS]; /* DE: 0 none, 1 generated */
	uint32_t sig_count;
	bool terminated;
	struct vcard_do dos[VCARD_MAX_DOS];
	size_t n_dos;
	struct vcard_blob certs[VCARD_CERT_SLOTS];

	/* OpenPGP, volatile: cleared on power on, reset and SELECT */
	bool pw1_sign_ok, pw1_other_ok, pw3_ok;
	unsigned int cert_occurrence;
	enum vcard_slot dec_slot, aut_slot; /* MSE */

	/* framing (apdu.c), volatile */
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

/* OpenPGP historical bytes (ATR and 5F52): card capabilities 73 C0 01 80 =
 * command chaining, no extended Lc/Le; status 05 = operational, 90 00. */
#define OPENPGP_HIST_BYTES 0x00, 0x31, 0xf5, 0x73, 0xc0, 0x01, 0x80, 0x05, 0x90, 0x00

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
void state_put_hex(FILE *f, const uint8_t *data, size_t len);
int state_hex(const char *hex, uint8_t **out, size_t *out_len);

/* isoapplet.c */
void iso_reset_volatile(struct vcard_card *card);

/* isofs.c: handlers, and what isoapplet.c and isostate.c need */
uint16_t handle_iso_select_file(
    struct vcard_card *card, const struct apdu *cmd, struct vcard_buf *resp);
uint16_t handle_iso_read_binary(
    struct vcard_card *card, const struct apdu *cmd, struct vcard_buf *resp);
uint16_t handle_iso_update_binary(
    struct vcard_card *card, const struct apdu *cmd, struct vcard_buf *resp);
uint16_t handle_iso_create_file(
    struct vcard_card *card, const struct apdu *cmd, struct vcard_buf *resp);
uint16_t handle_iso_delete_file(
    struct vcard_card *card, const struct apdu *cmd, struct vcard_buf *resp);
int isofs_format(struct iso_card *iso);
void isofs_free(struct iso_card *iso);
void isofs_select_mf(struct iso_card *iso);
const uint8_t *isofs_fci_value(const struct iso_file *f, uint8_t tag, size_t *value_len);
bool iso_tlv_consistent(const uint8_t *p, size_t len);
const uint8_t *iso_tlv_find(const uint8_t *p, size_t len, uint8_t tag, size_t *value_len);

/* isokeys.c */
int isokeys_generate_rsa(EVP_PKEY **out);
int isokeys_generate_ec(const uint8_t *params, size_t len, EVP_PKEY **out);
int isokeys_public_do(EVP_PKEY *pkey, struct vcard_buf *out);
int isokeys_sign_ecdsa_sha1(
    EVP_PKEY *pkey, const uint8_t *in, size_t in_len, struct vcard_buf *out);

/* isostate.c */
int isostate_factory_reset(struct vcard_card *card);
int isostate_write(const struct vcard_card *card, FILE *f);
int isostate_parse_line(struct vcard_card *card, char *line);
void isostate_free(struct vcard_card *card);

/* vpcd_link.c */
int vpcd_link_connect(const char *host, unsigned int port, long timeout_ms, int *fd_out);
int vpcd_link_recv(int fd, uint8_t *buf, size_t cap, size_t *len_out);
int vpcd_link_send(int fd, const uint8_t *data, size_t len);

/* vcard.c */
extern volatile int vcard_stop;
void vcard_logf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void vcard_sleep_ms(long ms);
void vcard_keygen_delay(const struct vcard_card *card);
extern bool vcard_verbose;

#endif /* VCARD_H */

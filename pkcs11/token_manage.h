/*
 * token_manage.h - what a token tells about its PINs, and which management
 * operations (change, unblock, first PIN, delete) cardbridge can do on it
 * and why not (token_manage.c).  tokens.list shows both; the handlers of
 * those operations (pins.c, objects_delete.c) refuse what they say cannot.
 */
#ifndef CB_PKCS11_TOKEN_MANAGE_H
#define CB_PKCS11_TOKEN_MANAGE_H

#include <stdbool.h>

#include <p11-kit/p11-kit.h>

struct json_object;
struct token;

/* What kind of token it is, as far as PIN management goes. */
enum token_kind {
	TOKEN_KIND_PKCS11,   /* a module other than OpenSC: plain PKCS#11 (SoftHSM2, vendors) */
	TOKEN_KIND_OPENPGP,  /* OpenSC's emulation of an OpenPGP card */
	TOKEN_KIND_MYEID,    /* OpenSC, a MyEID card (PKCS#15, PUK inside the PIN record) */
	TOKEN_KIND_PKCS15,   /* OpenSC, another real PKCS#15 card (IsoApplet...) */
	TOKEN_KIND_EMULATED, /* OpenSC, another emulated card (PIV, national ID cards...) */
};

enum token_op {
	TOKEN_OP_CHANGE_PIN,
	TOKEN_OP_CHANGE_SO_PIN,
	TOKEN_OP_UNBLOCK_PIN,
	TOKEN_OP_INITIALIZE_PIN,
	TOKEN_OP_DELETE_OBJECTS,
	TOKEN_OP_COUNT
};

struct token_manage {
	enum token_kind kind;
	bool can[TOKEN_OP_COUNT];
	const char *why[TOKEN_OP_COUNT]; /* English, for a page; NULL where can[] */
	/* Unblocking: C_Login(CKU_SO) with the PUK (OpenSC's cards without an SO PIN), or with
	 * the SO / admin PIN, then C_InitPIN with the new user PIN. */
	bool unblock_with_puk;
	/* Whether CK_TOKEN_INFO's ulMin/MaxPinLen also hold for the SO PIN (not on OpenSC). */
	bool so_pin_limits;
};

/* From what t reports (no APDU beyond what t holds already). */
void token_manage_facts(const struct token *t, struct token_manage *m);

/* tokens.list's "pins" and "manage" members of t; NULL when out of memory. */
struct json_object *token_pins_json(const struct token *t);
struct json_object *token_manage_json(const struct token *t);

#endif /* CB_PKCS11_TOKEN_MANAGE_H */

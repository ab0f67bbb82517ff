/*
 * token_manage.c - the state of a token's PINs and what cardbridge can
 * manage on it, from what the token and its module report: CK_TOKEN_INFO's
 * flags and limits, the module (OpenSC or another), and for OpenSC the
 * card type as the token reports it (manufacturer and model, which OpenSC
 * fills in from the card, never the label a user chose).
 *
 * Plain PKCS#11 modules (SoftHSM2, vendors' modules) get the standard:
 * C_SetPIN changes a PIN, C_Login(CKU_SO) + C_InitPIN sets or resets the
 * user PIN, C_DestroyObject deletes, and the flags tell the PINs' state.
 * OpenSC 0.23 differs per card (doc/PROTOCOL.md, "Card management", has
 * what was measured and read in its source):
 *   - it never sets CKF_SO_PIN_* or CKF_USER_PIN_TO_BE_CHANGED, and hardly
 *     ever CKF_USER_PIN_COUNT_LOW (it seldom knows the most tries); on
 *     OpenPGP cards of spec < 3.1 the user PIN's flags belong to another
 *     PIN (fixed in OpenSC 0.27);
 *   - on cards whose driver cannot ask for the tries left (IsoApplet...)
 *     the flags only tell what the last failed PIN in this process saw;
 *   - unblocking works as opensc_conf.c sets it up: the admin PIN (PW3)
 *     resets PW1 on OpenPGP cards, the PUK on PKCS#15 cards without an SO
 *     PIN (IsoApplet); MyEID answers CKR_DATA_INVALID;
 *   - a first PIN cannot be set through PKCS#11 on the cards we know, and
 *     OpenPGP cards cannot delete anything (C_DestroyObject does nothing).
 * The reasons are English for the page; N_() puts them in the catalog
 * for the cardbridge tool, which shows them translated.
 * Must never: send anything to a token (tokens.list stays free of APDUs),
 * or say a token can do what we have not seen it do.
 */
#include "config.h"

#include <string.h>

#include <json.h>

#include "common/i18n.h"
#include "pkcs11/field.h"
#include "pkcs11/module.h"
#include "pkcs11/opensc_conf.h"
#include "pkcs11/token.h"
#include "pkcs11/token_capabilities.h"
#include "pkcs11/token_manage.h"

#define OPENSC_MANUFACTURER "OpenSC Project"

static const char *const op_names[TOKEN_OP_COUNT] = {
    [TOKEN_OP_CHANGE_PIN] = "canChangePin",
    [TOKEN_OP_CHANGE_SO_PIN] = "canChangeSoPin",
    [TOKEN_OP_UNBLOCK_PIN] = "canUnblockPin",
    [TOKEN_OP_INITIALIZE_PIN] = "canInitializePin",
    [TOKEN_OP_DELETE_OBJECTS] = "canDeleteObjects",
};

static bool
is_opensc(const struct token *t)
{
	return t->module != NULL && strcmp(t->module->manufacturer, OPENSC_MANUFACTURER) == 0;
}

static enum token_kind
token_kind(const struct token *t)
{
	if (!is_opensc(t))
		return TOKEN_KIND_PKCS11;
	if (token_is_openpgp_card(t))
		return TOKEN_KIND_OPENPGP;
	if (strcmp(t->model, "PKCS#15 emulated") == 0)
		return TOKEN_KIND_EMULATED;
	/* MyEID's pkcs15-init profile writes this manufacturer into the card's TokenInfo. */
	if (strcmp(t->manufacturer, "Aventra Ltd.") == 0)
		return TOKEN_KIND_MYEID;
	return TOKEN_KIND_PKCS15;
}

static void
cannot(struct token_manage *m, enum token_op op, const char *why)
{
	m->can[op] = false;
	m->why[op] = why;
}

static void
unblock_facts(struct token_manage *m)
{
	const char *why;

	if (m->kind == TOKEN_KIND_PKCS11)
		return;
	if (!opensc_conf_unblock(&why))
		cannot(m, TOKEN_OP_UNBLOCK_PIN, why);
	else if (m->kind == TOKEN_KIND_MYEID)
		cannot(m, TOKEN_OP_UNBLOCK_PIN,
		    N_("MyEID cards refuse OpenSC 0.23's unblock through PKCS#11 "
		       "(CKR_DATA_INVALID); "
		       "unblock the PIN with the PUK using OpenSC's pkcs15-tool --unblock-pin"));
	else if (m->kind == TOKEN_KIND_EMULATED)
		cannot(m, TOKEN_OP_UNBLOCK_PIN,
		    N_("cardbridge does not know how OpenSC unblocks the PIN of this card; use the "
		       "card's own tools"));
	/* OpenPGP: the admin PIN (PW3) resets PW1.  PKCS#15 cards: the PUK. */
	m->unblock_with_puk = m->kind == TOKEN_KIND_PKCS15 || m->kind == TOKEN_KIND_MYEID;
}

/* The OpenSC cards' differences from plain PKCS#11 (see the top of the file). */
static void
opensc_facts(struct token_manage *m)
{
	if (m->kind != TOKEN_KIND_OPENPGP)
		cannot(m, TOKEN_OP_CHANGE_SO_PIN,
		    N_("OpenSC shows no SO PIN for this card, and a PUK cannot be changed through "
		       "PKCS#11"));
	if (m->kind == TOKEN_KIND_MYEID)
		cannot(m, TOKEN_OP_INITIALIZE_PIN,
		    N_("the card needs a PUK with the first PIN, and C_InitPIN cannot pass one; "
		       "set it "
		       "with OpenSC's pkcs15-init --store-pin"));
	else
		cannot(m, TOKEN_OP_INITIALIZE_PIN,
		    N_("OpenSC cannot set a first PIN on this card through PKCS#11; use OpenSC's "
		       "pkcs15-init"));
	if (m->kind == TOKEN_KIND_OPENPGP)
		cannot(m, TOKEN_OP_DELETE_OBJECTS,
		    N_("OpenSC cannot delete keys or certificates on OpenPGP cards (deleting a key "
		       "does "
		       "nothing on the card); erase the card with openpgp-tool --erase"));
	else if (m->kind == TOKEN_KIND_EMULATED)
		cannot(
		    m, TOKEN_OP_DELETE_OBJECTS, N_("OpenSC's emulation of this card is read-only"));
}

/* What holds whatever the module: the token's state. */
static void
state_facts(const struct token *t, struct token_manage *m)
{
	CK_FLAGS flags = t->info.flags;
	enum token_op op;

	if (flags & CKF_WRITE_PROTECTED) {
		for (op = 0; op < TOKEN_OP_COUNT; op++)
			cannot(m, op, N_("the token is write-protected"));
		return;
	}
	if (!(flags & CKF_LOGIN_REQUIRED))
		cannot(m, TOKEN_OP_CHANGE_PIN, N_("the token asks for no PIN"));
	if (!(flags & CKF_USER_PIN_INITIALIZED)) {
		cannot(m, TOKEN_OP_CHANGE_PIN, N_("the token has no user PIN yet"));
		cannot(m, TOKEN_OP_UNBLOCK_PIN, N_("the token has no user PIN yet"));
	} else if (m->can[TOKEN_OP_INITIALIZE_PIN])
		cannot(m, TOKEN_OP_INITIALIZE_PIN, N_("the user PIN is set already"));
}

void
token_manage_facts(const struct token *t, struct token_manage *m)
{
	enum token_op op;

	memset(m, 0, sizeof(*m));
	m->kind = token_kind(t);
	for (op = 0; op < TOKEN_OP_COUNT; op++)
		m->can[op] = true;
	m->so_pin_limits = m->kind == TOKEN_KIND_PKCS11;
	if (m->kind != TOKEN_KIND_PKCS11)
		opensc_facts(m);
	unblock_facts(m);
	/* Last: a write-protected token, or one without a PIN, says so whatever else holds. */
	state_facts(t, m);
}

/* --- JSON for tokens.list --- */

/*
 * Can the user PIN's flags be believed?  Not on OpenPGP cards of spec
 * < 3.1 through OpenSC < 0.27 (firmwareVersion is the spec's version
 * there): the flags are PW3's or the resetting code's.
 */
static bool
user_flags_trusted(const struct token *t, enum token_kind kind)
{
	CK_INFO info;
	CK_VERSION fw = t->info.firmwareVersion;

	if (kind != TOKEN_KIND_OPENPGP || fw.major > 3 || (fw.major == 3 && fw.minor >= 1))
		return true;
	if (t->module->funcs->C_GetInfo(&info) != CKR_OK)
		return false;
	return info.libraryVersion.major > 0 || info.libraryVersion.minor >= 27;
}

/*
 * "ok", "countLow", "finalTry", "locked" or "unknown".  only_bad: the
 * flags can say that tries were lost but never that none were (OpenSC on
 * cards that cannot be asked for the tries left), so no flag is "unknown".
 */
static const char *
pin_state(CK_FLAGS flags, bool so, bool trusted, bool only_bad)
{
	CK_FLAGS locked = so ? CKF_SO_PIN_LOCKED : CKF_USER_PIN_LOCKED;
	CK_FLAGS final_try = so ? CKF_SO_PIN_FINAL_TRY : CKF_USER_PIN_FINAL_TRY;
	CK_FLAGS count_low = so ? CKF_SO_PIN_COUNT_LOW : CKF_USER_PIN_COUNT_LOW;

	if (!trusted)
		return "unknown";
	if (flags & locked)
		return "locked";
	if (flags & final_try)
		return "finalTry";
	if (flags & count_low)
		return "countLow";
	return only_bad ? "unknown" : "ok";
}

static struct json_object *
pin_json(bool initialized, const char *state, int to_be_changed)
{
	struct json_object *o = json_object_new_object();

	if (o == NULL ||
	    json_object_object_add(o, "initialized", json_object_new_boolean(initialized)) != 0 ||
	    field_add_string(o, "state", state) != 0 ||
	    json_object_object_add(o, "toBeChanged",
		to_be_changed < 0 ? NULL : json_object_new_boolean(to_be_changed)) != 0) {
		json_object_put(o);
		return NULL;
	}
	return o;
}

static struct json_object *
length_json(CK_ULONG n)
{
	/* 0 as a maximum is a module that did not say (as for key sizes). */
	if (n == CK_UNAVAILABLE_INFORMATION || n == 0 || n > 0x7fffffff)
		return NULL;
	return json_object_new_int64((int64_t)n);
}

/* The user PIN as the token tells it. */
static struct json_object *
user_pin_json(const struct token *t, enum token_kind kind)
{
	CK_FLAGS flags = t->info.flags;
	bool live =
	    kind == TOKEN_KIND_PKCS11 || kind == TOKEN_KIND_OPENPGP || kind == TOKEN_KIND_MYEID;
	int to_be_changed = (flags & CKF_USER_PIN_TO_BE_CHANGED) != 0;

	/* OpenSC 0.23 never sets the flag: no flag there tells nothing. */
	if (kind != TOKEN_KIND_PKCS11 && !to_be_changed)
		to_be_changed = -1;
	return pin_json((flags & CKF_USER_PIN_INITIALIZED) != 0,
	    pin_state(flags, false, user_flags_trusted(t, kind), !live), to_be_changed);
}

struct json_object *
token_pins_json(const struct token *t)
{
	struct json_object *o = json_object_new_object(), *user, *so = NULL;
	enum token_kind kind = token_kind(t);
	CK_FLAGS flags = t->info.flags;

	user = user_pin_json(t, kind);
	/* An initialised token has an SO PIN in plain PKCS#11; OpenSC tells nothing of it. */
	if (kind == TOKEN_KIND_PKCS11)
		so = pin_json(true, pin_state(flags, true, true, false),
		    (flags & CKF_SO_PIN_TO_BE_CHANGED) != 0);
	if (o == NULL || user == NULL || (kind == TOKEN_KIND_PKCS11 && so == NULL) ||
	    json_object_object_add(o, "user", json_object_get(user)) != 0 ||
	    json_object_object_add(o, "so", json_object_get(so)) != 0 ||
	    json_object_object_add(o, "minLength", length_json(t->info.ulMinPinLen)) != 0 ||
	    json_object_object_add(o, "maxLength", length_json(t->info.ulMaxPinLen)) != 0) {
		json_object_put(o);
		o = NULL;
	}
	json_object_put(user);
	json_object_put(so);
	return o;
}

struct json_object *
token_manage_json(const struct token *t)
{
	struct json_object *o = json_object_new_object(), *why = json_object_new_object();
	struct token_manage m;
	enum token_op op;
	const char *with = NULL;
	int r = 0;

	token_manage_facts(t, &m);
	if (m.can[TOKEN_OP_UNBLOCK_PIN])
		with = m.unblock_with_puk ? "puk" : "so";
	for (op = 0; o != NULL && why != NULL && op < TOKEN_OP_COUNT; op++) {
		r |= json_object_object_add(o, op_names[op], json_object_new_boolean(m.can[op]));
		if (!m.can[op])
			r |= field_add_string(why, op_names[op], m.why[op]);
	}
	if (o == NULL || why == NULL || r != 0 || field_add_string(o, "unblockWith", with) != 0 ||
	    json_object_object_add(o, "why", json_object_get(why)) != 0) {
		json_object_put(o);
		o = NULL;
	}
	json_object_put(why);
	return o;
}

/*
 * pins.c - pins.change, pins.unblock and pins.initialize: a user or SO PIN
 * changed, a user PIN unblocked, a first user PIN set; every PIN typed in
 * the helper's dialogs (or on the reader's keypad).
 *
 * The sequences (doc/PROTOCOL.md, "Card management", says why):
 *   change      C_Login(which, old) + C_SetPIN(old, new).  The login comes
 *               first, whatever the module does with an unlogged C_SetPIN
 *               (under OpenSC's set_pin_in_unlogged_session it would be an
 *               unblock that spends a PUK try), and a wrong old PIN gets
 *               the login's dialogs and messages.
 *   unblock     C_Login(CKU_SO, PUK or SO/admin PIN) + C_InitPIN(new), as
 *               token_manage.c says: with the PUK (OpenSC's PKCS#15 cards,
 *               where OpenSC checks the PUK only at C_InitPIN, so both are
 *               asked for before either is sent), or with the SO / admin
 *               PIN (plain PKCS#11, OpenPGP's PW3), logged in first.
 *   initialize  C_Login(CKU_SO) + C_InitPIN(new), where no user PIN is set.
 * A new PIN is typed twice and its length checked (pin_new.c) before the
 * token sees it.  PIN-pad readers: the keypad asks (NULL PINs).
 * Must never: send a PIN the user did not type for this very call, keep a
 * PIN past the call that needs it, or try what token_manage.c says the
 * token cannot do.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "protocol/cberr.h"
#include "protocol/methods.h"
#include "common/i18n.h"
#include "pkcs11/field.h"
#include "pkcs11/helper.h"
#include "pkcs11/log.h"
#include "pkcs11/login.h"
#include "pkcs11/p11_error.h"
#include "pkcs11/pin.h"
#include "pkcs11/request.h"
#include "pkcs11/secret.h"
#include "pkcs11/token.h"
#include "pkcs11/token_manage.h"
#include "pkcs11/token_session.h"

#define PIN_MAX_LEN 256
/* Dialogs for one PUK, or tries at a new PIN the token refuses, in one request. */
#define PINS_TRIES 3

struct pins_op {
	struct request *req;
	struct token token;
	struct token_manage manage;
	struct token_session session;
	CK_USER_TYPE user;		/* whose PIN changes (pins.change) */
	char operation[128];		/* for the dialogs: "change the user PIN" */
	struct pin_prompt fresh_prompt; /* the new PIN's dialog */
	unsigned long min_len, max_len; /* the new PIN's; 0: not known */
	struct secret *old, *fresh;
};

static bool
pin_pad(const struct pins_op *op)
{
	return (op->token.info.flags & CKF_PROTECTED_AUTHENTICATION_PATH) != 0;
}

/* The token named by params.token, and whether it can do what. */
static int
pins_begin(struct pins_op *op, enum token_op what)
{
	const char *uri = proto_param_string(op->req->params, "token");
	int r;

	if ((r = token_find(op->req, uri, &op->token)) != 0)
		return r;
	token_manage_facts(&op->token, &op->manage);
	if (!op->manage.can[what])
		return request_fail(op->req, CB_ERR_NOT_SUPPORTED, "%s", op->manage.why[what]);
	return 0;
}

/* The new PIN's dialog and limits: the token's, for an SO PIN only where they hold. */
static void
pins_fresh_prompt(struct pins_op *op, bool so)
{
	const CK_TOKEN_INFO *info = &op->token.info;

	op->fresh_prompt = (struct pin_prompt){
	    .operation = op->operation,
	    .token_label = op->token.label,
	    .token_serial = op->token.serial,
	    .admin_pin = so,
	    .max_len = PIN_MAX_LEN,
	};
	op->min_len = op->max_len = 0;
	if (so && !op->manage.so_pin_limits)
		return;
	if (info->ulMinPinLen != CK_UNAVAILABLE_INFORMATION)
		op->min_len = info->ulMinPinLen;
	if (info->ulMaxPinLen != CK_UNAVAILABLE_INFORMATION && info->ulMaxPinLen < PIN_MAX_LEN)
		op->max_len = info->ulMaxPinLen;
}

/*
 * What C_SetPIN or C_InitPIN said of the new PIN.  PIN_INVALID: ask for
 * another (the next dialog says why).
 */
static int
pins_outcome(struct pins_op *op, CK_RV rv, const char *what)
{
	switch (rv) {
	case CKR_OK:
		return 0;
	case CKR_PIN_LEN_RANGE:
	case CKR_PIN_INVALID:
		op->fresh_prompt.error =
		    _("The token does not accept a PIN of this length or with these characters.");
		return request_fail(op->req, CB_ERR_PIN_INVALID,
		    "The token does not accept a PIN of this length or with these characters.");
	case CKR_PIN_INCORRECT:
		return request_fail(op->req, CB_ERR_PIN_INCORRECT, "%s: PIN incorrect", what);
	case CKR_PIN_LOCKED:
		op->req->retries_left = 0;
		return request_fail(op->req, CB_ERR_PIN_LOCKED, "%s: the PIN is locked", what);
	default:
		return p11_fail(op->req, rv, what);
	}
}

/* New PINs until the token takes one; set() sends it (NULL on a PIN pad). */
static int
pins_send_new(struct pins_op *op, CK_RV (*set)(struct pins_op *op), const char *what)
{
	int r, tries;

	for (tries = 1;; tries++) {
		if ((r = pin_ask_new(
			 op->req, &op->fresh_prompt, op->min_len, op->max_len, &op->fresh)) != 0)
			return r;
		r = pins_outcome(op, set(op), what);
		secret_free(op->fresh);
		op->fresh = NULL;
		if (r != CB_ERR_PIN_INVALID || tries == PINS_TRIES)
			return r;
	}
}

/* A PIN pad: the notice with closing says what to type, and the keypad takes it. */
static int
pins_on_pad(
    struct pins_op *op, const char *closing, CK_RV (*set)(struct pins_op *op), const char *what)
{
	struct pin_prompt prompt = op->fresh_prompt;
	struct dialog *notice = NULL;
	CK_RV rv;
	int r;

	prompt.closing = closing;
	if ((r = pin_pad_begin(op->req, &prompt, &notice)) != 0)
		return r;
	/* Progress hook: waitingForPinPad (pin user, or puk when unblocking with it). */
	rv = set(op);
	pin_pad_end(notice);
	if (rv == CKR_FUNCTION_CANCELED)
		return request_fail(op->req, CB_ERR_USER_CANCELLED, "cancelled on the keypad");
	return pins_outcome(op, rv, what);
}

static int
pins_result(struct pins_op *op, const char *pin, const char *with, struct json_object **result)
{
	struct json_object *obj = json_object_new_object();

	if (obj == NULL || field_add_string(obj, "token", op->token.uri) != 0 ||
	    field_add_string(obj, "pin", pin) != 0 ||
	    (with != NULL && field_add_string(obj, "with", with) != 0)) {
		json_object_put(obj);
		return CB_ERR_ALLOC;
	}
	/* The PIN's state changed: the daemon reads the tokens again and tells the pages. */
	helper_send_event("tokensChanged");
	*result = obj;
	return 0;
}

/* Whatever happened: nothing of the PINs stays, the token is free again. */
static int
pins_end(struct pins_op *op, int r)
{
	secret_free(op->old);
	secret_free(op->fresh);
	op->old = op->fresh = NULL;
	token_session_close(&op->session);
	if (r != 0 && op->token.module != NULL)
		r = token_check_removed(op->req, &op->token, r);
	token_clear(&op->token);
	return r;
}

/* --- pins.change --- */

static CK_RV
set_pin(struct pins_op *op)
{
	struct token_session *s = &op->session;

	if (op->fresh == NULL) /* the keypad asks for both */
		return s->funcs->C_SetPIN(s->handle, NULL, 0, NULL, 0);
	return s->funcs->C_SetPIN(s->handle, (CK_UTF8CHAR_PTR)op->old->data, op->old->len,
	    (CK_UTF8CHAR_PTR)op->fresh->data, op->fresh->len);
}

static int
change_pin(struct pins_op *op)
{
	bool so = op->user == CKU_SO;
	int r;

	if (pin_pad(op)) {
		/* C_SetPIN changes the SO PIN only in an SO session; the user's needs none. */
		if (so && (r = login_as(&op->session, CKU_SO, op->operation)) != 0)
			return r;
		return pins_on_pad(op,
		    so ? _("Enter the current admin PIN, then the new one twice, on the reader's "
			   "keypad.")
		       : _("Enter the current user PIN, then the new one twice, on the reader's "
			   "keypad."),
		    set_pin, "changing the PIN");
	}
	if ((r = login_as_keeping(&op->session, op->user, op->operation, &op->old)) != 0)
		return r;
	if (op->old == NULL) /* a token that wants no login: nothing to change */
		return request_fail(op->req, CB_ERR_NOT_SUPPORTED, "the token asks for no PIN");
	return pins_send_new(op, set_pin, "changing the PIN");
}

int
handle_pins_change(struct request *req, struct json_object **result)
{
	struct pins_op op = {.req = req, .user = CKU_USER};
	const char *which = proto_param_string(req->params, "which");
	bool so = which != NULL && strcmp(which, "so") == 0;
	int r;

	op.user = so ? CKU_SO : CKU_USER;
	snprintf(op.operation, sizeof(op.operation), "%s",
	    so ? _("change the admin PIN") : _("change the user PIN"));
	if ((r = pins_begin(&op, so ? TOKEN_OP_CHANGE_SO_PIN : TOKEN_OP_CHANGE_PIN)) != 0)
		return pins_end(&op, r);
	pins_fresh_prompt(&op, so);
	if ((r = token_session_open(req, &op.token, true, &op.session)) == 0 &&
	    (r = change_pin(&op)) == 0)
		r = pins_result(&op, so ? "so" : "user", NULL, result);
	if (r == CB_ERR_PIN_LOCKED && !so && op.manage.can[TOKEN_OP_UNBLOCK_PIN])
		r = request_fail(req, r, "the user PIN of this token is locked; unblock it first");
	return pins_end(&op, r);
}

/* --- pins.unblock and pins.initialize --- */

static CK_RV
init_pin(struct pins_op *op)
{
	struct token_session *s = &op->session;

	if (op->fresh == NULL) /* the keypad asks */
		return s->funcs->C_InitPIN(s->handle, NULL, 0);
	return s->funcs->C_InitPIN(s->handle, (CK_UTF8CHAR_PTR)op->fresh->data, op->fresh->len);
}

/* C_Login(CKU_SO) with the SO / admin PIN (its dialogs), then the new user PIN. */
static int
init_after_so_login(struct pins_op *op, const char *what)
{
	int r;

	if ((r = login_as(&op->session, CKU_SO, op->operation)) != 0)
		return r;
	if (pin_pad(op))
		return pins_on_pad(
		    op, _("Enter the new user PIN twice on the reader's keypad."), init_pin, what);
	return pins_send_new(op, init_pin, what);
}

/*
 * With the PUK: OpenSC remembers it at C_Login(CKU_SO) and checks it only
 * at C_InitPIN (RESET RETRY COUNTER with the PUK and the new PIN).  One
 * try: the PUK, the new PIN (kept for the next try), both sent.
 */
static int
unblock_once(struct pins_op *op, const struct pin_prompt *puk_prompt)
{
	struct token_session *s = &op->session;
	struct secret *puk = NULL;
	CK_RV rv;
	int r;

	if ((r = pin_ask(op->req, puk_prompt, &puk)) != 0)
		return r;
	if (op->fresh == NULL && (r = pin_ask_new(op->req, &op->fresh_prompt, op->min_len,
				      op->max_len, &op->fresh)) != 0) {
		secret_free(puk);
		return r;
	}
	rv = s->funcs->C_Login(s->handle, CKU_SO, (CK_UTF8CHAR_PTR)puk->data, puk->len);
	secret_free(puk);
	if (rv == CKR_OK || rv == CKR_USER_ALREADY_LOGGED_IN) {
		s->logged_in = true;
		s->user = CKU_SO;
		rv = init_pin(op);
		token_session_logout(s);
		/* Progress hook: pinAccepted, pin puk, when rv is CKR_OK (the PUK is checked here).
		 */
	}
	if (rv == CKR_PIN_INCORRECT)
		return request_fail(op->req, CB_ERR_PIN_INCORRECT, "PUK incorrect");
	if (rv == CKR_PIN_LOCKED)
		return request_fail(op->req, CB_ERR_PIN_LOCKED, "the PUK of this token is locked");
	return pins_outcome(op, rv, "unblocking the PIN");
}

static int
unblock_by_puk(struct pins_op *op)
{
	struct pin_prompt puk_prompt = op->fresh_prompt;
	int r, tries;

	puk_prompt.puk = true;
	if (pin_pad(op))
		return pins_on_pad(op,
		    _("Enter the PUK, then the new user PIN twice, on the reader's keypad."),
		    init_pin, "unblocking the PIN");
	for (tries = 1;; tries++) {
		r = unblock_once(op, &puk_prompt);
		if (r == 0 || tries == PINS_TRIES ||
		    (r != CB_ERR_PIN_INCORRECT && r != CB_ERR_PIN_INVALID))
			return r;
		/*
		 * OpenSC checks the PUK's length against the user PIN's limits, and
		 * the card its own: a length refused may be either's, so both are
		 * asked for again.  A wrong PUK: the PUK only.
		 */
		if (r == CB_ERR_PIN_INVALID) {
			secret_free(op->fresh);
			op->fresh = NULL;
		}
		puk_prompt.error =
		    r == CB_ERR_PIN_INCORRECT ? _("Wrong PUK. Try again.") : op->fresh_prompt.error;
		helper_log(CB_LOG_INFO, "request %llu: %s, asking again (%d of %d)",
		    (unsigned long long)op->req->id, cb_err_reason(r), tries + 1, PINS_TRIES);
	}
}

/*
 * The PUK route holds only where OpenSC sees no SO PIN on the card: with
 * one, C_Login(CKU_SO) would check the PUK as the SO PIN and spend an SO
 * try.  C_Login(CKU_SO) without a PIN tells, before any APDU: CKR_OK (no
 * SO PIN object; nothing is remembered) or CKR_PIN_LEN_RANGE (one).  Not
 * on a PIN pad, where it would prompt.
 */
static bool
card_has_so_pin(struct pins_op *op)
{
	struct token_session *s = &op->session;
	CK_RV rv;

	if (pin_pad(op))
		return false;
	rv = s->funcs->C_Login(s->handle, CKU_SO, NULL, 0);
	if (rv == CKR_OK) {
		s->logged_in = true;
		s->user = CKU_SO;
		token_session_logout(s);
	}
	return rv == CKR_PIN_LEN_RANGE;
}

int
handle_pins_unblock(struct request *req, struct json_object **result)
{
	struct pins_op op = {.req = req};
	bool puk;
	int r;

	snprintf(op.operation, sizeof(op.operation), "%s", _("unblock the user PIN"));
	if ((r = pins_begin(&op, TOKEN_OP_UNBLOCK_PIN)) != 0)
		return pins_end(&op, r);
	pins_fresh_prompt(&op, false);
	if ((r = token_session_open(req, &op.token, true, &op.session)) != 0)
		return pins_end(&op, r);
	if ((puk = op.manage.unblock_with_puk) && card_has_so_pin(&op)) {
		helper_log(CB_LOG_INFO, "request %llu: the card has an SO PIN: unblocking with it",
		    (unsigned long long)req->id);
		puk = false;
	}
	if ((r = puk ? unblock_by_puk(&op) : init_after_so_login(&op, "unblocking the PIN")) == 0)
		r = pins_result(&op, "user", puk ? "puk" : "so", result);
	return pins_end(&op, r);
}

int
handle_pins_initialize(struct request *req, struct json_object **result)
{
	struct pins_op op = {.req = req};
	int r;

	snprintf(op.operation, sizeof(op.operation), "%s", _("set the first user PIN"));
	if ((r = pins_begin(&op, TOKEN_OP_INITIALIZE_PIN)) != 0)
		return pins_end(&op, r);
	pins_fresh_prompt(&op, false);
	if ((r = token_session_open(req, &op.token, true, &op.session)) == 0 &&
	    (r = init_after_so_login(&op, "setting the first PIN")) == 0)
		r = pins_result(&op, "user", NULL, result);
	return pins_end(&op, r);
}

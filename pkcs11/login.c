/*
 * login.c - logging in to a token with a PIN from a pinentry dialog, or on
 * a PIN-pad reader's keypad.
 *
 * Every login happens inside an exclusive session (token_session.c: the
 * token's lock is held) and ends with C_Logout before the lock is
 * released.  The PIN is wiped right after C_Login, whatever C_Login said.
 * A wrong PIN is asked for again (at most three dialogs in one login), each
 * new dialog saying what the token's flags tell about the tries left; a
 * locked PIN fails before any dialog.
 * Must never: keep a PIN past C_Login, send a PIN the user did not type for
 * this very C_Login, or log in without the token lock.
 */
#include "config.h"

#include <stdio.h>

#include "protocol/cberr.h"
#include "common/i18n.h"
#include "pkcs11/cleanup.h"
#include "pkcs11/log.h"
#include "pkcs11/login.h"
#include "pkcs11/p11_error.h"
#include "pkcs11/pin.h"
#include "pkcs11/progress.h"
#include "pkcs11/request.h"
#include "pkcs11/secret.h"
#include "pkcs11/token.h"
#include "pkcs11/token_capabilities.h"
#include "pkcs11/token_session.h"

#define PIN_MAX_LEN 256
/* PIN dialogs in one login before the request gives up with PIN_INCORRECT. */
#define PROMPTS_MAX 3

/* The flags that describe the state of user's PIN (CKU_USER or CKU_SO). */
struct pin_flags {
	CK_FLAGS count_low, final_try, locked;
};

static struct pin_flags
pin_flags(CK_USER_TYPE user)
{
	if (user == CKU_SO)
		return (struct pin_flags){
		    CKF_SO_PIN_COUNT_LOW, CKF_SO_PIN_FINAL_TRY, CKF_SO_PIN_LOCKED};
	return (struct pin_flags){
	    CKF_USER_PIN_COUNT_LOW, CKF_USER_PIN_FINAL_TRY, CKF_USER_PIN_LOCKED};
}

static const char *
pin_name(CK_USER_TYPE user)
{
	return user == CKU_SO ? "admin PIN" : "user PIN";
}

/*
 * What the token's flags tell about the tries left: PKCS#11 has no count,
 * only "final try" (1) and "locked" (0); -1 when neither is set.
 */
static int
pin_retries_left(CK_FLAGS flags, CK_USER_TYPE user)
{
	struct pin_flags f = pin_flags(user);

	if (flags & f.locked)
		return 0;
	return (flags & f.final_try) ? 1 : -1;
}

/*
 * The error line of the next PIN dialog, translated; NULL when there is
 * nothing to say.  Whole sentences, so that a translation never has to
 * glue "Wrong PIN." to a sentence it cannot see.
 */
static const char *
pin_warning(CK_FLAGS flags, CK_USER_TYPE user, bool wrong)
{
	struct pin_flags f = pin_flags(user);

	if (flags & f.final_try)
		return wrong ? _("Wrong PIN. This is the last try before the PIN is locked.")
			     : _("This is the last try before the PIN is locked.");
	if (flags & f.count_low)
		return wrong ? _("Wrong PIN. Only a few tries are left before the PIN is locked.")
			     : _("Only a few tries are left before the PIN is locked.");
	return wrong ? _("Wrong PIN. Try again.") : NULL;
}

int
login_check_pin(struct request *req, struct token *t, CK_USER_TYPE user)
{
	int r;

	if (!t->info_fresh && (r = token_refresh(req, t)) != 0)
		return r;
	if (!(t->info.flags & pin_flags(user).locked))
		return 0;
	req->retries_left = 0;
	return request_fail(req, CB_ERR_PIN_LOCKED,
	    "the %s of this token is locked; unblock it first (pins.unblock)", pin_name(user));
}

/* After CKR_PIN_INCORRECT: what the token now says about the PIN. */
static int
login_incorrect(struct token_session *s, CK_USER_TYPE user)
{
	if (token_refresh(s->req, s->token) != 0)
		return request_fail(s->req, CB_ERR_PIN_INCORRECT, "PIN incorrect");
	s->req->retries_left = pin_retries_left(s->token->info.flags, user);
	if (s->req->retries_left == 0)
		return request_fail(s->req, CB_ERR_PIN_LOCKED,
		    "PIN incorrect; the %s is now locked", pin_name(user));
	if (s->req->retries_left == 1)
		return request_fail(s->req, CB_ERR_PIN_INCORRECT, "PIN incorrect; one try left");
	return request_fail(s->req, CB_ERR_PIN_INCORRECT, "PIN incorrect");
}

/*
 * The PIN's length as the token wants it; 0 when it fits.  Otherwise again
 * gets the next dialog's error line (translated; the page's message is not).
 */
static int
pin_check_length(struct token_session *s, const struct secret *pin, char *again, size_t size)
{
	const CK_TOKEN_INFO *info = &s->token->info;
	unsigned long n;

	if (info->ulMinPinLen != CK_UNAVAILABLE_INFORMATION && pin->len < info->ulMinPinLen) {
		n = info->ulMinPinLen;
		snprintf(again, size,
		    P_("The PIN must have at least %lu character.",
			"The PIN must have at least %lu characters.", n),
		    n);
		return request_fail(
		    s->req, CB_ERR_PIN_INVALID, "The PIN must have at least %lu characters.", n);
	}
	if (info->ulMaxPinLen != CK_UNAVAILABLE_INFORMATION && info->ulMaxPinLen > 0 &&
	    pin->len > info->ulMaxPinLen) {
		n = info->ulMaxPinLen;
		snprintf(again, size,
		    P_("The PIN must have at most %lu character.",
			"The PIN must have at most %lu characters.", n),
		    n);
		return request_fail(
		    s->req, CB_ERR_PIN_INVALID, "The PIN must have at most %lu characters.", n);
	}
	return 0;
}

static enum progress_pin
progress_pin_of(CK_USER_TYPE user)
{
	return user == CKU_SO ? PROGRESS_PIN_ADMIN : PROGRESS_PIN_USER;
}

/* PIN pad: the reader asks for the PIN; we only say so on the screen. */
static CK_RV
login_pin_pad(struct token_session *s, CK_USER_TYPE user, const struct pin_prompt *prompt, int *r)
{
	struct dialog *notice = NULL;
	CK_RV rv;

	if ((*r = pin_pad_begin(s->req, prompt, &notice)) != 0)
		return CKR_FUNCTION_CANCELED;
	progress_report(s->req, PROGRESS_WAITING_FOR_PIN_PAD, progress_pin_of(user));
	rv = s->funcs->C_Login(s->handle, user, NULL, 0);
	pin_pad_end(notice);
	return rv;
}

/*
 * One PIN dialog (or PIN-pad notice) and one C_Login.  error is the line
 * shown above the entry (NULL the first time).  PIN_INCORRECT and
 * PIN_INVALID mean "ask again"; the caller decides whether to.  After
 * PIN_INVALID, again holds the next dialog's error line; it may be the
 * buffer error points to, as it is written only once the dialog closed.
 */
static int
login_once(struct token_session *s, CK_USER_TYPE user, const char *operation, const char *error,
    char *again, size_t again_size, struct secret **keep)
{
	struct pin_prompt prompt = {
	    .operation = operation,
	    .token_label = s->token->label,
	    .token_serial = s->token->serial,
	    .admin_pin = user == CKU_SO,
	    .error = error,
	    .max_len = PIN_MAX_LEN,
	};
	struct secret *pin = NULL;
	CK_RV rv;
	int r = 0;

	if (s->token->info.flags & CKF_PROTECTED_AUTHENTICATION_PATH) {
		rv = login_pin_pad(s, user, &prompt, &r);
		if (r != 0)
			return r;
	} else {
		if ((r = pin_ask(s->req, &prompt, &pin)) != 0) {
			if (r == CB_ERR_PIN_INVALID) /* longer than the dialog takes */
				snprintf(again, again_size,
				    P_("The PIN must have at most %lu character.",
					"The PIN must have at most %lu characters.", PIN_MAX_LEN),
				    (unsigned long)PIN_MAX_LEN);
			return r;
		}
		if ((r = pin_check_length(s, pin, again, again_size)) != 0) {
			secret_free(pin);
			return r;
		}
		rv = s->funcs->C_Login(s->handle, user, (CK_UTF8CHAR_PTR)pin->data, pin->len);
		if (keep != NULL && rv == CKR_OK)
			*keep = pin; /* transferred: the caller sends it once more */
		else
			secret_free(pin);
	}
	s->token->info_fresh = false; /* a login, right or wrong, changes the PIN state */
	/* Already logged in can only be a login of ours whose C_Logout failed. */
	if (rv == CKR_OK || rv == CKR_USER_ALREADY_LOGGED_IN) {
		s->logged_in = true;
		s->user = user;
		progress_report(s->req, PROGRESS_PIN_ACCEPTED, progress_pin_of(user));
		/*
		 * An earlier try's warning and message are history now: a later
		 * failure that sets no message of its own must not answer
		 * "PIN incorrect" for a PIN that was accepted.
		 */
		s->req->retries_left = -1;
		s->req->message[0] = '\0';
		return 0;
	}
	if (rv == CKR_PIN_INCORRECT)
		return login_incorrect(s, user);
	if (rv == CKR_PIN_LOCKED) { /* some modules say so for the wrong PIN that locks */
		s->req->retries_left = 0;
		return request_fail(s->req, CB_ERR_PIN_LOCKED,
		    "PIN incorrect; the %s is now locked", pin_name(user));
	}
	if (rv == CKR_PIN_LEN_RANGE || rv == CKR_PIN_INVALID) { /* shown in the next dialog */
		snprintf(again, again_size, "%s",
		    _("The token does not accept a PIN of this length or with these characters."));
		return request_fail(s->req, CB_ERR_PIN_INVALID,
		    "The token does not accept a PIN of this length or with these characters.");
	}
	return p11_fail(s->req, rv, "logging in");
}

int
login_as_keeping(
    struct token_session *s, CK_USER_TYPE user, const char *operation, struct secret **keep)
{
	char again[REQUEST_MESSAGE_MAX] = "";
	const char *shown;
	int r, prompt;

	if (keep != NULL)
		*keep = NULL;
	if (s->logged_in && s->user == user && keep == NULL)
		return 0;
	token_session_logout(s);
	if ((r = login_check_pin(s->req, s->token, user)) != 0)
		return r;
	if (!(s->token->info.flags & CKF_LOGIN_REQUIRED))
		return 0;
	shown = pin_warning(s->token->info.flags, user, false);
	for (prompt = 1;; prompt++) {
		r = login_once(s, user, operation, shown, again, sizeof(again), keep);
		if ((r != CB_ERR_PIN_INCORRECT && r != CB_ERR_PIN_INVALID) || prompt == PROMPTS_MAX)
			return r;
		if (r == CB_ERR_PIN_INCORRECT)
			shown = pin_warning(s->token->info.flags, user, true);
		else
			shown = again[0] != '\0' ? again : NULL;
		helper_log(CB_LOG_INFO, "request %llu: %s, asking again (%d of %d)",
		    (unsigned long long)s->req->id, cb_err_reason(r), prompt + 1, PROMPTS_MAX);
	}
}

int
login_as(struct token_session *s, CK_USER_TYPE user, const char *operation)
{
	return login_as_keeping(s, user, operation, NULL);
}

int
login_to_write(struct token_session *s, const char *operation)
{
	int r;

	/* Logged in to write: first finish what an interrupted clean-up left here. */
	if ((r = login_as(s, token_user_for_writing(s->token), operation)) == 0)
		cleanup_pending(s);
	return r;
}

/*
 * dialog.h - one dialog on the user's screen: a pinentry program spoken to
 * over Assuan (libassuan).  pin.c builds the PIN dialogs on it,
 * origin_confirm.c the consent question.
 *
 * One call of dialog_start() .. dialog_end() is one dialog with one
 * pinentry process; nothing is cached.  Only one dialog is open in the
 * helper at a time: a dialog waits for the one before it (at most 30 s, or
 * the prompt timeout if that is shorter) and then fails with BUSY.  A
 * request that is cancelled while it waits or while its dialog is open gets
 * USER_CANCELLED and its pinentry is killed.
 */
#ifndef CB_PKCS11_DIALOG_H
#define CB_PKCS11_DIALOG_H

#include <stdbool.h>
#include <sys/types.h>

#include <assuan.h>

struct request;
struct secret;

/* Room for a description: one Assuan line. */
#define DIALOG_TEXT_MAX ASSUAN_LINELENGTH

struct dialog {
	struct request *req;
	assuan_context_t ctx;
	pid_t pid;
	int guard; /* write end of the guard's pipe, while guarded (dialog_guard.c) */
	bool guarded;
	bool locked;	    /* holds the screen: no other dialog is open */
	struct secret *pin; /* GETPIN's answer goes here; the caller allocates it */
	bool pin_too_long;
	bool repeated; /* pinentry said PIN_REPEATED: the user typed the PIN twice alike */
};

/*
 * Wait until no other dialog is open, start the pinentry and register its
 * pid with the request (for cancel and the watchdog).  Whatever it returns,
 * dialog_end() must follow.  Errors: USER_CANCELLED, BUSY, INTERNAL, ALLOC.
 */
int dialog_start(struct dialog *d);

/* The title (naming the page's site, dialog_words.h), desc, and the optional prompt and error line.
 */
int dialog_texts(struct dialog *d, const char *desc, const char *prompt, const char *error);

/* One Assuan command with text; when !must_succeed a refusal is no error. */
int dialog_command(struct dialog *d, const char *cmd, const char *text, bool must_succeed);

/*
 * GETPIN into d->pin; d->repeated when a SETREPEAT before it was honoured.
 * Errors: PIN_INVALID (too long), USER_CANCELLED, TIMEOUT, INTERNAL.
 */
int dialog_getpin(struct dialog *d);

/* MESSAGE, without waiting for its button: the dialog stays up until dialog_dismiss(). */
int dialog_show(struct dialog *d);

/*
 * End the dialog; r is the outcome so far, the result may say why it ended
 * (a pinentry killed by cancel or the watchdog).  Always gives up the
 * screen, after the pinentry has been reaped.
 */
int dialog_end(struct dialog *d, int r);

/* Take down a dialog left up by dialog_show(), and give up the screen. */
void dialog_dismiss(struct dialog *d);

enum dialog_answer {
	DIALOG_ANSWER_OK,     /* the OK button */
	DIALOG_ANSWER_NOT_OK, /* the third button (pinentry's SETNOTOK) */
	DIALOG_ANSWER_CANCEL, /* Cancel, Escape, or the window closed by the user */
};

/*
 * A question with buttons ok, not_ok (NULL: no third button) and cancel;
 * description is the whole text.  Errors: USER_CANCELLED (the request was
 * cancelled), TIMEOUT, BUSY, INTERNAL.
 */
int dialog_question(struct request *req, const char *description, const char *ok,
    const char *not_ok, const char *cancel, enum dialog_answer *answer);

#endif /* CB_PKCS11_DIALOG_H */

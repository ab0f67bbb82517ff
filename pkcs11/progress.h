/*
 * progress.h - telling the daemon what a request is doing while it runs:
 * the stages of doc/PROTOCOL.md "Progress", which the daemon passes on to
 * the page that sent the request (progress.c).
 */
#ifndef CB_PKCS11_PROGRESS_H
#define CB_PKCS11_PROGRESS_H

struct json_object;
struct request;

/* In the order of the progress row of protocol/methods.c (tests/test-progress.c checks). */
enum progress_stage {
	PROGRESS_WAITING_FOR_DIALOG,
	PROGRESS_WAITING_FOR_PIN,
	PROGRESS_WAITING_FOR_PIN_PAD,
	PROGRESS_PIN_ACCEPTED,
	PROGRESS_GENERATING_KEY,
	PROGRESS_SIGNING_REQUEST,
	PROGRESS_WRITING_CERTIFICATE,
	PROGRESS_STAGES
};

/* Which PIN a PIN stage is about; in the order of the row's "pin" choices, after NONE. */
enum progress_pin { PROGRESS_PIN_NONE, PROGRESS_PIN_USER, PROGRESS_PIN_ADMIN, PROGRESS_PIN_PUK };

/*
 * req reached stage: send {"id": req->id, "progress": {"stage", "pin"}},
 * unless it was sent already.  Each stage goes once per request, the PIN
 * stages once per PIN, and never one before a stage already reported
 * (waitingForDialog for the second dialog of a request is left out).  On
 * the worker thread serving req.
 */
void progress_report(struct request *req, enum progress_stage stage, enum progress_pin pin);

/* Where reports go: helper.c sets helper_send (request.c); NULL drops them. */
extern void (*progress_sink)(struct json_object *msg);

/* The wire names, from protocol/methods.c; NULL outside the enums. */
const char *progress_stage_name(enum progress_stage stage);
const char *progress_pin_name(enum progress_pin pin);

#endif /* CB_PKCS11_PROGRESS_H */

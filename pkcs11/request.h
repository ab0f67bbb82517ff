/*
 * request.h - one request from the daemon as the helper serves it: the
 * object (request_object.c), its registry, cancellation and dialog
 * watchdog, and the answer (request.c).  worker.h has the threads.
 *
 * Threads: main() reads frames on the main thread and hands each request to
 * a worker thread; handlers run on a worker, one request each.  A request
 * is owned by the worker serving it, except the fields marked
 * {registry_lock}, which cancel and the dialog watchdog also touch.
 */
#ifndef CB_PKCS11_REQUEST_H
#define CB_PKCS11_REQUEST_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include <json.h>

#define REQUEST_MESSAGE_MAX 256

struct token_session;

struct request {
	uint64_t id;
	const char *method;		   /* points into root */
	const char *origin;		   /* points into root; "" if none */
	bool local;			   /* from the cardbridge tool: dialogs name "cardbridge" */
	const char *site;		   /* its registrable domain, from the daemon; "" if none */
	struct json_object *root;	   /* the whole request, owned */
	struct json_object *params;	   /* borrowed from root, always an object */
	char message[REQUEST_MESSAGE_MAX]; /* error text for the page; "" = default */
	int retries_left;		   /* -1 when unknown */
	uint32_t progress_sent;		   /* stages reported (progress.c), bit stage * 4 + pin */
	int progress_last;		   /* the latest stage reported, when progress_sent */
	struct token_session *session;	   /* open on a token (token_session.c), or NULL */

	/* A PKCS#11 call failed (p11_fail): the card may have gone (card.c asks PC/SC). */
	bool module_failed;
	/* An error after a write that may have completed (certs.c: "maybeStored"). */
	bool maybe_stored;

	bool cancelled;		  /* {registry_lock} */
	bool timed_out;		  /* {registry_lock} */
	pid_t dialog_pid;	  /* {registry_lock} pinentry, 0 if none */
	uint64_t dialog_deadline; /* {registry_lock} monotonic ms */
	char reader[128];	  /* {registry_lock} PC/SC reader of the request's card, or "" */
	unsigned reader_events;	  /* {registry_lock} pcscd's card event count there then */
	int card_gone;		  /* {registry_lock} CARD_REMOVED or SERVICE_STOPPED once told */
	struct request *next;	  /* {registry_lock} registry list */
};

/* Serves one request; on success *result is the answer's "result". */
typedef int (*request_handler)(struct request *req, struct json_object **result);

/* request_object.c: no threads, no module, so that fuzz targets link it too */
struct request *request_new(void);
void request_free(struct request *req);

/*
 * Returns err, with the message for the page set from fmt.  The message
 * stays until the next request_fail() or until it is cleared: whoever
 * swallows an error must clear req->message, or a later failure that sets
 * none of its own would answer with this stale text.
 */
int request_fail(struct request *req, int err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* request.c */
int request_register(struct request *req);
bool request_cancel(uint64_t id);
void request_cancel_all(void);
bool request_is_cancelled(struct request *req);
/*
 * The PC/SC reader req works in (card.c binds it), and the daemon's word
 * that the card left a reader: requests there stop waiting for, or close,
 * their dialogs.  events: pcscd's count after the removal (0: unknown);
 * a request that began later is not told.  Returns how many were told.
 */
void request_bind_reader(struct request *req, const char *reader, unsigned events);
int request_card_removed(const char *reader, unsigned events, bool service_stopped);
/* Why req must stop (USER_CANCELLED, CARD_REMOVED, SERVICE_STOPPED), or 0. */
int request_interrupted(struct request *req);
int request_dialog_begin(struct request *req, pid_t pid);
int request_dialog_end(struct request *req);
void request_reply(struct request *req, int err, struct json_object *result);
void request_finish(struct request *req, int err, struct json_object *result);
void helper_send(struct json_object *msg);
void helper_send_event(const char *event);
int request_watchdog_start(void);

#endif /* CB_PKCS11_REQUEST_H */

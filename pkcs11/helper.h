/*
 * helper.h - what every part of cardbridge-pkcs11-helper shares: the
 * configuration, logging, the request being served and how it is answered.
 *
 * Threads: main() reads frames on the main thread and hands each request to
 * a worker thread (request.c); handlers run on a worker, one request each.
 * A request is owned by the worker serving it, except the fields marked
 * {registry_lock}, which cancel and the dialog watchdog also touch.
 */
#ifndef CB_PKCS11_HELPER_H
#define CB_PKCS11_HELPER_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include <json.h>

enum cb_log_level {
	CB_LOG_ERROR = 0,
	CB_LOG_WARN = 1,
	CB_LOG_INFO = 2,
	CB_LOG_DEBUG = 3,
};

/* Set once by main() before any worker starts; read-only afterwards. */
struct helper_config {
	const char *pinentry;	     /* program for PIN dialogs */
	unsigned int prompt_timeout; /* seconds */
	int log_level;		     /* enum cb_log_level */
	const char *fault;	     /* CB_HELPER_FAULT, only with CB_HELPER_TESTING=1 */
};

extern struct helper_config helper_config;

/* One line on stderr; never pass a PIN or a message body. */
void helper_log(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/*
 * True when the test-only fault hook named point is armed: the helper was
 * started with CB_HELPER_TESTING=1 and CB_HELPER_FAULT=point.
 */
bool helper_fault(const char *point);

#define REQUEST_MESSAGE_MAX 256

struct request {
	uint64_t id;
	const char *method;		   /* points into root */
	const char *origin;		   /* points into root; "" if none */
	struct json_object *root;	   /* the whole request, owned */
	struct json_object *params;	   /* borrowed from root, always an object */
	char message[REQUEST_MESSAGE_MAX]; /* error text for the page; "" = default */
	int retries_left;		   /* -1 when unknown */

	bool cancelled;		  /* {registry_lock} */
	bool timed_out;		  /* {registry_lock} */
	pid_t dialog_pid;	  /* {registry_lock} pinentry, 0 if none */
	uint64_t dialog_deadline; /* {registry_lock} monotonic ms */
	struct request *next;	  /* {registry_lock} registry list */
};

typedef int (*request_handler)(struct request *req, struct json_object **result);

/* request_object.c: no threads, no module, so that fuzz targets link it too */
struct request *request_new(void);
void request_free(struct request *req);
int request_fail(struct request *req, int err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* request.c */
int request_register(struct request *req);
bool request_cancel(uint64_t id);
void request_cancel_all(void);
bool request_is_cancelled(struct request *req);
int request_dialog_begin(struct request *req, pid_t pid);
int request_dialog_end(struct request *req);
void request_reply(struct request *req, int err, struct json_object *result);
void request_finish(struct request *req, int err, struct json_object *result);
void helper_send(struct json_object *msg);
void helper_send_event(const char *event);
int worker_start(void);
int worker_submit(struct request *req, request_handler handler);
void worker_stop(void);

/* The handlers, one per method; each runs on a worker thread. */
int handle_hello(struct request *req, struct json_object **result);
int handle_tokens_list(struct request *req, struct json_object **result);
int handle_keys_generate(struct request *req, struct json_object **result);
int handle_certificates_install(struct request *req, struct json_object **result);
int handle_certificates_list(struct request *req, struct json_object **result);
int handle_origin_confirm(struct request *req, struct json_object **result); /* pin.c */

#endif /* CB_PKCS11_HELPER_H */

/*
 * helper.h - the handlers of cardbridge-pkcs11-helper, one per method of
 * protocol/methods.c that it serves; helper.c binds them to the rows.
 *
 * Each runs on a worker thread (request.h), except those of rows marked
 * PROTO_M_INLINE, which run on the main thread and never touch a token.
 */
#ifndef CB_PKCS11_HELPER_H
#define CB_PKCS11_HELPER_H

struct json_object;
struct request;

int handle_hello(struct request *req, struct json_object **result);		   /* module.c */
int handle_tokens_list(struct request *req, struct json_object **result);	   /* tokenlist.c */
int handle_keys_generate(struct request *req, struct json_object **result);	   /* keygen.c */
int handle_certificates_install(struct request *req, struct json_object **result); /* certs.c */
int handle_certificates_list(struct request *req, struct json_object **result);	   /* certlist.c */
int handle_origin_confirm(struct request *req, struct json_object **result);  /* origin_confirm.c */
int handle_keys_list(struct request *req, struct json_object **result);	      /* keylist.c */
int handle_pins_change(struct request *req, struct json_object **result);     /* pins.c */
int handle_pins_unblock(struct request *req, struct json_object **result);    /* pins.c */
int handle_pins_initialize(struct request *req, struct json_object **result); /* pins.c */
int handle_keys_delete(struct request *req, struct json_object **result);     /* objects_delete.c */
int handle_certificates_delete(struct request *req, struct json_object **result); /* ditto */
int handle_keys_abandon(struct request *req, struct json_object **result);   /* abandon.c */

#endif /* CB_PKCS11_HELPER_H */

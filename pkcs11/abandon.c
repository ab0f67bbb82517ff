/*
 * abandon.c - keys.abandon: remove a key pair the helper generated whose
 * certificate request the page never received (doc/HELPER-IPC.md).
 *
 * The daemon asks when it must drop a keys.generate result because the
 * page has gone.  Removing a private key needs a login, and the helper
 * logged out and wiped the PIN when it answered, so the user is asked for
 * the PIN once more, in a dialog that says why; Cancel leaves the pair.
 * (A page that leaves while the key is still being made is handled in
 * keygen.c, before the logout, with no dialog.)
 * Threads: abandon_remember() on the worker that generated, the handler
 * on its own worker; the list is under list_lock.
 * Must never: remove a pair the helper did not make itself in the last
 * ABANDON_REMEMBER_S seconds (the key ID and the public key must both
 * match one it remembers), or say it removed what is still there.
 */
#include "config.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/i18n.h"
#include "protocol/cberr.h"
#include "protocol/methods.h"
#include "protocol/origin.h"
#include "pkcs11/abandon.h"
#include "pkcs11/field.h"
#include "pkcs11/helper.h"
#include "pkcs11/log.h"
#include "pkcs11/login.h"
#include "pkcs11/request.h"
#include "pkcs11/token.h"
#include "pkcs11/token_session.h"

#define ID_MAX 64

struct made {
	struct made *next;
	time_t when;
	char *uri, *public_pem;
	char origin[ORIGIN_MAX];
	char site[ORIGIN_MAX];
	char words[32];
	uint8_t id[ID_MAX];
	size_t id_len;
};

static pthread_mutex_t list_lock = PTHREAD_MUTEX_INITIALIZER;
static struct made *list; /* {list_lock} newest first */

static void
made_free(struct made *m)
{
	if (m == NULL)
		return;
	free(m->uri);
	free(m->public_pem);
	free(m);
}

/* {list_lock} held: drop what is too old, or beyond the count. */
static void
prune(time_t now)
{
	struct made **pp = &list, *m;
	int n = 0;

	while ((m = *pp) != NULL) {
		if (++n > ABANDON_REMEMBER_MAX || now - m->when > ABANDON_REMEMBER_S) {
			*pp = m->next;
			made_free(m);
		} else
			pp = &m->next;
	}
}

void
abandon_remember(const char *uri, const struct request *made_for, const uint8_t *id, size_t id_len,
    const char *public_pem, const char *words)
{
	struct made *m;

	if (id_len > ID_MAX || (m = calloc(1, sizeof(*m))) == NULL)
		return;
	if ((m->uri = strdup(uri)) == NULL || (m->public_pem = strdup(public_pem)) == NULL) {
		made_free(m);
		return;
	}
	m->when = time(NULL);
	snprintf(m->origin, sizeof(m->origin), "%s", made_for->origin);
	snprintf(m->site, sizeof(m->site), "%s", made_for->site);
	snprintf(m->words, sizeof(m->words), "%s", words);
	memcpy(m->id, id, id_len);
	m->id_len = id_len;
	pthread_mutex_lock(&list_lock);
	m->next = list;
	list = m;
	prune(m->when);
	pthread_mutex_unlock(&list_lock);
}

void
abandon_forget_all(void)
{
	struct made *m, *next;

	pthread_mutex_lock(&list_lock);
	for (m = list, list = NULL; m; m = next) {
		next = m->next;
		made_free(m);
	}
	pthread_mutex_unlock(&list_lock);
}

/* Take the entry matching the params out of the list, or NULL. */
static struct made *
take(const char *key_id, const char *public_pem)
{
	struct made **pp, *m = NULL;
	char *hex;

	pthread_mutex_lock(&list_lock);
	prune(time(NULL));
	for (pp = &list; *pp; pp = &(*pp)->next) {
		if ((hex = field_hex((*pp)->id, (*pp)->id_len)) == NULL)
			break;
		if (strcmp(hex, key_id) == 0 && strcmp((*pp)->public_pem, public_pem) == 0) {
			m = *pp;
			*pp = m->next;
			free(hex);
			break;
		}
		free(hex);
	}
	pthread_mutex_unlock(&list_lock);
	return m;
}

/* How many objects of class cls the token still holds with m's CKA_ID. */
static int
count_left(struct token_session *s, const struct made *m, CK_OBJECT_CLASS cls, CK_ULONG *n)
{
	CK_OBJECT_HANDLE obj[2];

	return token_session_find_class(s, cls, m->id, m->id_len, obj, 2, n);
}

/* Destroy the pair's objects, then look again: only what is gone counts. */
static int
remove_pair(struct request *req, struct token_session *s, const struct made *m)
{
	static const CK_OBJECT_CLASS classes[] = {CKO_PRIVATE_KEY, CKO_PUBLIC_KEY};
	CK_OBJECT_HANDLE obj[2];
	CK_ULONG n, i, c;
	int r;

	for (c = 0; c < 2; c++) {
		if ((r = token_session_find_class(s, classes[c], m->id, m->id_len, obj, 2, &n)) !=
		    0)
			return r;
		for (i = 0; i < n; i++)
			token_session_destroy(s, obj[i]);
		if ((r = count_left(s, m, classes[c], &n)) != 0)
			return r;
		if (n != 0)
			return request_fail(req, CB_ERR_MODULE_ERROR,
			    "the token kept the unused key pair; it could not be removed");
	}
	return 0;
}

static int
abandon_on_token(struct request *req, const struct made *m)
{
	struct token_session s;
	struct token t;
	char operation[160];
	int r;

	memset(&t, 0, sizeof(t));
	memset(&s, 0, sizeof(s));
	snprintf(operation, sizeof(operation),
	    /* TRANSLATORS: %s is the algorithm, "RSA 2048" or "EC P-256". */
	    _("remove the new %s key pair it never received (the page closed first)"), m->words);
	if ((r = token_find(req, m->uri, &t)) == 0 &&
	    (r = token_session_open(req, &t, true, &s)) == 0 &&
	    (r = login_to_write(&s, operation)) == 0)
		r = remove_pair(req, &s, m);
	token_session_close(&s);
	token_clear(&t);
	return r;
}

int
handle_keys_abandon(struct request *req, struct json_object **result)
{
	const char *key_id, *public_pem, *own_origin = req->origin, *own_site = req->site;
	struct json_object *obj;
	struct made *m;
	int r;

	if ((r = field_string(req, req->params, "keyId", true, 2 * ID_MAX, &key_id)) != 0 ||
	    (r = field_string(
		 req, req->params, "publicKey", true, PROTO_CERTIFICATE_MAX, &public_pem)) != 0)
		return r;
	if ((m = take(key_id, public_pem)) == NULL)
		return request_fail(req, CB_ERR_KEY_NOT_FOUND,
		    "not a key pair this helper made in the last %d minutes",
		    ABANDON_REMEMBER_S / 60);
	/* The dialog names the page the pair was made for. */
	req->origin = m->origin;
	req->site = m->site;
	r = abandon_on_token(req, m);
	req->origin = own_origin;
	req->site = own_site;
	helper_log(r == 0 ? CB_LOG_INFO : CB_LOG_WARN,
	    "request %llu: the unused key pair %s made for %s: %s", (unsigned long long)req->id,
	    key_id, m->origin, r == 0 ? "removed" : "left on the token");
	made_free(m);
	if (r != 0)
		return r;
	if ((obj = json_object_new_object()) == NULL)
		return CB_ERR_ALLOC;
	json_object_object_add(obj, "removed", json_object_new_boolean(1));
	*result = obj;
	return 0;
}

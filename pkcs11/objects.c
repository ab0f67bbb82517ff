/*
 * objects.c - keys and certificates on a token, found by class, CKA_ID or
 * a certificate's serial number and issuer, read (label, X.509 value, key
 * type and size) and described for the page and for the dialogs.
 *
 * Every text that came from the token goes through protocol/display.c
 * before a dialog shows it, and through proto_text_ok() before a page
 * sees it.  Must never: change anything on the token.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/evp.h>

#include "protocol/cberr.h"
#include "protocol/display.h"
#include "protocol/params.h"
#include "common/i18n.h"
#include "pkcs11/cert_words.h"
#include "pkcs11/field.h"
#include "pkcs11/objects.h"
#include "pkcs11/pubkey.h"
#include "pkcs11/request.h"
#include "pkcs11/token_session.h"
#include "pkcs11/x509.h"

#define SHOWN_CHARS 64	  /* of a label or a name, in a dialog */
#define SHOWN_ID_CHARS 17 /* 16 hex digits of an ID and "…", in a dialog */

static const struct {
	unsigned bit;
	CK_OBJECT_CLASS cls;
	const char *kind;
} classes[] = {
    {OBJECT_PRIVATE_KEY, CKO_PRIVATE_KEY, "privateKey"},
    {OBJECT_PUBLIC_KEY, CKO_PUBLIC_KEY, "publicKey"},
    {OBJECT_CERTIFICATE, CKO_CERTIFICATE, "certificate"},
};

const char *
object_kind(CK_OBJECT_CLASS cls)
{
	size_t i;

	for (i = 0; i < sizeof(classes) / sizeof(classes[0]); i++)
		if (classes[i].cls == cls)
			return classes[i].kind;
	return "other";
}

static void
info_clear(struct object_info *o)
{
	free(o->id);
	free(o->id_hex);
	free(o->label);
	X509_free(o->cert);
	memset(o, 0, sizeof(*o));
}

void
objects_clear(struct object_list *list)
{
	size_t i;

	for (i = 0; list->items != NULL && i < list->n; i++)
		info_clear(&list->items[i]);
	free(list->items);
	list->items = NULL;
	list->n = 0;
}

/* "RSA 2048", "EC P-256": from the public part where the object shows one. */
static void
key_algorithm(struct token_session *s, struct object_info *o)
{
	EVP_PKEY *pk = NULL;
	const struct curve *c;
	char group[64] = "";
	size_t i;

	if (pubkey_from_object(s, o->handle, &pk) != 0) {
		/* A private key that shows nothing of its public part. */
		s->req->message[0] = '\0';
		return;
	}
	if (EVP_PKEY_is_a(pk, "RSA"))
		snprintf(o->algorithm, sizeof(o->algorithm), "RSA %d", EVP_PKEY_get_bits(pk));
	else if (EVP_PKEY_get_utf8_string_param(pk, "group", group, sizeof(group), NULL) == 1) {
		for (i = 0; (c = pubkey_curve_at(i)) != NULL; i++)
			if (strcmp(c->group, group) == 0)
				break;
		snprintf(o->algorithm, sizeof(o->algorithm), "EC %s", c != NULL ? c->name : group);
	}
	EVP_PKEY_free(pk);
}

/* Read what we describe o by. */
static int
object_read(struct token_session *s, struct object_info *o)
{
	uint8_t *label = NULL, *value = NULL;
	size_t len;
	const unsigned char *p;
	int r;

	if ((r = token_session_get_attr(s, o->handle, CKA_ID, &o->id, &o->id_len)) != 0 ||
	    (r = token_session_get_attr(s, o->handle, CKA_LABEL, &label, &len)) != 0)
		goto out;
	if (o->id != NULL && o->id_len > 0 && (o->id_hex = field_hex(o->id, o->id_len)) == NULL) {
		r = CB_ERR_ALLOC;
		goto out;
	}
	if (label != NULL && len > 0 && memchr(label, '\0', len) == NULL &&
	    proto_text_ok((char *)label, len)) {
		o->label = (char *)label; /* transferred: get_attr NUL-terminates */
		label = NULL;
	}
	if (o->cls != CKO_CERTIFICATE) {
		key_algorithm(s, o);
		goto out;
	}
	if ((r = token_session_get_attr(s, o->handle, CKA_VALUE, &value, &len)) != 0)
		goto out;
	p = value;
	if (value != NULL && (o->cert = d2i_X509(NULL, &p, (long)len)) != NULL &&
	    p != value + len) {
		X509_free(o->cert);
		o->cert = NULL;
	}
out:
	free(label);
	free(value);
	return r;
}

/* Does certificate o have the serial number and issuer asked for? */
static bool
cert_matches(const struct object_info *o, const struct object_query *q)
{
	struct json_object *summary;
	const char *serial, *issuer;
	bool match;

	if (q->serial == NULL)
		return true;
	if (o->cert == NULL || (summary = x509_summary(o->cert, NULL)) == NULL)
		return false;
	serial = json_object_get_string(json_object_object_get(summary, "serial"));
	issuer = json_object_get_string(json_object_object_get(summary, "issuer"));
	match = serial != NULL && issuer != NULL && strcasecmp(serial, q->serial) == 0 &&
		strcmp(issuer, q->issuer) == 0;
	json_object_put(summary);
	return match;
}

static int
find_class(struct token_session *s, const struct object_query *q, CK_OBJECT_CLASS cls,
    struct object_list *out)
{
	CK_OBJECT_HANDLE *found = NULL;
	struct object_info *items, *o;
	CK_ULONG count, i;
	int r;

	if ((r = token_session_find_class_all(s, cls, q->id, q->id_len, &found, &count)) != 0)
		return r;
	if ((items = realloc(out->items, (out->n + count + 1) * sizeof(*items))) == NULL) {
		free(found);
		return CB_ERR_ALLOC;
	}
	out->items = items;
	for (i = 0; i < count; i++) {
		o = &out->items[out->n];
		memset(o, 0, sizeof(*o));
		o->cls = cls;
		o->handle = found[i];
		out->n++; /* objects_clear() frees what object_read() got, even on failure */
		if ((r = object_read(s, o)) != 0)
			break;
		if (cls == CKO_CERTIFICATE && !cert_matches(o, q)) {
			info_clear(o);
			out->n--;
		}
	}
	free(found);
	return r;
}

int
objects_find(struct token_session *s, const struct object_query *q, struct object_list *out)
{
	size_t i;
	int r;

	out->items = NULL;
	out->n = 0;
	for (i = 0; i < sizeof(classes) / sizeof(classes[0]); i++)
		if ((q->classes & classes[i].bit) &&
		    (r = find_class(s, q, classes[i].cls, out)) != 0) {
			objects_clear(out);
			return r;
		}
	return 0;
}

struct json_object *
object_json(const struct object_info *o)
{
	struct json_object *obj = NULL, *summary;
	const char *member[] = {"subject", "issuer", "serial"};
	size_t i;

	if (o->cert != NULL) {
		if ((summary = x509_summary(o->cert, NULL)) == NULL)
			return NULL;
		obj = json_object_new_object();
		for (i = 0; obj != NULL && i < sizeof(member) / sizeof(member[0]); i++)
			json_object_object_add(obj, member[i],
			    json_object_get(json_object_object_get(summary, member[i])));
		json_object_put(summary);
	} else
		obj = json_object_new_object();
	if (obj == NULL || field_add_string(obj, "kind", object_kind(o->cls)) != 0 ||
	    field_add_string(obj, "keyId", o->id_hex) != 0 ||
	    field_add_string(obj, "label", o->label) != 0) {
		json_object_put(obj);
		return NULL;
	}
	return obj;
}

/* text made safe for a dialog, cut to max characters; "" for NULL. */
static void
shown(const char *text, size_t max, char *out, size_t size)
{
	out[0] = '\0';
	if (text != NULL)
		display_text(text, strlen(text), max, out, size);
}

static void
cert_words(const struct object_info *o, char *buf, size_t size)
{
	char subject[256], issuer[256], serial[64];
	struct json_object *summary = NULL;

	if (o->cert == NULL) {
		snprintf(buf, size, _("a certificate that is not X.509 (ID %s)"),
		    o->id_hex != NULL ? o->id_hex : "-");
		return;
	}
	cert_name_shown(X509_get_subject_name(o->cert), SHOWN_CHARS, subject, sizeof(subject));
	cert_name_shown(X509_get_issuer_name(o->cert), SHOWN_CHARS, issuer, sizeof(issuer));
	summary = x509_summary(o->cert, NULL);
	shown(summary != NULL ? json_object_get_string(json_object_object_get(summary, "serial"))
			      : NULL,
	    SHOWN_ID_CHARS * 2, serial, sizeof(serial));
	json_object_put(summary);
	/* TRANSLATORS: a certificate to be deleted: its subject, issuer and serial number. */
	snprintf(buf, size, _("the certificate for %s issued by %s (serial number %s)"), subject,
	    issuer, serial);
}

void
object_words(const struct object_info *o, bool pair, char *buf, size_t size)
{
	char label[256], id[64], algorithm[64];

	if (o->cls == CKO_CERTIFICATE) {
		cert_words(o, buf, size);
		return;
	}
	shown(o->label, SHOWN_CHARS, label, sizeof(label));
	shown(o->id_hex != NULL ? o->id_hex : "-", SHOWN_ID_CHARS, id, sizeof(id));
	snprintf(algorithm, sizeof(algorithm), "%s", o->algorithm[0] ? o->algorithm : _("unknown"));
	/* TRANSLATORS: keys to be deleted: the algorithm ("RSA 2048"), the label, the ID. */
	if (pair && label[0])
		snprintf(buf, size, _("the %s key pair \"%s\" (ID %s)"), algorithm, label, id);
	else if (pair)
		snprintf(buf, size, _("the %s key pair with ID %s"), algorithm, id);
	else if (o->cls == CKO_PRIVATE_KEY && label[0])
		snprintf(buf, size, _("the %s private key \"%s\" (ID %s)"), algorithm, label, id);
	else if (o->cls == CKO_PRIVATE_KEY)
		snprintf(buf, size, _("the %s private key with ID %s"), algorithm, id);
	else if (label[0])
		snprintf(buf, size, _("the %s public key \"%s\" (ID %s)"), algorithm, label, id);
	else
		snprintf(buf, size, _("the %s public key with ID %s"), algorithm, id);
}

/*
 * token.c - enumerate tokens, name them with RFC 7512 URIs (p11-kit formats
 * and parses them), find one by URI.  Which module may serve a card
 * (module by ATR) is claim.c's, applied here to every list; what a
 * token can do is in token_capabilities.c, the tokens.list method in
 * tokenlist.c, whether its card is still there in card.c, the CK_RV
 * mapping in p11_error.c, taking turns at a token in token_lock.c.
 *
 * Reading slot and token information takes no lock: p11-kit initialises
 * modules with CKF_OS_LOCKING_OK, and a tokens.list must not wait behind a
 * PIN dialog on another request.  Sessions take the token's gates.
 * Must never: list a token that is not initialised (it has no PIN and no
 * label a page could show), or one whose card another module claims, or
 * write to a token.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <p11-kit/uri.h>

#include "protocol/cberr.h"
#include "pkcs11/card.h"
#include "pkcs11/claim.h"
#include "pkcs11/field.h"
#include "pkcs11/log.h"
#include "pkcs11/p11_error.h"
#include "pkcs11/request.h"
#include "pkcs11/token.h"

#define SLOTS_MAX 64

/* --- token information and URIs --- */

static void
token_copy_strings(struct token *t)
{
	field_trim_copy(t->reader, sizeof(t->reader), t->slot_info.slotDescription,
	    sizeof(t->slot_info.slotDescription));
	field_trim_copy(t->label, sizeof(t->label), t->info.label, sizeof(t->info.label));
	field_trim_copy(t->manufacturer, sizeof(t->manufacturer), t->info.manufacturerID,
	    sizeof(t->info.manufacturerID));
	field_trim_copy(t->model, sizeof(t->model), t->info.model, sizeof(t->info.model));
	field_trim_copy(
	    t->serial, sizeof(t->serial), t->info.serialNumber, sizeof(t->info.serialNumber));
}

static int
token_format_uri(struct token *t)
{
	P11KitUri *uri;
	int r = CB_ERR_ALLOC;

	if ((uri = p11_kit_uri_new()) == NULL)
		return CB_ERR_ALLOC;
	memcpy(p11_kit_uri_get_token_info(uri), &t->info, sizeof(t->info));
	if (p11_kit_uri_format(uri, P11_KIT_URI_FOR_TOKEN, &t->uri) == P11_KIT_URI_OK)
		r = 0;
	p11_kit_uri_free(uri);
	return r;
}

/* Fill t for slot of module m; CB_ERR_TOKEN_NOT_PRESENT for empty or blank slots. */
static int
token_load(struct request *req, struct p11_module *m, CK_SLOT_ID slot, struct token *t)
{
	CK_RV rv;

	memset(t, 0, sizeof(*t));
	t->module = m;
	t->slot = slot;
	if ((rv = m->funcs->C_GetSlotInfo(slot, &t->slot_info)) != CKR_OK ||
	    (rv = m->funcs->C_GetTokenInfo(slot, &t->info)) != CKR_OK)
		return p11_fail(req, rv, "reading the token information");
	t->info_fresh = true;
	/* A blank token has no PIN and no label a page could show: not listed. */
	if (!(t->info.flags & CKF_TOKEN_INITIALIZED))
		return CB_ERR_TOKEN_NOT_PRESENT;
	token_copy_strings(t);
	return token_format_uri(t);
}

void
token_clear(struct token *t)
{
	if (t == NULL)
		return;
	free(t->uri);
	t->uri = NULL;
	pcsc_watch_end(&t->card);
}

void
token_list_free(struct token *list, size_t n)
{
	size_t i;

	for (i = 0; list != NULL && i < n; i++)
		token_clear(&list[i]);
	free(list);
}

/* Append the tokens of module m to list (room for SLOTS_MAX per module). */
static int
token_list_module(struct request *req, struct p11_module *m, struct token *list, size_t *n)
{
	CK_SLOT_ID slots[SLOTS_MAX];
	CK_ULONG count = 0, i;
	CK_RV rv;
	int r;

	/* The sizing call makes modules like OpenSC notice new readers. */
	if ((rv = m->funcs->C_GetSlotList(CK_TRUE, NULL, &count)) != CKR_OK)
		return p11_fail(req, rv, "listing the slots");
	count = SLOTS_MAX;
	if ((rv = m->funcs->C_GetSlotList(CK_TRUE, slots, &count)) != CKR_OK)
		return p11_fail(req, rv, "listing the slots");
	for (i = 0; i < count; i++) {
		r = token_load(req, m, slots[i], &list[*n]);
		if (r == 0)
			(*n)++;
		else if (r != CB_ERR_TOKEN_NOT_PRESENT && r != CB_ERR_CARD_REMOVED)
			helper_log(CB_LOG_WARN, "module %s slot %lu: %s", m->path,
			    (unsigned long)slots[i], req->message);
		req->message[0] = '\0';
	}
	return 0;
}

/* Every token of every loaded module, before module by ATR. */
static int
token_list_every(struct request *req, struct token **out, size_t *n)
{
	struct token *list;
	size_t i, count = 0;

	*out = NULL;
	*n = 0;
	if ((list = calloc(module_count() * SLOTS_MAX + 1, sizeof(*list))) == NULL)
		return CB_ERR_ALLOC;
	for (i = 0; i < module_count(); i++) {
		if (module_at(i)->funcs == NULL)
			continue;
		if (token_list_module(req, module_at(i), list, &count) != 0) {
			helper_log(CB_LOG_WARN, "module %s: %s", module_at(i)->path, req->message);
			req->message[0] = '\0';
		}
	}
	*out = list;
	*n = count;
	return 0;
}

/* Keep, in order, the tokens the claim lets through; the others are freed. */
static void
token_list_claim(const struct claim *c, struct token *list, size_t *n)
{
	char why[REQUEST_MESSAGE_MAX];
	size_t i, kept = 0;
	bool *refused;

	if (!c->active || *n == 0)
		return;
	/* Decided on the whole list first: who shows a card decides who serves it. */
	if ((refused = calloc(*n, sizeof(*refused))) == NULL)
		return;
	for (i = 0; i < *n; i++)
		if (claim_refusal(c, list, *n, i, why, sizeof(why)) != NULL) {
			helper_log(CB_LOG_DEBUG, "token \"%s\" of %s not used: %s", list[i].label,
			    list[i].module->path, why);
			refused[i] = true;
		}
	for (i = 0; i < *n; i++) {
		if (refused[i])
			token_clear(&list[i]);
		else
			list[kept++] = list[i];
	}
	free(refused);
	*n = kept;
}

int
token_list_claimed(struct request *req, const struct claim *c, struct token **out, size_t *n)
{
	int r;

	if ((r = token_list_every(req, out, n)) == 0)
		token_list_claim(c, *out, n);
	return r;
}

int
token_list(struct request *req, struct token **out, size_t *n)
{
	struct claim c;

	claim_begin(&c);
	return token_list_claimed(req, &c, out, n);
}

static bool
uri_matches(P11KitUri *uri, const struct token *t)
{
	CK_INFO info;
	CK_RV rv;

	/*
	 * A module that cannot describe itself still holds its tokens: with
	 * nothing known about the module, a URI that names no module (as
	 * tokens.list gives them) matches, one that names a module does not.
	 */
	if ((rv = t->module->funcs->C_GetInfo(&info)) != CKR_OK) {
		helper_log(
		    CB_LOG_WARN, "module %s: C_GetInfo: %s", t->module->path, p11_kit_strerror(rv));
		memset(&info, 0, sizeof(info));
	}
	return p11_kit_uri_match_token_info(uri, &t->info) &&
	       p11_kit_uri_match_slot_info(uri, &t->slot_info) &&
	       p11_kit_uri_match_module_info(uri, &info);
}

static int
token_parse_uri(struct request *req, const char *text, P11KitUri **out)
{
	P11KitUri *uri;
	int type =
	    P11_KIT_URI_FOR_TOKEN | P11_KIT_URI_FOR_SLOT | P11_KIT_URI_FOR_MODULE_WITH_VERSION;

	if ((uri = p11_kit_uri_new()) == NULL)
		return CB_ERR_ALLOC;
	if (p11_kit_uri_parse(text, type, uri) != P11_KIT_URI_OK) {
		p11_kit_uri_free(uri);
		return request_fail(req, CB_ERR_INVALID_PARAMS, "params.token: not a pkcs11: URI");
	}
	if (p11_kit_uri_any_unrecognized(uri)) {
		p11_kit_uri_free(uri);
		return request_fail(req, CB_ERR_INVALID_PARAMS,
		    "params.token: not a token URI (has object or unknown attributes)");
	}
	*out = uri;
	return 0;
}

/* No usable token matched; say why when the claim refused one that did. */
static int
token_find_none(
    struct request *req, const struct claim *c, const struct token *list, size_t n, P11KitUri *uri)
{
	char why[REQUEST_MESSAGE_MAX];
	size_t i;

	for (i = 0; i < n; i++)
		if (uri_matches(uri, &list[i]) &&
		    claim_refusal(c, list, n, i, why, sizeof(why)) != NULL)
			return request_fail(req, CB_ERR_TOKEN_NOT_PRESENT, "%s", why);
	return request_fail(req, CB_ERR_TOKEN_NOT_PRESENT, "no such token is present");
}

int
token_find(struct request *req, const char *text, struct token *out)
{
	char why[REQUEST_MESSAGE_MAX];
	struct token *list = NULL;
	P11KitUri *uri = NULL;
	size_t i, n = 0, match = 0, found = 0;
	struct claim c;
	int r;

	memset(out, 0, sizeof(*out));
	claim_begin(&c);
	if ((r = token_parse_uri(req, text, &uri)) != 0 ||
	    (r = token_list_every(req, &list, &n)) != 0)
		goto out;
	for (i = 0; i < n; i++)
		if (uri_matches(uri, &list[i]) &&
		    claim_refusal(&c, list, n, i, why, sizeof(why)) == NULL) {
			match = i;
			found++;
		}
	if (found == 0) {
		r = token_find_none(req, &c, list, n, uri);
		goto out;
	}
	if (found > 1) {
		r = request_fail(req, CB_ERR_INVALID_PARAMS,
		    "params.token: matches %zu tokens; name one", found);
		goto out;
	}
	*out = list[match];
	list[match].uri = NULL; /* transferred */
	card_bind(req, out);
	r = 0;
out:
	token_list_free(list, n);
	p11_kit_uri_free(uri);
	return r;
}

int
token_refresh(struct request *req, struct token *t)
{
	CK_RV rv;

	if ((rv = t->module->funcs->C_GetTokenInfo(t->slot, &t->info)) != CKR_OK)
		return p11_fail(req, rv, "reading the token information");
	t->info_fresh = true;
	return 0;
}

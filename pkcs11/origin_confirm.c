/*
 * origin_confirm.c - origin.confirm: asks the user whether a page whose
 * origin nobody allowed may use the smart cards (the daemon's consent,
 * doc/PROTOCOL.md), and answers "always", "once" or "deny".
 *
 * The question names the site and the origin the daemon admitted
 * (dialog_words.c), never a text the page chose.  Must never: answer for the user (a dialog that
 * could not be shown is an error, not a "deny" and not an "allow"), or touch a token.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "protocol/cberr.h"
#include "protocol/params.h"
#include "common/i18n.h"
#include "pkcs11/dialog.h"
#include "pkcs11/dialog_words.h"
#include "pkcs11/field.h"
#include "pkcs11/helper.h"
#include "pkcs11/log.h"
#include "pkcs11/request.h"

int
handle_origin_confirm(struct request *req, struct json_object **result)
{
	static const char *const decisions[] = {[DIALOG_ANSWER_OK] = "always",
	    [DIALOG_ANSWER_NOT_OK] = "once",
	    [DIALOG_ANSWER_CANCEL] = "deny"};
	char desc[DIALOG_TEXT_MAX], origin[DIALOG_NAME_SIZE], site[DIALOG_NAME_SIZE + 32];
	enum dialog_answer answer;
	struct json_object *obj;
	size_t len;
	int r;

	if (json_object_object_length(req->params) != 0)
		return request_fail(
		    req, CB_ERR_INVALID_PARAMS, "params: origin.confirm takes none");
	if (req->origin[0] == '\0' || !proto_text_ok(req->origin, strlen(req->origin)))
		return request_fail(
		    req, CB_ERR_INVALID_PARAMS, "origin: a printable origin is required");
	dialog_origin(origin, sizeof(origin), req);
	dialog_site_line(site, sizeof(site), req);
	len = (size_t)snprintf(desc, sizeof(desc), "%s", site);
	snprintf(desc + len, sizeof(desc) - len,
	    /* TRANSLATORS: the consent question; %s is the origin (https://shop.example). */
	    _("Allow %s to use your smart cards?\n\n"
	      "The page will see your cards and tokens and may ask to generate keys and to "
	      "store certificates on them. You are still asked for the PIN each time."),
	    origin);
	/* TRANSLATORS: button labels; "_" marks the access key (Alt+letter). */
	if ((r = dialog_question(
		 req, desc, _("_Always allow"), _("Allow _once"), _("_Deny"), &answer)) != 0)
		return r;
	helper_log(CB_LOG_INFO, "request %llu: origin.confirm: %s", (unsigned long long)req->id,
	    decisions[answer]);
	if ((obj = json_object_new_object()) == NULL)
		return CB_ERR_ALLOC;
	if (field_add_string(obj, "decision", decisions[answer]) != 0) {
		json_object_put(obj);
		return CB_ERR_ALLOC;
	}
	*result = obj;
	return 0;
}

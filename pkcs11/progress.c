/*
 * progress.c - the stages a request reports while it runs (progress.h),
 * each once and in order, as doc/PROTOCOL.md "Progress" promises the page.
 *
 * A card may take minutes to generate a key: without these the page would
 * show "enter your PIN" long after the PIN was taken.  The names are the
 * progress row's of protocol/methods.c, never a copy.  A report goes out
 * as one frame through helper_send(), which is frame-atomic; the request's
 * answer, sent later by the same worker, always comes after it.
 * Must never: report for another request than the one it serves, or say
 * anything about a PIN but which one (user, admin, PUK) is asked for.
 */
#include "config.h"

#include <string.h>

#include <json.h>

#include "protocol/methods.h"
#include "pkcs11/progress.h"
#include "pkcs11/request.h"

void (*progress_sink)(struct json_object *msg);

static const char *const *
choices(const char *field)
{
	const struct proto_field *f;

	for (f = proto_progress_link_fields; f->name != NULL; f++)
		if (strcmp(f->name, field) == 0)
			return f->choices;
	return NULL;
}

const char *
progress_stage_name(enum progress_stage stage)
{
	return stage < PROGRESS_STAGES ? choices("stage")[stage] : NULL;
}

const char *
progress_pin_name(enum progress_pin pin)
{
	return pin > PROGRESS_PIN_NONE && pin <= PROGRESS_PIN_PUK ? choices("pin")[pin - 1] : NULL;
}

static bool
pin_stage(enum progress_stage stage)
{
	return stage == PROGRESS_WAITING_FOR_PIN || stage == PROGRESS_WAITING_FOR_PIN_PAD ||
	       stage == PROGRESS_PIN_ACCEPTED;
}

/* Sent already, or would go back to an earlier stage? Marks it sent otherwise. */
static bool
progress_due(struct request *req, enum progress_stage stage, enum progress_pin pin)
{
	uint32_t bit = 1u << (stage * 4 + pin);

	if (req->progress_sent & bit)
		return false;
	if (!pin_stage(stage) && req->progress_sent != 0 && (int)stage < req->progress_last)
		return false;
	req->progress_sent |= bit;
	if ((int)stage > req->progress_last)
		req->progress_last = (int)stage;
	return true;
}

void
progress_report(struct request *req, enum progress_stage stage, enum progress_pin pin)
{
	struct json_object *msg = NULL, *report = NULL;

	if (stage >= PROGRESS_STAGES || pin > PROGRESS_PIN_PUK || !progress_due(req, stage, pin))
		return;
	if (progress_sink == NULL || (msg = json_object_new_object()) == NULL ||
	    (report = json_object_new_object()) == NULL)
		goto out;
	json_object_object_add(report, "stage", json_object_new_string(progress_stage_name(stage)));
	if (pin != PROGRESS_PIN_NONE)
		json_object_object_add(
		    report, "pin", json_object_new_string(progress_pin_name(pin)));
	json_object_object_add(msg, "id", json_object_new_int64((int64_t)req->id));
	json_object_object_add(msg, "progress", report);
	report = NULL; /* transferred */
	progress_sink(msg);
out:
	json_object_put(report);
	json_object_put(msg);
}

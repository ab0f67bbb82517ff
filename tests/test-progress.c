/*
 * test-progress.c - unit tests of pkcs11/progress.c (TAP): the stages a
 * request reports to the daemon, each once and in order (doc/PROTOCOL.md
 * "Progress"), named as the progress row of protocol/methods.c names them,
 * in the link message of doc/HELPER-IPC.md.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "protocol/methods.h"
#include "pkcs11/progress.h"
#include "pkcs11/request.h"
#include "tests/tap.h"

#define SENT_MAX 16

static char *sent[SENT_MAX]; /* the frames' JSON, in order */
static size_t nsent;

static void
record(struct json_object *msg)
{
	if (nsent < SENT_MAX)
		sent[nsent++] = strdup(json_object_to_json_string_ext(msg, JSON_C_TO_STRING_PLAIN));
}

static struct request *
fresh(void)
{
	struct request *req = request_new();

	while (nsent > 0)
		free(sent[--nsent]);
	req->id = 42;
	progress_sink = record;
	return req;
}

static const struct proto_notification *
progress_row(void)
{
	const struct proto_notification *n;

	for (n = proto_notifications; n->name != NULL; n++)
		if (strcmp(n->name, "progress") == 0)
			return n;
	return NULL;
}

static void
test_the_stages_and_pins_are_the_methods_tables(void)
{
	const struct proto_notification *row = progress_row();
	const struct proto_field *f;
	size_t i;

	TAP_CHECK(row != NULL);
	for (i = 0; row != NULL && row->types[i] != NULL; i++)
		TAP_CHECK(progress_stage_name((enum progress_stage)i) != NULL &&
			  strcmp(progress_stage_name((enum progress_stage)i), row->types[i]) == 0);
	TAP_CHECK(i == PROGRESS_STAGES && progress_stage_name(PROGRESS_STAGES) == NULL);
	for (f = row->params; f->name != NULL && strcmp(f->name, "pin") != 0; f++)
		;
	TAP_CHECK(f->name != NULL && strcmp(f->choices[0], "user") == 0);
	for (i = 0; f->choices != NULL && f->choices[i] != NULL; i++)
		TAP_CHECK(
		    strcmp(progress_pin_name((enum progress_pin)(i + 1)), f->choices[i]) == 0);
	TAP_CHECK(i == PROGRESS_PIN_PUK && progress_pin_name(PROGRESS_PIN_NONE) == NULL);
}

static void
test_a_report_is_one_frame_with_the_request_id(void)
{
	struct request *req = fresh();

	progress_report(req, PROGRESS_WAITING_FOR_PIN, PROGRESS_PIN_ADMIN);
	progress_report(req, PROGRESS_GENERATING_KEY, PROGRESS_PIN_NONE);
	TAP_CHECK(nsent == 2);
	TAP_CHECK(nsent == 2 &&
		  strcmp(sent[0], "{\"id\":42,\"progress\":{\"stage\":\"waitingForPin\","
				  "\"pin\":\"admin\"}}") == 0 &&
		  strcmp(sent[1], "{\"id\":42,\"progress\":{\"stage\":\"generatingKey\"}}") == 0);
	request_free(req);
}

/* A wrong PIN asks again: the page already knows the dialog is up. */
static void
test_each_stage_goes_once(void)
{
	struct request *req = fresh();

	progress_report(req, PROGRESS_WAITING_FOR_PIN, PROGRESS_PIN_USER);
	progress_report(req, PROGRESS_WAITING_FOR_PIN, PROGRESS_PIN_USER);
	progress_report(req, PROGRESS_PIN_ACCEPTED, PROGRESS_PIN_USER);
	progress_report(req, PROGRESS_WRITING_CERTIFICATE, PROGRESS_PIN_NONE);
	progress_report(req, PROGRESS_WRITING_CERTIFICATE, PROGRESS_PIN_NONE);
	TAP_CHECK(nsent == 3);
	request_free(req);
}

/* OpenPGP cards: admin PIN, keygen, then the user PIN signs the request. */
static void
test_the_pin_stages_go_once_per_pin_and_nothing_else_goes_back(void)
{
	struct request *req = fresh();

	progress_report(req, PROGRESS_WAITING_FOR_PIN, PROGRESS_PIN_ADMIN);
	progress_report(req, PROGRESS_PIN_ACCEPTED, PROGRESS_PIN_ADMIN);
	progress_report(req, PROGRESS_GENERATING_KEY, PROGRESS_PIN_NONE);
	progress_report(req, PROGRESS_WAITING_FOR_DIALOG, PROGRESS_PIN_NONE);
	progress_report(req, PROGRESS_WAITING_FOR_PIN, PROGRESS_PIN_USER);
	progress_report(req, PROGRESS_PIN_ACCEPTED, PROGRESS_PIN_USER);
	progress_report(req, PROGRESS_SIGNING_REQUEST, PROGRESS_PIN_NONE);
	TAP_CHECK(nsent == 6);
	TAP_CHECK(nsent == 6 && strstr(sent[3], "waitingForPin") && strstr(sent[3], "user"));
	request_free(req);
}

static void
test_without_a_sink_nothing_is_sent_and_nothing_breaks(void)
{
	struct request *req = fresh();

	progress_sink = NULL;
	progress_report(req, PROGRESS_GENERATING_KEY, PROGRESS_PIN_NONE);
	progress_report(req, PROGRESS_STAGES, PROGRESS_PIN_NONE);
	TAP_CHECK(nsent == 0);
	request_free(req);
}

/* The link's schema takes exactly what the helper sends (the daemon checks with it). */
static void
test_the_link_schema_takes_what_is_reported(void)
{
	struct request *req = fresh();
	struct json_object *msg, *report;
	char why[PROTO_PARAMS_WHY_MAX];

	progress_report(req, PROGRESS_WAITING_FOR_PIN_PAD, PROGRESS_PIN_PUK);
	TAP_CHECK(nsent == 1);
	msg = json_tokener_parse(nsent == 1 ? sent[0] : "{}");
	TAP_CHECK(json_object_object_get_ex(msg, "progress", &report));
	TAP_CHECK(proto_check_params(report, proto_progress_link_fields, why, sizeof(why)) == 0);
	json_object_put(msg);
	request_free(req);
}

int
main(void)
{
	static const struct tap_test tests[] = {
	    TAP_TEST(test_the_stages_and_pins_are_the_methods_tables),
	    TAP_TEST(test_a_report_is_one_frame_with_the_request_id),
	    TAP_TEST(test_each_stage_goes_once),
	    TAP_TEST(test_the_pin_stages_go_once_per_pin_and_nothing_else_goes_back),
	    TAP_TEST(test_without_a_sink_nothing_is_sent_and_nothing_breaks),
	    TAP_TEST(test_the_link_schema_takes_what_is_reported),
	};
	int r = tap_main(tests, sizeof(tests) / sizeof(tests[0]));

	while (nsent > 0)
		free(sent[--nsent]);
	return r;
}

/*
 * cli.h - the cardbridge command-line tool: shared declarations.
 *
 * cardbridge talks to cardbridged only over the control socket in
 * $XDG_RUNTIME_DIR (never over the browser port), and starts it for the
 * cardbridge:// URL scheme.  It is single-threaded.  Its messages are
 * marked for translation with _() (common/i18n.h, listed in po/POTFILES).
 */
#ifndef CB_CLI_H
#define CB_CLI_H

#include <stdbool.h>
#include <stdio.h>

struct json_object;

/* Exit statuses (documented in cardbridge.1). */
enum {
	CLI_OK = 0,
	CLI_FAILED = 1,	     /* the daemon said no, or a system call failed */
	CLI_USAGE = 2,	     /* bad command line, or a refused URL */
	CLI_NOT_RUNNING = 3, /* no cardbridged answers on the control socket */
};

struct cli_options {
	const char *control_socket; /* --control-socket, or NULL for the default */
	bool json;		    /* --json: print results as JSON */
};

/* output.c */

/*
 * The user's language for what we print, in the terminal's codeset (LC_CTYPE):
 * once, before anything is printed.
 */
void cli_output_init(void);

/* s with control and non-ASCII bytes as '?': what a card or a file says is not trusted. */
void cli_print_safe(FILE *out, const char *s);

/* o's member key, NULL when o is no object or has none (a borrowed reference). */
struct json_object *cli_member(struct json_object *o, const char *key);

/* "cardbridge: " and the message on stderr, for the user to read. */
void cli_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* The answers of control.status, control.tokens and control.origins.*, as text. */
void cli_print_status(FILE *out, struct json_object *status);
void cli_print_tokens(FILE *out, struct json_object *tokens, const char *indent);
/* The cards that wait for the module their ATR names (module by ATR), if any. */
void cli_print_waiting(FILE *out, struct json_object *waiting, const char *indent);
void cli_print_origins(FILE *out, struct json_object *origins);
void cli_print_change(FILE *out, const char *verb, struct json_object *change);

/* client.c */

/* The control socket path (malloc'd), or NULL with a message when unknown. */
char *cli_control_path(const struct cli_options *o);

/* Does a cardbridged answer on path? */
bool cli_control_answers(const char *path);

/*
 * One request on a fresh connection.  Returns CLI_OK with *result, or
 * CLI_FAILED with *message (the daemon's error text or ours; malloc'd),
 * or CLI_NOT_RUNNING.  params may be NULL; it is not consumed.
 */
int cli_call(const char *path, const char *method, struct json_object *params, int timeout_ms,
    struct json_object **result, char **message);

/*
 * One answer line of the control socket: CLI_OK with *result (NULL for a
 * JSON null), or CLI_FAILED with *message: the daemon's error text, or
 * ours for a line that is not one JSON object or whose id is not ours.
 */
int cli_parse_answer(const char *line, struct json_object **result, char **message);

/* The same, and *reason (malloc'd) the error's data.reason when it has one, else NULL. */
int cli_parse_answer_reason(
    const char *line, struct json_object **result, char **message, char **reason);
int cli_call_reason(const char *path, const char *method, struct json_object *params,
    int timeout_ms, struct json_object **result, char **message, char **reason);

/* card.c: "cardbridge card ...", the desktop's card management. */
int cli_card(const struct cli_options *o, int argc, char **argv);

/* card_output.c: what "cardbridge card" prints for a person. */
void cli_print_card_status(FILE *out, struct json_object *token);
void cli_print_card_objects(FILE *out, struct json_object *keys, struct json_object *certs);
/* A management error in the user's language: the reason's sentence, then the detail. */
void cli_card_error(const char *reason, const char *message);

/* policy.c: "cardbridge browser-policy --origin ORIGIN...", printed on out. */
int cli_browser_policy(FILE *out, int argc, char **argv);

/* launch.c: "cardbridge open URL". */
int cli_open(const struct cli_options *o, const char *url);

#endif /* CB_CLI_H */

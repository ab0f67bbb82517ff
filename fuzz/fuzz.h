/*
 * fuzz.h - what every fuzz target shares: the libFuzzer entry points, an
 * assertion that stays on in release builds, and checks that more than one
 * target makes.
 *
 * A target is one file, fuzz/fuzz-NAME.c, defining LLVMFuzzerTestOneInput.
 * It is linked either with libFuzzer (--enable-fuzzing) or with
 * fuzz/driver.c, which replays fuzz/corpus/NAME/ for `make check`.
 * Targets must never do I/O, sleep, or keep state between inputs other than
 * what LLVMFuzzerInitialize sets up once.
 */
#ifndef CB_FUZZ_H
#define CB_FUZZ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

/*
 * A property the code under test promised and broke: a finding, not a
 * crash of the harness.  abort() so libFuzzer saves the input and the
 * replay driver's TAP stream ends in an error.
 */
#define FUZZ_CHECK(cond)                                                                           \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			fprintf(                                                                   \
			    stderr, "%s:%d: property violated: %s\n", __FILE__, __LINE__, #cond);  \
			abort();                                                                   \
		}                                                                                  \
	} while (0)

/* Printable ASCII only: what texts that reach logs or the page may hold. */
static inline bool
fuzz_printable(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || (unsigned char)*s >= 0x7f)
			return false;
	return true;
}

struct json_object;

/*
 * All of text as one JSON value, by json-c's tokenizer with this depth and
 * these JSON_TOKENER_* flags; NULL if it refuses or stops short.  A check
 * written apart from protocol/, in fuzz/json-parse.c, which only the
 * targets that use it link (with json-c).
 */
struct json_object *fuzz_parse_json(const char *text, size_t len, int depth, int flags);

#endif /* CB_FUZZ_H */

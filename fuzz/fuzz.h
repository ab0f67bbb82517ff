/*
 * fuzz.h - what every fuzz target shares: the libFuzzer entry points and
 * an assertion that stays on in release builds.
 *
 * A target is one file, fuzz/fuzz-NAME.c, defining LLVMFuzzerTestOneInput.
 * It is linked either with libFuzzer (--enable-fuzzing) or with
 * fuzz/driver.c, which replays fuzz/corpus/NAME/ for `make check`.
 * Targets must never do I/O, sleep, or keep state between inputs other than
 * what LLVMFuzzerInitialize sets up once.
 */
#ifndef CB_FUZZ_H
#define CB_FUZZ_H

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
#define FUZZ_CHECK(cond)							\
	do {									\
		if (!(cond)) {							\
			fprintf(stderr, "%s:%d: property violated: %s\n",	\
			    __FILE__, __LINE__, #cond);				\
			abort();						\
		}								\
	} while (0)

#endif /* CB_FUZZ_H */

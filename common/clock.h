/*
 * clock.h - the monotonic clock in milliseconds, for timeouts and for
 * how long something took (clock.c).
 */
#ifndef CB_CLOCK_H
#define CB_CLOCK_H

#include <stdint.h>
#include <time.h>

/* CLOCK_MONOTONIC now, in milliseconds. */
uint64_t cb_now_ms(void);

/* Milliseconds from now until deadline (CLOCK_MONOTONIC); negative once past. */
long cb_ms_until(const struct timespec *deadline);

#endif /* CB_CLOCK_H */

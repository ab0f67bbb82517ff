/*
 * heap.c - cardbridged's memory after a burst of connections.
 *
 * Each WebSocket connection costs lws about 20 KiB of heap (its 16 KiB
 * receive buffer, the handshake's header table, the wsi), all freed when
 * the connection ends, but glibc keeps freed heap for reuse: after 1,000
 * pages came and went the daemon stayed 1.2-1.7 MiB larger than idle.
 * Three things keep it (bench/RESULTS.md has the figures):
 *  - the freed heap itself: malloc_trim() gives it back, but only once lws
 *    has freed the connections, which it does after their CLOSED callback,
 *    on libuv (evloop.c) in libuv's close callbacks at the end of the loop
 *    turn.  So the trim runs from a timer, 100 ms after the last one left.
 *  - one malloc arena per thread that allocates (the helper link, the card
 *    watcher): M_ARENA_MAX 1 folds them into the main one.
 *  - glibc's per-thread cache, which keeps the last few chunks freed of each
 *    size wherever they lie and which malloc_trim() leaves alone: it can
 *    only be turned off from the environment, before the process starts
 *    (GLIBC_TUNABLES=glibc.malloc.tcache_count=0, as cardbridge.service and
 *    cardbridge open start us).
 *
 * Service thread only, except heap_tune() (main, before any thread).  A
 * trim walks the heap: never per request.
 */
#include "config.h"

#include <malloc.h>

#include <libwebsockets.h>

#include "daemon/heap.h"

/* Late enough for lws's frees of the last connections, soon enough to be idle. */
#define TRIM_DELAY_US (100 * LWS_US_PER_MS)

static lws_sorted_usec_list_t trim_sul;

static void
trim_now(lws_sorted_usec_list_t *sul)
{
	(void)sul;
	malloc_trim(0);
}

void
heap_tune(void)
{
	mallopt(M_ARENA_MAX, 1);
}

void
heap_trim_soon(struct lws_context *context)
{
	lws_sul_schedule(context, 0, &trim_sul, trim_now, TRIM_DELAY_US);
}

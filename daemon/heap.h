/*
 * heap.h - cardbridged's memory after a burst of connections (heap.c).
 */
#ifndef CB_HEAP_H
#define CB_HEAP_H

struct lws_context;

/* In main(), before any thread starts: glibc malloc settings. */
void heap_tune(void);
/* Give freed heap back to the system shortly, once lws has freed what it will. */
void heap_trim_soon(struct lws_context *context);

#endif /* CB_HEAP_H */

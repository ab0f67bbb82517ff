/*
 * ipc.h - framing of the messages between cardbridged and
 * cardbridge-pkcs11-helper (see doc/HELPER-IPC.md).
 *
 * A frame is a 4-byte big-endian length followed by that many bytes of
 * UTF-8 JSON text.  Frames larger than CB_IPC_MAX_FRAME are a protocol
 * violation: the reader reports CB_ERR_IPC and the peer is killed.
 * Pure code: no I/O, so it can be unit-tested and fuzzed.
 */
#ifndef CB_IPC_H
#define CB_IPC_H

#include <stddef.h>
#include <stdint.h>

#define CB_IPC_MAX_FRAME (1024 * 1024)
#define CB_IPC_HEADER 4

struct ipc_reader {
	uint8_t *buf;
	size_t len;
	size_t cap;
	size_t max_frame;
};

/* Initialise a reader accepting frames up to max_frame bytes (0: default). */
void ipc_reader_init(struct ipc_reader *r, size_t max_frame);
void ipc_reader_clear(struct ipc_reader *r);

/* Append bytes received from the peer. */
int ipc_reader_feed(struct ipc_reader *r, const void *data, size_t n);

/*
 * Take the next complete frame: returns 0 and sets *msg (NUL-terminated,
 * caller frees) and *len; CB_ERR_AGAIN when more input is needed; CB_ERR_IPC
 * on an oversize or empty frame or a frame with an embedded NUL.
 */
int ipc_reader_next(struct ipc_reader *r, char **msg, size_t *len);

/* Build a frame around text (len bytes); caller frees *out. */
int ipc_frame_encode(const char *text, size_t len, uint8_t **out, size_t *outlen);

#endif /* CB_IPC_H */

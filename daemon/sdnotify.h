/*
 * sdnotify.h - the three pieces of the systemd protocol cardbridged uses.
 *
 * Readiness notification and socket activation are small, stable protocols
 * (sd_notify(3), sd_listen_fds(3)); implementing them here instead of
 * linking libsystemd keeps gcrypt, lz4, zstd and lzma out of a daemon that
 * should be invisible next to the card (about 1 MiB of resident memory).
 */
#ifndef CB_SDNOTIFY_H
#define CB_SDNOTIFY_H

#include <stdbool.h>

#define SD_LISTEN_FDS_START 3

/* Send state (e.g. "READY=1") to $NOTIFY_SOCKET; 0 when not under systemd. */
int sdn_notify(const char *state);

/* Number of sockets passed by systemd for this pid (0 if none); unsets the variables. */
int sdn_listen_fds(void);

/* Is fd a listening TCP socket (IPv4 or IPv6)? */
bool sdn_is_listening_tcp(int fd);

#endif /* CB_SDNOTIFY_H */

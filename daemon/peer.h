/*
 * peer.h - who owns the other end of a loopback TCP connection, and who
 * holds a port, as the kernel's socket diagnostics tell (sock_diag,
 * NETLINK_INET_DIAG: what `ss -tne` shows).
 *
 * A browser and cardbridged run as the same user; any other local user
 * can send the same Origin header, so the handshake admits a TCP peer only
 * when the kernel says its socket belongs to our own uid.  Under the
 * systemd unit's PrivateUsers=yes other users read as the overflow uid
 * (65534), which is not ours either.
 */
#ifndef CB_PEER_H
#define CB_PEER_H

#include <stddef.h>
#include <sys/types.h>

struct peer_diag;

/* A netlink socket for lookups; CB_ERR_SYSTEM (errno set) when the kernel refuses one. */
int peer_diag_open(struct peer_diag **out);
void peer_diag_free(struct peer_diag *p);

/*
 * The uid owning the client end of fd, a TCP connection accepted on a
 * loopback listener: one netlink round trip with the connection's
 * 4-tuple.  0, or CB_ERR_SYSTEM when the kernel cannot tell (the client
 * has gone, or netlink failed): the caller must then refuse.
 */
int peer_diag_owner(struct peer_diag *p, int fd, uid_t *uid);

/*
 * Who holds TCP addr:port (addr numeric, IPv6 without brackets), for a
 * start-up error: "uid 65534 (nobody), pid 812 (python3)", the pid only
 * when /proc tells; "" when nobody can be named.  Not for the handshake
 * path: it dumps every listener and may scan /proc.
 */
void peer_port_holder(const char *addr, int port, char *out, size_t outlen);

#endif /* CB_PEER_H */

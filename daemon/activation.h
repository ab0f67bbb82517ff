/*
 * activation.h - where cardbridged listens: systemd socket activation
 * (sd_listen_fds) and a check that every listening socket is loopback.
 *
 * Runs on the lws service thread only.  The inherited listening sockets
 * belong to the process, not to one struct daemon, so their state is
 * file-static here.
 */
#ifndef CB_ACTIVATION_H
#define CB_ACTIVATION_H

struct daemon;
struct json_object;
struct lws_protocols;
struct lws_vhost;

/*
 * When systemd passed listening sockets, create one non-listening vhost
 * per socket with the given (WebSocket) protocols, accept connections on
 * the inherited socket ourselves and adopt them into that vhost, and arm
 * the idle exit (cfg->idle_exit).  Returns 1 when socket-activated, 0 when
 * not (the caller creates its own listeners), or a cb_err: an inherited
 * socket that is not a loopback TCP listener stops the start.
 */
int activation_start(struct daemon *d, const struct lws_protocols *protocols);

struct listen_addr;

/*
 * Before listening on l ourselves: can it be bound?  0: yes; 1: l is an
 * optional address this host does not have (no IPv6), to be skipped;
 * CB_ERR_SYSTEM: anything else (the port is taken, the address is not
 * ours), logged with who holds the port when the kernel tells, so the
 * daemon does not start.  An address that another user holds would let
 * that user answer in our place.
 */
int activation_probe_listen(const struct listen_addr *l);

/* The port the Host header must name for a connection on vh. */
int activation_vhost_port(struct lws_vhost *vh);

/*
 * Refuse (CB_ERR_SYSTEM) when any listening TCP socket of this process is
 * bound to a non-loopback address.  libwebsockets 4.1.6 binds to the
 * wildcard address when getifaddrs() fails (e.g. AF_NETLINK blocked by a
 * sandbox); this turns that into a start-up error instead of exposure.
 */
int activation_check_loopback(void);

/* A new JSON array of "ADDR:PORT" strings cardbridged serves on. */
struct json_object *activation_listening(struct daemon *d);

/* Was this process socket-activated? */
int activation_is_active(void);

/*
 * "cardbridge open" hands a daemon it spawns its start lock as an fd
 * (CARDBRIDGE_START_LOCK_FD), so that no second "open" starts another
 * daemon while this one gets ready: take it at start (close-on-exec, so the
 * helper never holds it), release it once we listen.
 */
void activation_take_start_lock(void);
void activation_release_start_lock(void);

/* The last session left: (re)start the idle-exit countdown.  Service thread. */
void activation_idle_check(struct daemon *d);

#endif /* CB_ACTIVATION_H */

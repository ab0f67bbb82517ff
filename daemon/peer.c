/*
 * peer.c - sock_diag lookups (peer.h): the owner of a connection's client
 * end for handshake admission, and the holder of a port for bind errors.
 *
 * Threads: the service thread.  One request, one answer: the kernel
 * answers SOCK_DIAG_BY_FAMILY from its socket tables at once, so a lookup
 * is a sendto() and a recv() on a netlink socket kept open for the
 * daemon's life (with a 1 s receive timeout, should it ever not).
 * Must never: report an owner it did not read from the kernel, or let a
 * late answer to an earlier lookup (a sequence number that is not the
 * current one) stand for the current one.
 */
#include "config.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pwd.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "daemon/peer.h"
#include "protocol/cberr.h"

struct peer_diag {
	int fd;
	uint32_t seq;
};

/* Called for each inet_diag_msg an answer holds; true: stop reading. */
typedef bool (*diag_each)(const struct inet_diag_msg *m, void *arg);

int
peer_diag_open(struct peer_diag **out)
{
	struct timeval tv = {1, 0};
	struct peer_diag *p;

	if ((p = calloc(1, sizeof(*p))) == NULL)
		return CB_ERR_ALLOC;
	p->fd = socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);
	if (p->fd < 0 || setsockopt(p->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) != 0) {
		int saved = errno;

		peer_diag_free(p);
		errno = saved;
		return CB_ERR_SYSTEM;
	}
	*out = p;
	return 0;
}

void
peer_diag_free(struct peer_diag *p)
{
	if (p == NULL)
		return;
	if (p->fd >= 0)
		close(p->fd);
	free(p);
}

static int
diag_send(struct peer_diag *p, const struct inet_diag_req_v2 *r, bool dump)
{
	struct sockaddr_nl kernel = {.nl_family = AF_NETLINK};
	struct {
		struct nlmsghdr nlh;
		struct inet_diag_req_v2 r;
	} req;

	memset(&req, 0, sizeof(req));
	req.nlh.nlmsg_len = sizeof(req);
	req.nlh.nlmsg_type = SOCK_DIAG_BY_FAMILY;
	req.nlh.nlmsg_flags = NLM_F_REQUEST | (dump ? NLM_F_DUMP : 0);
	req.nlh.nlmsg_seq = ++p->seq;
	req.r = *r;
	while (sendto(p->fd, &req, sizeof(req), 0, (struct sockaddr *)&kernel, sizeof(kernel)) < 0)
		if (errno != EINTR)
			return CB_ERR_SYSTEM;
	return 0;
}

/* One datagram's messages: 1 when the answer is complete, 0 to read on, <0 on error. */
static int
diag_messages(struct peer_diag *p, const void *buf, size_t n, bool dump, diag_each each, void *arg)
{
	const struct nlmsghdr *h;
	int len = (int)n;

	for (h = buf; NLMSG_OK(h, len); h = NLMSG_NEXT(h, len)) {
		if (h->nlmsg_seq != p->seq)
			continue; /* a late answer to an earlier lookup */
		if (h->nlmsg_type == NLMSG_DONE)
			return 1;
		if (h->nlmsg_type == NLMSG_ERROR) {
			const struct nlmsgerr *e = NLMSG_DATA(h);

			errno = e->error ? -e->error : ENOENT;
			return CB_ERR_SYSTEM;
		}
		if (h->nlmsg_type == SOCK_DIAG_BY_FAMILY &&
		    h->nlmsg_len >= NLMSG_LENGTH(sizeof(struct inet_diag_msg)) &&
		    (each(NLMSG_DATA(h), arg) || !dump))
			return 1;
	}
	return 0;
}

/* Send r and hand each answer to each(), until the kernel is done or each() says stop. */
static int
diag_exchange(
    struct peer_diag *p, const struct inet_diag_req_v2 *r, bool dump, diag_each each, void *arg)
{
	uint32_t buf[2048]; /* aligned for struct nlmsghdr */
	ssize_t n;
	int r2;

	if ((r2 = diag_send(p, r, dump)) != 0)
		return r2;
	for (;;) {
		if ((n = recv(p->fd, buf, sizeof(buf), 0)) < 0) {
			if (errno == EINTR)
				continue;
			return CB_ERR_SYSTEM;
		}
		if (n == 0) {
			errno = EPROTO;
			return CB_ERR_SYSTEM;
		}
		if ((r2 = diag_messages(p, buf, (size_t)n, dump, each, arg)) != 0)
			return r2 > 0 ? 0 : r2;
	}
}

/* The port (network order) and address of a TCP socket address; false if not TCP/IP. */
static bool
sockid_part(const struct sockaddr_storage *ss, __be16 *port, __be32 addr[4])
{
	if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *s4 = (const struct sockaddr_in *)ss;

		*port = s4->sin_port;
		addr[0] = s4->sin_addr.s_addr;
		return true;
	}
	if (ss->ss_family == AF_INET6) {
		const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)ss;

		*port = s6->sin6_port;
		memcpy(addr, &s6->sin6_addr, 16);
		return true;
	}
	return false;
}

struct owner {
	uid_t uid;
	bool found;
};

static bool
take_owner(const struct inet_diag_msg *m, void *arg)
{
	struct owner *o = arg;

	o->uid = m->idiag_uid;
	o->found = true;
	return true;
}

int
peer_diag_owner(struct peer_diag *p, int fd, uid_t *uid)
{
	struct sockaddr_storage local, remote;
	socklen_t ll = sizeof(local), rl = sizeof(remote);
	struct inet_diag_req_v2 r;
	struct owner o = {0, false};
	int ret;

	memset(&r, 0, sizeof(r));
	if (getsockname(fd, (struct sockaddr *)&local, &ll) != 0 ||
	    getpeername(fd, (struct sockaddr *)&remote, &rl) != 0)
		return CB_ERR_SYSTEM;
	/* The client's socket: its own address is our peer's, its peer is us. */
	if (local.ss_family != remote.ss_family ||
	    !sockid_part(&remote, &r.id.idiag_sport, r.id.idiag_src) ||
	    !sockid_part(&local, &r.id.idiag_dport, r.id.idiag_dst)) {
		errno = EAFNOSUPPORT;
		return CB_ERR_SYSTEM;
	}
	r.sdiag_family = (__u8)local.ss_family;
	r.sdiag_protocol = IPPROTO_TCP;
	r.idiag_states = ~0U;
	r.id.idiag_cookie[0] = r.id.idiag_cookie[1] = INET_DIAG_NOCOOKIE;
	if ((ret = diag_exchange(p, &r, false, take_owner, &o)) != 0)
		return ret;
	if (!o.found) {
		errno = ENOENT;
		return CB_ERR_SYSTEM;
	}
	*uid = o.uid;
	return 0;
}

/* --- who holds a port (start-up errors only) ------------------------------ */

struct holder {
	int port;
	int family; /* of the address asked about */
	unsigned char addr[16];
	uid_t uid;
	unsigned long inode;
	bool found;
};

/* Does a listener bound to a (family f) cover the address asked about? */
static bool
covers(const struct holder *h, int f, const __be32 *a)
{
	static const unsigned char any[16], mapped[12] = {[10] = 0xff, [11] = 0xff};
	const unsigned char *b = (const unsigned char *)a;

	if (f == AF_INET)
		return h->family == AF_INET &&
		       (memcmp(b, any, 4) == 0 || memcmp(b, h->addr, 4) == 0);
	if (memcmp(b, any, 16) == 0)
		return true; /* [::], which may be dual-stack */
	if (h->family == AF_INET)
		return memcmp(b, mapped, 12) == 0 && memcmp(b + 12, h->addr, 4) == 0;
	return memcmp(b, h->addr, 16) == 0;
}

static bool
take_holder(const struct inet_diag_msg *m, void *arg)
{
	struct holder *h = arg;

	if (ntohs(m->id.idiag_sport) != h->port || !covers(h, m->idiag_family, m->id.idiag_src))
		return false;
	h->uid = m->idiag_uid;
	h->inode = m->idiag_inode;
	h->found = true;
	return true;
}

/* The first process (we may look into) with a descriptor for socket inode. */
static int
pid_of_inode(unsigned long inode, char *comm, size_t commlen)
{
	char want[64], path[300], link[64];
	struct dirent *pe, *fe;
	DIR *procs, *fds;
	int pid = 0;
	ssize_t n;

	snprintf(want, sizeof(want), "socket:[%lu]", inode);
	if ((procs = opendir("/proc")) == NULL)
		return 0;
	while (pid == 0 && (pe = readdir(procs)) != NULL) {
		if (pe->d_name[0] < '1' || pe->d_name[0] > '9')
			continue;
		snprintf(path, sizeof(path), "/proc/%s/fd", pe->d_name);
		if ((fds = opendir(path)) == NULL)
			continue;
		while (pid == 0 && (fe = readdir(fds)) != NULL) {
			if ((n = readlinkat(dirfd(fds), fe->d_name, link, sizeof(link) - 1)) > 0) {
				link[n] = '\0';
				if (strcmp(link, want) == 0)
					pid = atoi(pe->d_name);
			}
		}
		closedir(fds);
	}
	closedir(procs);
	comm[0] = '\0';
	if (pid > 0) {
		FILE *f;

		snprintf(path, sizeof(path), "/proc/%d/comm", pid);
		if ((f = fopen(path, "re")) != NULL) {
			if (fgets(comm, (int)commlen, f) == NULL)
				comm[0] = '\0';
			comm[strcspn(comm, "\n")] = '\0';
			fclose(f);
		}
	}
	return pid;
}

static void
describe_holder(const struct holder *h, char *out, size_t outlen)
{
	char pwbuf[1024], comm[64];
	struct passwd pw, *res = NULL;
	size_t n;
	int pid;

	getpwuid_r(h->uid, &pw, pwbuf, sizeof(pwbuf), &res);
	snprintf(out, outlen, "uid %lu (%s)", (unsigned long)h->uid, res ? res->pw_name : "?");
	if (h->inode != 0 && (pid = pid_of_inode(h->inode, comm, sizeof(comm))) > 0) {
		n = strlen(out);
		snprintf(out + n, outlen - n, ", pid %d (%s)", pid, comm);
	}
}

void
peer_port_holder(const char *addr, int port, char *out, size_t outlen)
{
	static const int families[] = {AF_INET, AF_INET6};
	struct holder h = {.port = port};
	struct inet_diag_req_v2 r;
	struct peer_diag *p;
	size_t i;

	out[0] = '\0';
	if (inet_pton(AF_INET, addr, h.addr) == 1)
		h.family = AF_INET;
	else if (inet_pton(AF_INET6, addr, h.addr) == 1)
		h.family = AF_INET6;
	else
		return;
	if (peer_diag_open(&p) != 0)
		return;
	for (i = 0; i < sizeof(families) / sizeof(families[0]) && !h.found; i++) {
		memset(&r, 0, sizeof(r));
		r.sdiag_family = (__u8)families[i];
		r.sdiag_protocol = IPPROTO_TCP;
		r.idiag_states = 1U << TCP_LISTEN;
		if (diag_exchange(p, &r, true, take_holder, &h) != 0)
			break;
	}
	peer_diag_free(p);
	if (h.found)
		describe_holder(&h, out, outlen);
}

/*
 * vcard.c - main program of cardbridge-vcard: options, fault injection,
 * APDU counting and the loop that keeps the virtual card connected to vpcd.
 *
 *   cardbridge-vcard [--personality openpgp|isoapplet] [--port 35963]
 *                    [--host 127.0.0.1] [--state FILE]
 *                    [--remove-after N [--reinsert-after-ms M]]
 *                    [--delay-ms N] [--keygen-delay-ms N] [--fail-keygen]
 *                    [--apdu-count FILE] [--serial N] [--verbose]
 *
 * Everything but the connection is also read from the environment
 * (VCARD_PERSONALITY, VCARD_REMOVE_AFTER, VCARD_REINSERT_AFTER_MS,
 * VCARD_DELAY_MS, VCARD_KEYGEN_DELAY_MS, VCARD_FAIL_KEYGEN,
 * VCARD_APDU_COUNT); options win over the environment.
 * Exit codes: 0 stopped by SIGTERM/SIGINT, 1 error, 2 vpcd never listened,
 * 3 card removed by --remove-after. This is test equipment and must never
 * be installed; it logs APDUs with --verbose but never PIN bytes.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "vcard.h"

#define SERVE_REMOVED 1 /* serve() result besides enum vcard_err */

volatile int vcard_stop;
bool vcard_verbose;

void
vcard_logf(const char *fmt, ...)
{
	char line[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	fprintf(stderr, "cardbridge-vcard[%ld]: %s\n", (long)getpid(), line);
}

const char *
vcard_err_str(int err)
{
	switch (err) {
	case VCARD_OK:
		return "success";
	case VCARD_ERR_SYSTEM:
		return "system error";
	case VCARD_ERR_NO_MEMORY:
		return "out of memory";
	case VCARD_ERR_CONNECT:
		return "vpcd not reachable";
	case VCARD_ERR_PEER_CLOSED:
		return "vpcd closed the connection";
	case VCARD_ERR_PROTOCOL:
		return "malformed vpcd frame";
	case VCARD_ERR_CRYPTO:
		return "OpenSSL operation failed";
	case VCARD_ERR_UNSUPPORTED:
		return "unsupported algorithm or input";
	case VCARD_ERR_STATE_FORMAT:
		return "damaged state file";
	case VCARD_ERR_INTERRUPTED:
		return "interrupted";
	default:
		return "unknown error";
	}
}

static void
vcard_on_signal(int sig)
{
	(void)sig;
	vcard_stop = 1;
}

void
vcard_sleep_ms(long ms)
{
	struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L};

	while (nanosleep(&ts, &ts) != 0 && errno == EINTR && !vcard_stop)
		;
}

/* --keygen-delay-ms: a slow card's key generation, for timeout tests. */
void
vcard_keygen_delay(const struct vcard_card *card)
{
	if (card->opts->keygen_delay_ms > 0) {
		vcard_logf("fault injection: key generation takes %ld ms more",
		    card->opts->keygen_delay_ms);
		vcard_sleep_ms(card->opts->keygen_delay_ms);
	}
}

static bool
vcard_parse_long(const char *what, const char *s, long max, long *out)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 0);
	if (errno != 0 || end == s || *end != '\0' || v < 0 || v > max) {
		vcard_logf("invalid %s '%s' (expected 0..%ld)", what, s, max);
		return false;
	}
	*out = v;
	return true;
}

static bool
vcard_env_flag(const char *name)
{
	const char *v = getenv(name);

	return v != NULL && *v != '\0' && strcmp(v, "0") != 0;
}

static bool
vcard_env_long(const char *name, long max, long *out)
{
	const char *v = getenv(name);

	return v == NULL || *v == '\0' || vcard_parse_long(name, v, max, out);
}

static void
vcard_usage(FILE *f)
{
	fprintf(f, "usage: cardbridge-vcard [--personality openpgp|isoapplet] [--port N]\n"
		   "         [--host ADDR] [--state FILE]\n"
		   "         [--remove-after N [--reinsert-after-ms M]] [--delay-ms N]\n"
		   "         [--keygen-delay-ms N] [--fail-keygen] [--apdu-count FILE]\n"
		   "         [--serial N] [--connect-timeout-ms N] [--verbose]\n");
}

static bool
vcard_parse_personality(const char *name, struct vcard_options *o)
{
	if (strcmp(name, vcard_openpgp.name) == 0)
		o->personality = &vcard_openpgp;
	else if (strcmp(name, vcard_isoapplet.name) == 0)
		o->personality = &vcard_isoapplet;
	else {
		vcard_logf("unknown personality '%s' (expected openpgp or isoapplet)", name);
		return false;
	}
	return true;
}

static int
vcard_options_from_env(struct vcard_options *o)
{
	const char *v;

	if (!vcard_env_long("VCARD_REMOVE_AFTER", 1L << 30, &o->remove_after) ||
	    !vcard_env_long("VCARD_REINSERT_AFTER_MS", 3600000, &o->reinsert_after_ms) ||
	    !vcard_env_long("VCARD_DELAY_MS", 600000, &o->delay_ms) ||
	    !vcard_env_long("VCARD_KEYGEN_DELAY_MS", 3600000, &o->keygen_delay_ms))
		return -1;
	o->fail_keygen = vcard_env_flag("VCARD_FAIL_KEYGEN");
	v = getenv("VCARD_PERSONALITY");
	if (v != NULL && *v != '\0' && !vcard_parse_personality(v, o))
		return -1;
	v = getenv("VCARD_APDU_COUNT");
	if (v != NULL && *v != '\0')
		o->apdu_count_path = v;
	return 0;
}

static int
vcard_parse_options(int argc, char **argv, struct vcard_options *o)
{
	static const struct option longopts[] = {
	    {"port", required_argument, NULL, 'p'},
	    {"host", required_argument, NULL, 'H'},
	    {"state", required_argument, NULL, 's'},
	    {"remove-after", required_argument, NULL, 'r'},
	    {"reinsert-after-ms", required_argument, NULL, 'R'},
	    {"delay-ms", required_argument, NULL, 'd'},
	    {"keygen-delay-ms", required_argument, NULL, 'k'},
	    {"fail-keygen", no_argument, NULL, 'f'},
	    {"personality", required_argument, NULL, 'P'},
	    {"apdu-count", required_argument, NULL, 'a'},
	    {"serial", required_argument, NULL, 'S'},
	    {"connect-timeout-ms", required_argument, NULL, 'c'},
	    {"verbose", no_argument, NULL, 'v'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	long v;
	int c;

	if (vcard_options_from_env(o) != 0)
		return -1;
	while ((c = getopt_long(argc, argv, "v", longopts, NULL)) != -1) {
		switch (c) {
		case 'p':
			if (!vcard_parse_long("--port", optarg, 65535, &v))
				return -1;
			if (v == 0) {
				vcard_logf("invalid --port 0");
				return -1;
			}
			o->port = (unsigned int)v;
			break;
		case 'H':
			o->host = optarg;
			break;
		case 's':
			o->state_path = optarg;
			break;
		case 'r':
			if (!vcard_parse_long("--remove-after", optarg, 1L << 30, &o->remove_after))
				return -1;
			break;
		case 'R':
			if (!vcard_parse_long(
				"--reinsert-after-ms", optarg, 3600000, &o->reinsert_after_ms))
				return -1;
			break;
		case 'd':
			if (!vcard_parse_long("--delay-ms", optarg, 600000, &o->delay_ms))
				return -1;
			break;
		case 'k':
			if (!vcard_parse_long(
				"--keygen-delay-ms", optarg, 3600000, &o->keygen_delay_ms))
				return -1;
			break;
		case 'f':
			o->fail_keygen = true;
			break;
		case 'P':
			if (!vcard_parse_personality(optarg, o))
				return -1;
			break;
		case 'a':
			o->apdu_count_path = optarg;
			break;
		case 'S':
			if (!vcard_parse_long("--serial", optarg, 0xffffffffL, &v))
				return -1;
			o->serial = (uint32_t)v;
			break;
		case 'c':
			if (!vcard_parse_long(
				"--connect-timeout-ms", optarg, 3600000, &o->connect_timeout_ms))
				return -1;
			break;
		case 'v':
			o->verbose = true;
			break;
		case 'h':
			vcard_usage(stdout);
			exit(VCARD_EXIT_OK);
		default:
			vcard_usage(stderr);
			return -1;
		}
	}
	if (optind != argc) {
		vcard_usage(stderr);
		return -1;
	}
	return 0;
}

static int
vcard_control(struct vcard_card *card, int fd, uint8_t code)
{
	switch (code) {
	case 0x00: /* power off */
	case 0x01: /* power on */
	case 0x02: /* reset */
		card->personality->reset_volatile(card);
		return VCARD_OK;
	case 0x04: /* get ATR; vpcd also polls this to see the card is there */
		return vpcd_link_send(fd, card->personality->atr, card->personality->atr_len);
	default:
		vcard_logf("ignoring unknown vpcd control code %u", code);
		return VCARD_OK;
	}
}

/*
 * --apdu-count: the number of APDUs received since start, written to a
 * temporary file renamed over FILE, so a reader sees a whole number or the
 * previous one. A failure is logged once and does not stop the card.
 */
static void
vcard_write_apdu_count(const char *path, long apdus)
{
	static bool warned;
	char tmp[4096];
	FILE *f = NULL;
	bool ok = false;

	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp.%ld", path, (long)getpid()) >= sizeof(tmp))
		goto out;
	if ((f = fopen(tmp, "we")) == NULL)
		goto out;
	fprintf(f, "%ld\n", apdus);
	ok = fclose(f) == 0;
	f = NULL;
	ok = ok && rename(tmp, path) == 0;
out:
	if (!ok) {
		if (!warned)
			vcard_logf("cannot write the APDU count to %s: %s", path, strerror(errno));
		warned = true;
		(void)unlink(tmp);
	}
}

/* Answer vpcd until it hangs up, we are stopped, or the card is "removed". */
static int
vcard_serve(struct vcard_card *card, int fd, long *apdus)
{
	static uint8_t in[65536], out[VCARD_MAX_RESPONSE + 2];
	const struct vcard_options *o = card->opts;
	size_t in_len, out_len;
	int r;

	for (;;) {
		if ((r = vpcd_link_recv(fd, in, sizeof(in), &in_len)) != VCARD_OK)
			return r;
		if (in_len == 1) {
			if ((r = vcard_control(card, fd, in[0])) != VCARD_OK)
				return r;
			continue;
		}
		if (vcard_verbose)
			vcard_log_hex("C:", in, in_len < 5 ? in_len : 5);
		if (o->delay_ms > 0)
			vcard_sleep_ms(o->delay_ms);
		out_len = vcard_process_apdu(card, in, in_len, out, sizeof(out));
		if (vcard_verbose)
			vcard_log_hex("R:", out, out_len);
		if ((r = vpcd_link_send(fd, out, out_len)) != VCARD_OK)
			return r;
		++*apdus;
		if (o->apdu_count_path != NULL)
			vcard_write_apdu_count(o->apdu_count_path, *apdus);
		if (o->remove_after > 0 && *apdus >= o->remove_after)
			return SERVE_REMOVED;
	}
}

static int
vcard_run(struct vcard_card *card, struct vcard_options *o)
{
	long apdus = 0;
	int fd, r;

	for (;;) {
		r = vpcd_link_connect(o->host, o->port, o->connect_timeout_ms, &fd);
		if (r == VCARD_ERR_INTERRUPTED)
			return VCARD_EXIT_OK;
		if (r != VCARD_OK)
			return VCARD_EXIT_NO_VPCD;
		vcard_logf("card inserted: %s personality, connected to vpcd at %s:%u",
		    o->personality->name, o->host, o->port);
		card->personality->reset_volatile(card);
		r = vcard_serve(card, fd, &apdus);
		close(fd);
		if (r == SERVE_REMOVED) {
			vcard_logf("fault injection: card removed after %ld APDUs", apdus);
			if (o->reinsert_after_ms < 0)
				return VCARD_EXIT_REMOVED;
			vcard_sleep_ms(o->reinsert_after_ms);
			o->remove_after = 0; /* one removal per run */
			continue;
		}
		if (r == VCARD_ERR_INTERRUPTED || vcard_stop)
			return VCARD_EXIT_OK;
		if (r != VCARD_ERR_PEER_CLOSED) {
			vcard_logf("connection to vpcd failed: %s", vcard_err_str(r));
			return VCARD_EXIT_FAILURE;
		}
		vcard_logf("vpcd closed the connection; reconnecting");
	}
}

int
main(int argc, char **argv)
{
	static struct vcard_card card;
	struct vcard_options opts = {
	    .host = "127.0.0.1",
	    .port = 35963,
	    .reinsert_after_ms = -1,
	    .connect_timeout_ms = 10000,
	    .serial = 1,
	    .personality = &vcard_openpgp,
	};
	struct sigaction sa = {.sa_handler = vcard_on_signal};
	int r, status;

	if (vcard_parse_options(argc, argv, &opts) != 0)
		return VCARD_EXIT_FAILURE;
	vcard_verbose = opts.verbose;
	card.opts = &opts;
	card.personality = opts.personality;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL); /* no SA_RESTART: recv() must return */
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	setvbuf(stderr, NULL, _IOLBF, 0);

	if (opts.state_path != NULL)
		r = state_load(&card, opts.state_path);
	else
		r = state_factory_reset(&card);
	if (r != VCARD_OK) {
		vcard_logf("cannot initialise the card: %s", vcard_err_str(r));
		status = VCARD_EXIT_FAILURE;
		goto out;
	}
	if (opts.apdu_count_path != NULL)
		vcard_write_apdu_count(opts.apdu_count_path, 0);
	status = vcard_run(&card, &opts);
out:
	state_free(&card);
	return status;
}

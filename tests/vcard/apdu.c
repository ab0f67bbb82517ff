/*
 * apdu.c - ISO 7816-4 framing of the virtual card: parse a command APDU,
 * collect command chains (CLA bit 0x10), dispatch through the instruction
 * table of the card's personality (OpenPGP or IsoApplet), and hand long
 * responses out in pieces through 61xx / GET RESPONSE.
 *
 * The card announces command chaining but not extended length in its
 * historical bytes: Debian's vpcd has no PC/SC part-10 properties, so
 * OpenSC caps responses at 256 bytes and anything longer has to go through
 * GET RESPONSE. Extended APDUs are still parsed, so a host that sends them
 * anyway gets an answer rather than a crash.
 *
 * Nothing here may trust a length from the wire: every malformed APDU ends
 * in a status word, never in a read or write past a buffer.
 */
#include <stdio.h>
#include <string.h>

#include "vcard.h"

void
buf_put(struct vcard_buf *b, const void *data, size_t len)
{
	if (b->overflow || len > sizeof(b->data) - b->len) {
		b->overflow = true;
		return;
	}
	if (len > 0)
		memcpy(b->data + b->len, data, len);
	b->len += len;
}

void
buf_put_byte(struct vcard_buf *b, uint8_t byte)
{
	buf_put(b, &byte, 1);
}

/* BER-TLV with one- or two-byte tag and definite length (up to 65535). */
void
buf_put_tlv(struct vcard_buf *b, unsigned int tag, const void *data, size_t len)
{
	if (tag > 0xff)
		buf_put_byte(b, (uint8_t)(tag >> 8));
	buf_put_byte(b, (uint8_t)tag);
	if (len < 0x80) {
		buf_put_byte(b, (uint8_t)len);
	} else if (len < 0x100) {
		buf_put_byte(b, 0x81);
		buf_put_byte(b, (uint8_t)len);
	} else if (len < 0x10000) {
		buf_put_byte(b, 0x82);
		buf_put_byte(b, (uint8_t)(len >> 8));
		buf_put_byte(b, (uint8_t)len);
	} else {
		b->overflow = true;
		return;
	}
	buf_put(b, data, len);
}

void
vcard_log_hex(const char *prefix, const uint8_t *data, size_t len)
{
	char line[2 * 64 + 4];
	size_t i, n = len < 64 ? len : 64;

	for (i = 0; i < n; i++)
		snprintf(line + 2 * i, 3, "%02x", data[i]);
	line[2 * n] = '\0';
	vcard_logf("%s %s%s (%zu bytes)", prefix, line, len > n ? "..." : "", len);
}

/* Parse the short and extended cases of ISO 7816-3 12.1. */
static uint16_t
apdu_parse(const uint8_t *in, size_t len, struct apdu *cmd)
{
	const uint8_t *body = in + 4;
	size_t n;

	memset(cmd, 0, sizeof(*cmd));
	if (len < 4)
		return SW_WRONG_LENGTH;
	cmd->cla = in[0];
	cmd->ins = in[1];
	cmd->p1 = in[2];
	cmd->p2 = in[3];
	n = len - 4;
	if (n == 0)
		return SW_OK;
	if (n == 1) {
		cmd->le = body[0] ? body[0] : 256;
		return SW_OK;
	}
	if (body[0] != 0) {
		cmd->lc = body[0];
		cmd->data = body + 1;
		if (n == 1 + cmd->lc)
			return SW_OK;
		if (n == 2 + cmd->lc) {
			cmd->le = body[1 + cmd->lc] ? body[1 + cmd->lc] : 256;
			return SW_OK;
		}
		return SW_WRONG_LENGTH;
	}
	cmd->extended = true;
	if (n == 3) {
		cmd->le = (size_t)body[1] << 8 | body[2];
		cmd->le = cmd->le ? cmd->le : 65536;
		return SW_OK;
	}
	if (n < 3)
		return SW_WRONG_LENGTH;
	cmd->lc = (size_t)body[1] << 8 | body[2];
	cmd->data = body + 3;
	if (cmd->lc == 0)
		return SW_WRONG_LENGTH;
	if (n == 3 + cmd->lc)
		return SW_OK;
	if (n == 5 + cmd->lc) {
		cmd->le = (size_t)body[3 + cmd->lc] << 8 | body[4 + cmd->lc];
		cmd->le = cmd->le ? cmd->le : 65536;
		return SW_OK;
	}
	return SW_WRONG_LENGTH;
}

/*
 * Copy at most le bytes of the pending response into out, followed by 61xx
 * when more remains (xx = 00 for 256 or more) or 9000 when done.
 */
static size_t
apdu_emit_pending(struct vcard_card *card, size_t le, uint16_t sw, uint8_t *out, size_t out_cap)
{
	size_t remaining = card->pending.len - card->pending_off;
	size_t n = remaining < le ? remaining : le;

	if (n > out_cap - 2)
		n = out_cap - 2;
	memcpy(out, card->pending.data + card->pending_off, n);
	card->pending_off += n;
	remaining -= n;
	if (remaining > 0) {
		out[n] = 0x61;
		out[n + 1] = remaining >= 256 ? 0x00 : (uint8_t)remaining;
	} else {
		out[n] = (uint8_t)(sw >> 8);
		out[n + 1] = (uint8_t)sw;
		card->pending.len = 0;
		card->pending_off = 0;
	}
	return n + 2;
}

static size_t
apdu_sw(uint16_t sw, uint8_t *out)
{
	out[0] = (uint8_t)(sw >> 8);
	out[1] = (uint8_t)sw;
	return 2;
}

static const struct vcard_command *
apdu_find_command(const struct vcard_personality *personality, uint8_t ins)
{
	size_t i;

	for (i = 0; i < personality->n_commands; i++)
		if (personality->commands[i].ins == ins)
			return &personality->commands[i];
	return NULL;
}

/*
 * Add a chained part. A part whose header differs from the chain's drops
 * the stale chain (a host that gave up half way) and starts a new one.
 */
static uint16_t
apdu_chain_add(struct vcard_card *card, const uint8_t *header, const struct apdu *cmd)
{
	if (card->chain_len > 0 && memcmp(card->chain_header + 1, header + 1, 3) != 0)
		card->chain_len = 0;
	if (cmd->lc > sizeof(card->chain) - card->chain_len) {
		card->chain_len = 0;
		return SW_WRONG_LENGTH;
	}
	memcpy(card->chain_header, header, 4);
	if (cmd->lc > 0)
		memcpy(card->chain + card->chain_len, cmd->data, cmd->lc);
	card->chain_len += cmd->lc;
	return SW_OK;
}

static uint16_t
apdu_run(struct vcard_card *card, const struct vcard_command *command, const struct apdu *cmd,
    struct vcard_buf *resp)
{
	uint16_t sw;

	if (card->terminated && !(command->flags & WHEN_TERMINATED))
		return SW_TERMINATED;
	if (vcard_verbose && cmd->lc > 0) {
		if (command->flags & SECRET_DATA)
			vcard_logf("   data: (%zu bytes, not logged)", cmd->lc);
		else
			vcard_log_hex("   data:", cmd->data, cmd->lc);
	}
	sw = command->handler(card, cmd, resp);
	if (resp->overflow) {
		vcard_logf(
		    "response to INS %02x does not fit in %d bytes", cmd->ins, VCARD_MAX_RESPONSE);
		sw = SW_MEMORY_FAILURE;
	}
	/* A change the card cannot keep is a failed command. */
	if (card->dirty && card->opts->state_path != NULL &&
	    state_save(card, card->opts->state_path) != VCARD_OK)
		sw = SW_MEMORY_FAILURE;
	card->dirty = false;
	/* Only success and warnings (62xx, 63xx) carry data. */
	if (sw != SW_OK && (sw >> 8) != 0x62 && (sw >> 8) != 0x63)
		resp->len = 0;
	return sw;
}

/*
 * A chained part (CLA bit 0x10) where not every command may be chained:
 * only CHAINS rows, and a part that does not continue the chain in
 * progress is refused without dropping that chain (the IsoApplet way).
 */
static uint16_t
apdu_chain_allowed(const struct vcard_card *card, const struct vcard_command *command,
    const uint8_t *header, bool chained)
{
	if (card->personality->chain_any)
		return SW_OK;
	if (card->chain_len > 0 && memcmp(card->chain_header + 1, header + 1, 3) != 0)
		return SW_COMMAND_NOT_ALLOWED_GENERAL;
	if (chained && (command == NULL || !(command->flags & CHAINS)))
		return SW_CHAINING_NOT_SUPPORTED;
	return SW_OK;
}

static size_t
apdu_get_response(struct vcard_card *card, const struct apdu *cmd, uint8_t *out, size_t out_cap)
{
	uint16_t sw = card->personality->precheck(card, cmd);

	if (sw != SW_OK)
		return apdu_sw(sw, out);
	if (card->pending.len == 0)
		return apdu_sw(SW_CONDITIONS_NOT_SATISFIED, out);
	return apdu_emit_pending(card, cmd->le ? cmd->le : 256, SW_OK, out, out_cap);
}

/*
 * Process one command APDU and write the response APDU (data + SW) to out,
 * which must hold at least 258 bytes. Returns the response length.
 */
size_t
vcard_process_apdu(
    struct vcard_card *card, const uint8_t *in, size_t in_len, uint8_t *out, size_t out_cap)
{
	const struct vcard_personality *personality = card->personality;
	const struct vcard_command *command;
	struct apdu cmd;
	uint16_t sw;
	size_t le;

	sw = apdu_parse(in, in_len, &cmd);
	if (sw != SW_OK)
		return apdu_sw(sw, out);
	if (cmd.ins == 0xc0 && (cmd.cla & ~0x10) == 0) /* GET RESPONSE */
		return apdu_get_response(card, &cmd, out, out_cap);
	if ((sw = personality->precheck(card, &cmd)) != SW_OK)
		return apdu_sw(sw, out);
	card->pending.len = 0;
	card->pending.overflow = false;
	card->pending_off = 0;
	if (cmd.cla & 0x0c)
		return apdu_sw(SW_SM_NOT_SUPPORTED, out);
	command = apdu_find_command(personality, cmd.ins);
	if ((sw = apdu_chain_allowed(card, command, in, cmd.cla & 0x10)) != SW_OK)
		return apdu_sw(sw, out);
	if ((cmd.cla & ~0x10) & personality->cla_reserved)
		return apdu_sw(SW_CLA_NOT_SUPPORTED, out);
	if (command == NULL) {
		card->chain_len = 0;
		return apdu_sw(SW_INS_NOT_SUPPORTED, out);
	}
	if (cmd.cla & 0x10)
		return apdu_sw(apdu_chain_add(card, in, &cmd), out);
	if (card->chain_len > 0) {
		if (memcmp(card->chain_header + 1, in + 1, 3) == 0) {
			if (apdu_chain_add(card, in, &cmd) != SW_OK)
				return apdu_sw(SW_WRONG_LENGTH, out);
			cmd.data = card->chain;
			cmd.lc = card->chain_len;
		}
		card->chain_len = 0;
	}
	sw = apdu_run(card, command, &cmd, &card->pending);
	if (card->pending.len == 0)
		return apdu_sw(sw, out);
	/* Without Le (case 1/3) a short host still cannot take more than 256. */
	le = cmd.le ? cmd.le : 256;
	if (!cmd.extended && le > 256)
		le = 256;
	return apdu_emit_pending(card, le, sw, out, out_cap);
}

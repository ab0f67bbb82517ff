/*
 * isofs.c - the ISO 7816-4 file system of the IsoApplet personality, as
 * the applet's IsoFileSystem class (v0.6.1, API 00.06) keeps it: a tree of
 * DFs and EFs under the MF 3F00, SELECT (by FID, child, parent, DF name,
 * path), CREATE FILE, DELETE FILE, READ BINARY and UPDATE BINARY.
 *
 * A file's FCI is kept exactly as the host sent it in CREATE FILE and is
 * what SELECT answers; its tag 86 (eight bytes: FF, then one security
 * condition byte per operation) is the ACL. 00 allows, FF never, 90
 * needs the user PIN (the applet's "user authenticated" flag, set by
 * VERIFY and, before a PIN exists, by selecting the applet). FIDs are
 * unique in the whole tree, as the applet enforces.
 *
 * Lengths and offsets come from the host: nothing here reads or writes
 * outside a buffer whatever they say; a malformed command ends in a status
 * word. Private keys are not files and never pass through here.
 */
#include <stdlib.h>
#include <string.h>

#include "vcard.h"

/* Where an operation's condition byte sits in the 8 bytes of tag 86. */
enum isofs_op {
	OP_DELETE_SELF = 1,
	OP_WRITE = 5,  /* and CREATE DF on a DF */
	OP_UPDATE = 6, /* and CREATE EF on a DF */
	OP_READ = 7,
};
#define OP_CREATE_DF OP_WRITE
#define OP_CREATE_EF OP_UPDATE

enum isofs_kind { FIND_EF = 1, FIND_DF = 2, FIND_ANY = 3 };

static const uint8_t mf_fci[] = {0x6f, 0x07, 0x82, 0x01, 0x38, 0x83, 0x02, 0x3f, 0x00};

/*
 * A length field the applet's way (UtilTLV): 01..7F, 81 xx, 82 xxxx up to
 * 7FFF; 00 and anything else is malformed. Like the applet, the size of
 * the field is derived from the value, not from how it was written.
 */
static bool
iso_tlv_length(const uint8_t *p, size_t avail, size_t *value, size_t *field)
{
	size_t v;

	if (avail < 1)
		return false;
	if (p[0] == 0x82) {
		if (avail < 3 || p[1] >= 0x80)
			return false;
		v = (size_t)p[1] << 8 | p[2];
	} else if (p[0] == 0x81) {
		if (avail < 2)
			return false;
		v = p[1];
	} else if (p[0] >= 0x01 && p[0] <= 0x7f) {
		v = p[0];
	} else {
		return false;
	}
	*value = v;
	*field = v < 0x80 ? 1 : v < 0x100 ? 2 : 3;
	return true;
}

bool
iso_tlv_consistent(const uint8_t *p, size_t len)
{
	size_t pos = 0, v, field;

	while (pos + 1 < len) {
		if (!iso_tlv_length(p + pos + 1, len - pos - 1, &v, &field))
			return false;
		pos += 1 + field + v;
	}
	return pos == len;
}

/* The value of the first one-byte tag in a TLV list, NULL when absent. */
const uint8_t *
iso_tlv_find(const uint8_t *p, size_t len, uint8_t tag, size_t *value_len)
{
	size_t pos = 0, v, field;

	while (pos + 1 < len) {
		if (!iso_tlv_length(p + pos + 1, len - pos - 1, &v, &field))
			return NULL;
		if (p[pos] == tag) {
			if (len - pos - 1 - field < v)
				return NULL;
			*value_len = v;
			return p + pos + 1 + field;
		}
		pos += 1 + field + v;
	}
	return NULL;
}

/* A tag's value in a stored FCI (6F/62, one length field, TLV list). */
const uint8_t *
isofs_fci_value(const struct iso_file *f, uint8_t tag, size_t *value_len)
{
	size_t v, field;

	if (f->fci.len < 2 || !iso_tlv_length(f->fci.data + 1, f->fci.len - 1, &v, &field) ||
	    v > f->fci.len - 1 - field)
		return NULL;
	return iso_tlv_find(f->fci.data + 1 + field, v, tag, value_len);
}

/* The condition byte of an operation; a file without tag 86 allows all. */
static uint8_t
isofs_acl(const struct iso_file *f, enum isofs_op op)
{
	const uint8_t *acl;
	size_t acl_len;

	if ((acl = isofs_fci_value(f, 0x86, &acl_len)) == NULL)
		return 0x00;
	return acl_len == 8 ? acl[op] : 0xff;
}

static uint16_t
isofs_authenticate(const struct iso_card *iso, int index, enum isofs_op op)
{
	uint8_t acl;

	if (index < 0) /* no file: the applet checks nothing */
		return SW_OK;
	acl = isofs_acl(&iso->files[index], op);
	if (acl == 0x00)
		return SW_OK;
	if ((acl == 0x90 || (acl & 0x9f) == 0x10) && iso->fs_authenticated)
		return SW_OK;
	return SW_SECURITY_NOT_SATISFIED;
}

/* The children of a DF in the applet's order; returns how many. */
static size_t
isofs_children(const struct iso_card *iso, int df, int out[ISO_MAX_FILES])
{
	size_t n = 0, i, j;
	int k, t;

	for (k = 0; k < ISO_MAX_FILES; k++)
		if (iso->files[k].used && iso->files[k].parent == df)
			out[n++] = k;
	for (i = 1; i < n; i++)
		for (j = i; j > 0 && iso->files[out[j - 1]].seq > iso->files[out[j]].seq; j--) {
			t = out[j];
			out[j] = out[j - 1];
			out[j - 1] = t;
		}
	return n;
}

static bool
isofs_kind_matches(const struct iso_file *f, enum isofs_kind kind)
{
	return kind == FIND_ANY || (kind == FIND_DF) == f->df;
}

/* findChildrenRec: anywhere below df, depth first; -1 when not found. */
static int
isofs_find_below(const struct iso_card *iso, int df, uint16_t fid, enum isofs_kind kind)
{
	int children[ISO_MAX_FILES], found;
	size_t n = isofs_children(iso, df, children), i;

	for (i = 0; i < n; i++) {
		const struct iso_file *f = &iso->files[children[i]];

		if (f->fid == fid)
			return isofs_kind_matches(f, kind) ? children[i] : -1;
		if (f->df && (found = isofs_find_below(iso, children[i], fid, kind)) >= 0)
			return found;
	}
	return -1;
}

/* findFile: the MF itself or anything below it. */
static int
isofs_find(const struct iso_card *iso, uint16_t fid, enum isofs_kind kind)
{
	if (fid == iso->files[0].fid && kind != FIND_EF)
		return 0;
	return isofs_find_below(iso, 0, fid, kind);
}

static bool
isofs_has_name(const struct iso_file *f, const uint8_t *name, size_t len)
{
	const uint8_t *value;
	size_t value_len;

	return f->df && (value = isofs_fci_value(f, 0x84, &value_len)) != NULL &&
	       value_len == len && memcmp(value, name, len) == 0;
}

static int
isofs_find_name(const struct iso_card *iso, int df, const uint8_t *name, size_t len)
{
	int children[ISO_MAX_FILES], found;
	size_t n = isofs_children(iso, df, children), i;

	if (df == 0 && isofs_has_name(&iso->files[0], name, len))
		return 0;
	for (i = 0; i < n; i++) {
		if (!iso->files[children[i]].df)
			continue;
		if (isofs_has_name(&iso->files[children[i]], name, len))
			return children[i];
		if ((found = isofs_find_name(iso, children[i], name, len)) >= 0)
			return found;
	}
	return -1;
}

/*
 * findChildrenByPath, quirks included: each FID is looked up among the
 * children of the DF reached so far, and one that is not there is skipped.
 */
static int
isofs_find_path(const struct iso_card *iso, int df, const uint8_t *path, size_t len)
{
	int children[ISO_MAX_FILES];
	size_t pos, n, i;
	uint16_t fid;

	for (pos = 0; pos + 1 < len; pos += 2) {
		fid = (uint16_t)(path[pos] << 8 | path[pos + 1]);
		n = isofs_children(iso, df, children);
		for (i = 0; i < n; i++) {
			if (iso->files[children[i]].fid != fid)
				continue;
			if (pos == len - 2)
				return children[i];
			if (!iso->files[children[i]].df)
				return -1;
			df = children[i];
			break;
		}
	}
	return -1;
}

static void
isofs_select_index(struct iso_card *iso, int index)
{
	if (iso->files[index].df) {
		iso->current_df = index;
	} else {
		iso->current_ef = index;
		iso->current_df = iso->files[index].parent;
	}
}

void
isofs_select_mf(struct iso_card *iso)
{
	iso->current_df = 0;
	iso->current_ef = -1;
}

static int
isofs_select_target(struct iso_card *iso, const struct apdu *cmd)
{
	uint16_t fid = cmd->lc >= 2 ? (uint16_t)(cmd->data[0] << 8 | cmd->data[1]) : 0;

	switch (cmd->p1) {
	case 0x00: /* MF, DF or EF by FID */
		return cmd->lc == 0 ? 0 : cmd->lc == 2 ? isofs_find(iso, fid, FIND_ANY) : -2;
	case 0x01: /* DF below the current DF */
		return cmd->lc < 2 ? -1 : isofs_find_below(iso, iso->current_df, fid, FIND_DF);
	case 0x02: /* EF below the current DF */
		return cmd->lc < 2 ? -1 : isofs_find_below(iso, iso->current_df, fid, FIND_EF);
	case 0x03: /* parent of the current DF */
		return cmd->lc != 0 || iso->current_df == 0 ? -1
							    : iso->files[iso->current_df].parent;
	case 0x04: /* DF name */
		return isofs_find_name(iso, 0, cmd->data, cmd->lc);
	case 0x08: /* path from the MF, without it */
		return isofs_find_path(iso, 0, cmd->data, cmd->lc);
	case 0x09: /* path from the current DF */
		return isofs_find_path(iso, iso->current_df, cmd->data, cmd->lc);
	default:
		return -3;
	}
}

/* SELECT once the applet is selected; P2 00/04 answer the FCI, 0C nothing. */
uint16_t
handle_iso_select_file(struct vcard_card *card, const struct apdu *cmd, struct vcard_buf *resp)
{
	struct iso_card *iso = &card->iso;
	int target;

	if ((cmd->p2 & 0xf3) != 0x00)
		return SW_INCORRECT_P1P2;
	target = isofs_select_target(iso, cmd);
	if (target == -3)
		return SW_INCORRECT_P1P2;
	if (target == -2) { /* a FID of odd length: the applet selects nothing, then fails */
		isofs_select_mf(iso);
		return (cmd->p2 & 0xfc) == 0x0c ? SW_OK : SW_UNKNOWN;
	}
	if (target < 0)
		return SW_FILE_NOT_FOUND;
	isofs_select_index(iso, target);
	if ((cmd->p2 & 0xfc) == 0x08)
		return SW_INCORRECT_P1P2; /* FMD: not implemented by the applet */
	if ((cmd->p2 & 0xfc) != 0x0c)
		buf_put(resp, iso->files[target].fci.data, iso->files[target].fci.len);
	return SW_OK;
}

/* P1 P2 of READ / UPDATE BINARY: an SFI (not selected) or the current EF. */
static uint16_t
isofs_binary_target(const struct iso_card *iso, const struct apdu *cmd, int *ef, long *offset)
{
	int children[ISO_MAX_FILES];
	size_t n, i;

	if ((cmd->p1 & 0xe0) == 0x80) {
		*offset = (int8_t)cmd->p2; /* the applet reads P2 as a signed byte */
		n = isofs_children(iso, iso->current_df, children);
		for (i = 0; i < n; i++)
			if (!iso->files[children[i]].df &&
			    (iso->files[children[i]].fid & 0x1f) == (cmd->p1 & 0x1f)) {
				*ef = children[i];
				return SW_OK;
			}
		return SW_FILE_NOT_FOUND;
	}
	if (cmd->p1 & 0x80)
		return SW_INCORRECT_P1P2;
	*offset = (long)(cmd->p1 & 0x7f) << 8 | cmd->p2;
	*ef = iso->current_ef;
	return SW_OK;
}

uint16_t
handle_iso_read_binary(struct vcard_card *card, const struct apdu *cmd, struct vcard_buf *resp)
{
	const struct iso_card *iso = &card->iso;
	const struct iso_file *f;
	size_t n, le = cmd->le ? cmd->le : 256;
	long offset;
	int ef;
	uint16_t sw;

	if ((sw = isofs_binary_target(iso, cmd, &ef, &offset)) != SW_OK)
		return sw;
	if ((sw = isofs_authenticate(iso, ef, OP_READ)) != SW_OK)
		return sw;
	if (ef < 0 || iso->files[ef].df || iso->files[ef].structure != 0x01)
		return SW_FILE_STRUCTURE;
	f = &iso->files[ef];
	if (offset < 0 || (size_t)offset >= f->data.len)
		return SW_WRONG_P1P2; /* 6B00: offset outside the EF */
	n = f->data.len - (size_t)offset;
	buf_put(resp, f->data.data + offset, n < le ? n : le);
	return SW_OK;
}

uint16_t
handle_iso_update_binary(struct vcard_card *card, const struct apdu *cmd, struct vcard_buf *resp)
{
	struct iso_card *iso = &card->iso;
	struct iso_file *f;
	long offset;
	int ef;
	uint16_t sw;

	(void)resp;
	if ((sw = isofs_binary_target(iso, cmd, &ef, &offset)) != SW_OK)
		return sw;
	if ((sw = isofs_authenticate(iso, ef, OP_UPDATE)) != SW_OK)
		return sw;
	if (ef < 0 || iso->files[ef].df || iso->files[ef].structure != 0x01)
		return SW_FILE_STRUCTURE;
	f = &iso->files[ef];
	if (offset < 0 || (size_t)offset > f->data.len || cmd->lc > f->data.len - (size_t)offset)
		return SW_WRONG_P1P2;
	if (cmd->lc > 0)
		memcpy(f->data.data + offset, cmd->data, cmd->lc);
	isofs_select_index(iso, ef);
	card->dirty = true;
	return SW_OK;
}

/* Recursively free a file and everything below it. */
static void
isofs_remove(struct iso_card *iso, int index)
{
	int children[ISO_MAX_FILES];
	size_t n = isofs_children(iso, index, children), i;

	for (i = 0; i < n; i++)
		isofs_remove(iso, children[i]);
	blob_clear(&iso->files[index].fci);
	blob_clear(&iso->files[index].data);
	memset(&iso->files[index], 0, sizeof(iso->files[index]));
}

uint16_t
handle_iso_delete_file(struct vcard_card *card, const struct apdu *cmd, struct vcard_buf *resp)
{
	struct iso_card *iso = &card->iso;
	int children[ISO_MAX_FILES], index, last;
	size_t n;
	uint16_t sw;

	(void)resp;
	if (cmd->p1 != 0x00 || cmd->p2 != 0x00)
		return SW_INCORRECT_P1P2;
	if (cmd->lc != 2)
		return SW_WRONG_LENGTH;
	index = isofs_find(iso, (uint16_t)(cmd->data[0] << 8 | cmd->data[1]), FIND_ANY);
	if (index < 0)
		return SW_FILE_NOT_FOUND;
	if (index == 0)
		return SW_COMMAND_NOT_ALLOWED;
	if ((sw = isofs_authenticate(iso, index, OP_DELETE_SELF)) != SW_OK)
		return sw;
	iso->current_df = iso->files[index].parent;
	iso->current_ef = -1;
	/* The applet moves its last child into the freed place. */
	n = isofs_children(iso, iso->current_df, children); /* index is one of them */
	if (n > 0) {
		last = children[n - 1];
		iso->files[last].seq = iso->files[index].seq;
	}
	isofs_remove(iso, index);
	card->dirty = true;
	return SW_OK;
}

static size_t
isofs_bytes_used(const struct iso_card *iso)
{
	size_t total = 0;
	int i;

	for (i = 0; i < ISO_MAX_FILES; i++)
		if (iso->files[i].used)
			total += iso->files[i].fci.len + iso->files[i].data.len;
	return total;
}

/*
 * The body size of a transparent EF: tag 81, one or two bytes, read as
 * signed like the applet does (a negative size fails as it would in Java).
 */
static uint16_t
isofs_ef_size(const uint8_t *inner, size_t inner_len, size_t *size)
{
	const uint8_t *v;
	size_t len;
	long n;

	*size = ISO_EF_DEFAULT_SIZE;
	if ((v = iso_tlv_find(inner, inner_len, 0x81, &len)) == NULL)
		return SW_OK;
	if (len == 2)
		n = (int16_t)(v[0] << 8 | v[1]);
	else if (len == 1)
		n = (int8_t)v[0];
	else
		return SW_DATA_INVALID;
	if (n < 0)
		return SW_UNKNOWN;
	*size = (size_t)n;
	return SW_OK;
}

/* getSafeFile: check an FCI from CREATE FILE and fill in a new file. */
static uint16_t
isofs_parse_new(
    struct iso_card *iso, const uint8_t *fci, size_t len, struct iso_file *out, size_t *size)
{
	const uint8_t *inner, *v;
	size_t inner_len, field, vlen;
	uint8_t fdb;

	if (len < 2 || (fci[0] != 0x6f && fci[0] != 0x62))
		return SW_DATA_INVALID;
	if (!iso_tlv_length(fci + 1, len - 1, &inner_len, &field) || inner_len != len - 1 - field)
		return SW_DATA_INVALID;
	inner = fci + 1 + field;
	if (!iso_tlv_consistent(inner, inner_len))
		return SW_DATA_INVALID;
	if ((v = iso_tlv_find(inner, inner_len, 0x83, &vlen)) == NULL || vlen != 2)
		return SW_DATA_INVALID;
	out->fid = (uint16_t)(v[0] << 8 | v[1]);
	if (isofs_find(iso, out->fid, FIND_ANY) >= 0)
		return SW_DATA_INVALID; /* FIDs are unique in the whole tree */
	if ((v = iso_tlv_find(inner, inner_len, 0x86, &vlen)) != NULL && vlen != 8)
		return SW_DATA_INVALID;
	if ((v = iso_tlv_find(inner, inner_len, 0x82, &vlen)) == NULL || vlen < 1 || vlen > 6)
		return SW_DATA_INVALID;
	fdb = v[0];
	*size = 0;
	if ((fdb & 0x3f) == 0x38) {
		out->df = true;
		return isofs_authenticate(iso, iso->current_df, OP_CREATE_DF);
	}
	if ((fdb & 0x30) != 0x00 || (fdb & 0x07) == 0 || (vlen == 6 && v[4] != 0x00))
		return SW_DATA_INVALID;
	out->structure = fdb & 0x07;
	if (isofs_authenticate(iso, iso->current_df, OP_CREATE_EF) != SW_OK)
		return SW_SECURITY_NOT_SATISFIED;
	return out->structure == 0x01 ? isofs_ef_size(inner, inner_len, size) : SW_OK;
}

/* CREATE FILE: the new file goes below the current DF and is selected. */
uint16_t
handle_iso_create_file(struct vcard_card *card, const struct apdu *cmd, struct vcard_buf *resp)
{
	struct iso_card *iso = &card->iso;
	struct iso_file f = {.used = true};
	int children[ISO_MAX_FILES], index;
	size_t size;
	uint16_t sw;

	(void)resp;
	if (cmd->p1 != 0x00 || cmd->p2 != 0x00)
		return SW_INCORRECT_P1P2;
	if ((sw = isofs_parse_new(iso, cmd->data, cmd->lc, &f, &size)) != SW_OK)
		return sw;
	for (index = 1; index < ISO_MAX_FILES && iso->files[index].used; index++)
		;
	if (index == ISO_MAX_FILES ||
	    isofs_children(iso, iso->current_df, children) >= ISO_MAX_CHILDREN ||
	    isofs_bytes_used(iso) + cmd->lc + size > ISO_FS_BYTES)
		return SW_FILE_FULL;
	if (blob_set(&f.fci, cmd->data, cmd->lc) != VCARD_OK)
		return SW_FILE_FULL;
	if (size > 0 && (f.data.data = calloc(1, size)) == NULL) {
		blob_clear(&f.fci);
		return SW_FILE_FULL;
	}
	f.data.len = size;
	f.parent = iso->current_df;
	f.seq = iso->next_seq++;
	iso->files[index] = f; /* transferred */
	isofs_select_index(iso, index);
	card->dirty = true;
	return SW_OK;
}

/* Drop the tree and leave the MF, as a freshly installed applet has it. */
int
isofs_format(struct iso_card *iso)
{
	isofs_free(iso);
	if (blob_set(&iso->files[0].fci, mf_fci, sizeof(mf_fci)) != VCARD_OK)
		return VCARD_ERR_NO_MEMORY;
	iso->files[0].used = true;
	iso->files[0].df = true;
	iso->files[0].fid = 0x3f00;
	iso->files[0].parent = -1;
	iso->next_seq = 1;
	isofs_select_mf(iso);
	return VCARD_OK;
}

void
isofs_free(struct iso_card *iso)
{
	int i;

	for (i = 0; i < ISO_MAX_FILES; i++) {
		blob_clear(&iso->files[i].fci);
		blob_clear(&iso->files[i].data);
		memset(&iso->files[i], 0, sizeof(iso->files[i]));
	}
}

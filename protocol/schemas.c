/*
 * schemas.c - the params of each method: the wire contract of
 * doc/PROTOCOL.md, in code.
 *
 * Shared by the daemon's dispatch table and the fuzz targets, so that what
 * is fuzzed is exactly what pages can send.  Limits follow X.520 upper
 * bounds for subject fields and keep every string far below a frame.
 */
#include "config.h"

#include <stdbool.h>
#include <stddef.h>

#include "protocol/params.h"
#include "protocol/schemas.h"

/* Bytes: X.520 bounds count characters, and UTF-8 needs up to 4 bytes for
 * one; the helper checks the character counts. */
static const struct proto_field schema_subject[] = {
    {"CN", PROTO_T_STRING, false, 256, NULL},
    {"emailAddress", PROTO_T_STRING, false, 512, NULL},
    {"GN", PROTO_T_STRING, false, 256, NULL},
    {"SN", PROTO_T_STRING, false, 256, NULL},
    {"O", PROTO_T_STRING, false, 256, NULL},
    {"OU", PROTO_T_STRING, false, 256, NULL},
    {"C", PROTO_T_STRING, false, 8, NULL},
    {"L", PROTO_T_STRING, false, 512, NULL},
    {"ST", PROTO_T_STRING, false, 512, NULL},
    {"serialNumber", PROTO_T_STRING, false, 256, NULL},
    {NULL, 0, false, 0, NULL},
};

static const struct proto_field schema_algorithm[] = {
    {"type", PROTO_T_STRING, true, 8, NULL},
    {"bits", PROTO_T_INT, false, 0, NULL},
    {"curve", PROTO_T_STRING, false, 16, NULL},
    {NULL, 0, false, 0, NULL},
};

const struct proto_field proto_schema_keys_generate[] = {
    {"token", PROTO_T_STRING, true, 1024, NULL},
    {"algorithm", PROTO_T_OBJECT, true, 0, schema_algorithm},
    {"label", PROTO_T_STRING, false, 64, NULL},
    {"subject", PROTO_T_OBJECT, false, 0, schema_subject},
    {"overwrite", PROTO_T_BOOL, false, 0, NULL},
    {NULL, 0, false, 0, NULL},
};

const struct proto_field proto_schema_certificates_install[] = {
    {"token", PROTO_T_STRING, false, 1024, NULL},
    {"certificate", PROTO_T_STRING, true, 64 * 1024, NULL},
    {"chain", PROTO_T_ARRAY_OF_STRINGS, false, 16, NULL},
    {"label", PROTO_T_STRING, false, 64, NULL},
    {"allowExpired", PROTO_T_BOOL, false, 0, NULL},
    {NULL, 0, false, 0, NULL},
};

const struct proto_field proto_schema_token_only[] = {
    {"token", PROTO_T_STRING, false, 1024, NULL},
    {NULL, 0, false, 0, NULL},
};

const struct proto_field proto_schema_none[] = {
    {NULL, 0, false, 0, NULL},
};

/*
 * schemas.h - params schemas of the protocol v1 methods (schemas.c).
 */
#ifndef CB_SCHEMAS_H
#define CB_SCHEMAS_H

#include "protocol/params.h"

extern const struct proto_field proto_schema_none[];
extern const struct proto_field proto_schema_token_only[];
extern const struct proto_field proto_schema_keys_generate[];
extern const struct proto_field proto_schema_certificates_install[];

#endif /* CB_SCHEMAS_H */

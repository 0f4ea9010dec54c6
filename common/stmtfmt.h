/*
 * stmtfmt.h — a monthly statement (proto/statement.h) for people: a text
 * page and a JSON object, with the same field names and wording in
 * shorectl, lifeline-verify and the operator guide.
 */
#ifndef LIFELINE_COMMON_STMTFMT_H
#define LIFELINE_COMMON_STMTFMT_H

#include <stdio.h>

#include "common/json.h"
#include "proto/statement.h"

/* Writes the statement's fields as key/value pairs into the open JSON
 * object j (no begin/end), so callers can add their own keys. */
void stmtfmt_json(struct json *j, const struct statement *s);

/* Writes the statement as a text page to f. */
void stmtfmt_text(FILE *f, const struct statement *s);

/* "1,048,576" into out (cap >= 32). */
const char *stmtfmt_bytes(uint64_t v, char *out, size_t cap);

#endif

/*
 * stmtcli.h — `shorectl statement --vessel V --month YYYY-MM [--json|--text]
 * [--out FILE]`: asks shored for the signed statement and, with --out,
 * checks it (statement_verify) and writes the LLDOC document to FILE.
 */
#ifndef LIFELINE_SHORE_STMTCLI_H
#define LIFELINE_SHORE_STMTCLI_H

#include <stdbool.h>

#include "common/ctl.h"

/* argv[0] is "statement".  Returns the exit status (sysexits; 73
 * EX_CANTCREAT when FILE cannot be written, 65 when the document shored
 * sent does not verify). */
int stmtcli_run(const char *prog, const char *sock, int argc, char *const argv[], bool json,
		const struct ctl_hint *hint);

#endif

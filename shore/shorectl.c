/*
 * shorectl — the operator's command line for shored.
 *
 *   shorectl [--socket PATH] [--json] COMMAND ...     (shorectl help)
 *
 * Sends the words after the options to shored's control socket and prints
 * the daemon's text answer (or its JSON with --json).  The socket is
 * --socket, else $SHORED_SOCKET, else /run/lifeline/shored.sock (where the
 * systemd unit's daemon listens) if it exists, else ./shored.sock.
 * Exit status: the daemon's status (sysexits: 0 ok, 64 usage, 65 bad data,
 * 67 no such vessel/message, 70 internal, 77 not allowed); 69
 * (EX_UNAVAILABLE) when shored cannot be reached, with what to do.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/ctl.h"
#include "shore/sctl.h"

#define SYSTEM_SOCKET "/run/lifeline/shored.sock"
#include "shore/stmtcli.h"


int main(int argc, char **argv)
{
	const char *sock = getenv("SHORED_SOCKET");
	bool json = false;
	int i = 1;
	for (; i < argc && strncmp(argv[i], "--", 2) == 0; i++) {
		if (strcmp(argv[i], "--json") == 0)
			json = true;
		else if (strcmp(argv[i], "--socket") == 0 && i + 1 < argc)
			sock = argv[++i];
		else if (strcmp(argv[i], "--help") == 0)
			return fputs(sctl_usage, stdout), 0;
		else
			return fprintf(stderr, "shorectl: unknown option %s\n%s", argv[i], sctl_usage), 64;
	}
	if (i == argc)
		return fputs(sctl_usage, stderr), 64;
	if (strcmp(argv[i], "help") == 0 && i + 1 == argc)
		return fputs(sctl_usage, stdout), 0;
	if (!sock || !*sock)
		sock = access(SYSTEM_SOCKET, F_OK) == 0 ? SYSTEM_SOCKET : "shored.sock";
	static const struct ctl_hint hint = {"shored", "systemctl start shored", "lifeline"};
	if (strcmp(argv[i], "statement") == 0)
		return stmtcli_run("shorectl", sock, argc - i, argv + i, json, &hint);
	return ctl_client_run("shorectl", sock, argc - i, (const char *const *)(argv + i), json,
			      &hint);
}

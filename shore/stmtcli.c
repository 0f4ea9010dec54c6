/*
 * stmtcli.c — shorectl's side of `statement` (stmtcli.h).
 *
 * For: an owner's operator gets the month's statement as a file to hand to
 * an inspector.  Invariants: the file is written only after the document
 * verified here with the shore's own key embedded (a transport or daemon
 * bug cannot produce a file that fails lifeline-verify); it is written to
 * a temporary name in the same folder, fsync'd and renamed, so FILE is
 * either absent, the old file, or the whole new document; an existing FILE
 * is replaced.  Failure: a sentence on stderr and a sysexits status.
 */
#include "shore/stmtcli.h"

#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/json.h"
#include "common/stmtfmt.h"
#include "proto/statement.h"

#define EX_DATAERR 65
#define EX_SOFTWARE 70
#define EX_CANTCREAT 73
#define FILE_MODE 0644
#define ARGS_MAX 16

static int write_file(const char *path, const uint8_t *p, size_t n)
{
	char tmp[4096];
	if (snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid()) >= (int)sizeof tmp)
		return ERR_TOOBIG;
	int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, FILE_MODE);
	if (fd < 0)
		return ERR_IO;
	size_t off = 0;
	while (off < n) {
		ssize_t w = write(fd, p + off, n - off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			break;
		off += (size_t)w;
	}
	int ok = off == n && fsync(fd) == 0;
	if (close(fd) != 0)
		ok = 0;
	if (!ok || rename(tmp, path) != 0) {
		unlink(tmp);
		return ERR_IO;
	}
	return 0;
}

/* The "document" of shored's JSON answer, decoded and verified, into out. */
static int fetch_doc(const char *json, uint8_t *out, size_t cap, size_t *len, struct statement *st,
		     const char **why)
{
	struct json_doc doc = {0};
	const char *hex;
	size_t hlen;
	int rc = json_parse(&doc, json, strlen(json), NULL, NULL);
	if (rc == 0)
		rc = json_get_string(&doc, json_root(&doc), "document", &hex, &hlen);
	if (rc == 0 && sodium_hex2bin(out, cap, hex, hlen, NULL, len, NULL) != 0)
		rc = ERR_INVAL;
	json_doc_free(&doc);
	if (rc < 0) {
		*why = "shored's answer holds no readable document";
		return rc;
	}
	return statement_verify(out, *len, st, NULL, why);
}

int stmtcli_run(const char *prog, const char *sock, int argc, char *const argv[], bool json,
		const struct ctl_hint *hint)
{
	const char *args[ARGS_MAX], *out = NULL;
	int n = 0;
	for (int i = 0; i < argc; i++) {
		if (strcmp(argv[i], "--json") == 0)
			json = true;
		else if (strcmp(argv[i], "--text") == 0)
			json = false;
		else if (strcmp(argv[i], "--out") == 0 && i + 1 < argc)
			out = argv[++i];
		else if (n < ARGS_MAX)
			args[n++] = argv[i];
		else
			return fprintf(stderr, "%s: too many arguments\n", prog), CTL_EX_USAGE;
	}
	if (!out)
		return ctl_client_run(prog, sock, n, args, json, hint);
	int status;
	char *text = NULL, *js = NULL;
	int rc = ctl_call(sock, n, args, CTL_CLIENT_TIMEOUT_MS, &status, &text, &js);
	if (rc < 0) {
		char msg[512];
		fprintf(stderr, "%s: %s\n", prog, ctl_error_explain(rc, sock, hint, msg, sizeof msg));
		return CTL_EX_UNAVAILABLE;
	}
	if (status != 0) {
		fprintf(stderr, "%s", json ? js : text);
		fputc('\n', stderr);
		free(text);
		free(js);
		return status;
	}
	static uint8_t docbuf[STATEMENT_DOC_MAX];
	static struct statement st;
	size_t len = 0;
	const char *why = NULL;
	rc = fetch_doc(js, docbuf, sizeof docbuf, &len, &st, &why);
	if (rc == 0 && write_file(out, docbuf, len) < 0) {
		fprintf(stderr, "%s: cannot write %s: %s\n", prog, out, strerror(errno));
		status = EX_CANTCREAT;
	} else if (rc < 0) {
		fprintf(stderr, "%s: the statement from shored does not verify: %s\n", prog, why);
		status = EX_DATAERR;
	} else if (json) {
		printf("%s\n", js);
	} else {
		fputs(text, stdout);
		printf("written to %s (%zu bytes)\n", out, len);
	}
	free(text);
	free(js);
	return status;
}

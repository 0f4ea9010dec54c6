/*
 * fuzz_ctl.c — libFuzzer target for the control-socket decoders.
 *
 * Input: a whole message as it arrives on the socket (header + payload).
 * Invariants, checked with abort():
 *  - the header parser either refuses with one of its documented codes or
 *    announces a length within the cap;
 *  - the request decoder, run on the bytes after the header, either refuses
 *    with a documented code or yields argc <= CTL_ARGS_MAX NUL-free strings
 *    whose re-encoding is exactly the input payload (one byte form per
 *    request: what the server acts on is what was sent);
 *  - the response decoder likewise round-trips what it accepts.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/ctl.h"

static void require(int ok)
{
	if (!ok)
		abort();
}

static void check_request(const uint8_t *p, size_t n)
{
	static struct ctl_request req;
	int rc = ctl_request_decode(p, n, &req);
	if (rc != 0) {
		require(rc == ERR_TRUNC || rc == ERR_INVAL || rc == ERR_TOOBIG);
		require(req.argc == 0);
		return;
	}
	require(req.argc >= 0 && (unsigned)req.argc <= CTL_ARGS_MAX);
	require(req.argv[req.argc] == NULL);
	uint8_t *m;
	size_t len;
	require(ctl_request_encode(req.argc, (const char *const *)req.argv, &m, &len) == 0);
	require(len == CTL_HEADER_BYTES + n && memcmp(m + CTL_HEADER_BYTES, p, n) == 0);
	free(m);
}

static void check_response(const uint8_t *p, size_t n)
{
	int st;
	char *t, *j;
	int rc = ctl_response_decode(p, n, &st, &t, &j);
	if (rc != 0) {
		require(rc == ERR_TRUNC || rc == ERR_INVAL || rc == ERR_TOOBIG);
		require(t == NULL && j == NULL);
		return;
	}
	uint8_t *m;
	size_t len;
	require(ctl_response_encode(st, t, j, &m, &len) == 0);
	require(len == CTL_HEADER_BYTES + n && memcmp(m + CTL_HEADER_BYTES, p, n) == 0);
	free(m);
	free(t);
	free(j);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < CTL_HEADER_BYTES) {
		check_request(data, size);
		return 0;
	}
	uint8_t type = 0;
	uint32_t len = 0;
	int rc = ctl_header_parse(data, CTL_MSG_MAX, &type, &len);
	if (rc != 0)
		require(rc == ERR_INVAL || rc == ERR_VERSION || rc == ERR_TOOBIG);
	else
		require(len <= CTL_MSG_MAX &&
			(type == CTL_TYPE_REQUEST || type == CTL_TYPE_RESPONSE));
	const uint8_t *p = data + CTL_HEADER_BYTES;
	size_t n = size - CTL_HEADER_BYTES;
	if (rc == 0 && type == CTL_TYPE_RESPONSE)
		check_response(p, n);
	else
		check_request(p, n);
	return 0;
}

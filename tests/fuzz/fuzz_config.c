/*
 * fuzz_config.c — config_parse_buf() against arbitrary files.
 *
 * The whole input is one configuration file for a schema with every value
 * type, a required key and a list.  Properties (any failure aborts):
 *   - the parser returns 0 or ERR_CONFIG/ERR_TOOBIG, never anything else;
 *   - on failure, the problem is set, the message is terminated and starts
 *     with the file name, and the line is within the file;
 *   - on success, the required key is set, numbers are in their ranges,
 *     list counts within max_count, every text terminated in its array;
 *   - on success, the values written back as a canonical file (every text
 *     quoted) parse again to exactly the same struct.
 * Returns 0.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/config.h"
#include "common/link.h"

#define ID_BYTES 17u
#define TEXT_BYTES 96u
#define LIST_MAX 3u
#define CANON_BYTES (CONFIG_FILE_MAX)

struct fconf {
	char id[ID_BYTES];
	char path[TEXT_BYTES];
	uint64_t n;
	uint64_t size;
	uint64_t wait_ms;
	bool flag;
	int32_t tz;
	int level;
	char link[LINK_SPEC_MAX];
	char items[LIST_MAX][TEXT_BYTES];
	size_t nitems;
	char text[TEXT_BYTES];
};

static const struct config_key keys[] = {
	{ .name = "id", .type = CONFIG_STRING, .offset = offsetof(struct fconf, id), .size = ID_BYTES,
	  .min = 1, .required = true },
	{ .name = "path", .type = CONFIG_PATH, .offset = offsetof(struct fconf, path),
	  .size = TEXT_BYTES, .def = "a.db" },
	{ .name = "n", .type = CONFIG_UINT, .offset = offsetof(struct fconf, n), .min = 2, .max = 1000,
	  .def = "7" },
	{ .name = "size", .type = CONFIG_BYTES, .offset = offsetof(struct fconf, size), .min = 1,
	  .def = "1M" },
	{ .name = "wait", .type = CONFIG_DURATION, .offset = offsetof(struct fconf, wait_ms),
	  .max = 604800000u, .def = "30s" },
	{ .name = "flag", .type = CONFIG_BOOL, .offset = offsetof(struct fconf, flag), .def = "on" },
	{ .name = "tz", .type = CONFIG_TZ, .offset = offsetof(struct fconf, tz), .def = "+07:00" },
	{ .name = "log", .type = CONFIG_LOG_LEVEL, .offset = offsetof(struct fconf, level),
	  .def = "info" },
	{ .name = "link", .type = CONFIG_LINK, .offset = offsetof(struct fconf, link),
	  .size = LINK_SPEC_MAX, .def = "tcp:localhost:7100" },
	{ .name = "item", .type = CONFIG_LIST, .offset = offsetof(struct fconf, items),
	  .size = TEXT_BYTES, .min = 1, .max_count = LIST_MAX,
	  .count_offset = offsetof(struct fconf, nitems) },
	{ .name = "text", .type = CONFIG_STRING, .offset = offsetof(struct fconf, text),
	  .size = TEXT_BYTES },
};
#define NKEYS (sizeof keys / sizeof keys[0])

static bool terminated(const char *s, size_t cap)
{
	return memchr(s, '\0', cap) != NULL;
}

/* Appends key = "value" with \" and \\ escaped. */
static size_t put_text(char *out, size_t o, const char *key, const char *v)
{
	o += (size_t)snprintf(out + o, CANON_BYTES - o, "%s = \"", key);
	for (; *v; v++) {
		if (*v == '"' || *v == '\\')
			out[o++] = '\\';
		out[o++] = *v;
	}
	o += (size_t)snprintf(out + o, CANON_BYTES - o, "\"\n");
	return o;
}

static void check_canonical(const struct fconf *c)
{
	static const char *const levels[] = { "error", "warn", "info", "debug", "io" };
	static char out[CANON_BYTES];
	size_t o = 0;
	o = put_text(out, o, "id", c->id);
	o = put_text(out, o, "path", c->path);
	o += (size_t)snprintf(out + o, CANON_BYTES - o, "n = %llu\nsize = %llu\nwait = %llums\n"
			      "flag = %s\n", (unsigned long long)c->n, (unsigned long long)c->size,
			      (unsigned long long)c->wait_ms, c->flag ? "yes" : "no");
	int32_t a = c->tz < 0 ? -c->tz : c->tz;
	o += (size_t)snprintf(out + o, CANON_BYTES - o, "tz = %c%02d:%02d\nlog = %s\n",
			      c->tz < 0 ? '-' : '+', (int)(a / 3600), (int)(a % 3600 / 60),
			      levels[c->level]);
	o = put_text(out, o, "link", c->link);
	for (size_t i = 0; i < c->nitems; i++)
		o = put_text(out, o, "item", c->items[i]);
	o = put_text(out, o, "text", c->text);

	struct fconf again;
	struct config_error e;
	memset(&again, 0, sizeof again);
	if (config_parse_buf("canon", out, o, keys, NKEYS, &again, &e) != 0) {
		fprintf(stderr, "canonical file refused: %s\n%.*s", e.msg, (int)o, out);
		abort();
	}
	if (memcmp(c, &again, sizeof again) != 0)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fconf c;
	struct config_error e;
	memset(&c, 0, sizeof c);
	int rc = config_parse_buf("f", data, size, keys, NKEYS, &c, &e);
	if (rc != 0) {
		unsigned lines = 1;
		for (size_t i = 0; i < size; i++)
			lines += data[i] == '\n';
		if ((rc != ERR_CONFIG && rc != ERR_TOOBIG) || e.problem == CONFIG_PROBLEM_NONE ||
		    !terminated(e.msg, sizeof e.msg) || !terminated(e.key, sizeof e.key) ||
		    e.line > lines || strncmp(e.msg, "f:", 2) != 0)
			abort();
		return 0;
	}
	if (c.id[0] == '\0' || !terminated(c.id, sizeof c.id) || !terminated(c.path, sizeof c.path) ||
	    !terminated(c.link, sizeof c.link) || !terminated(c.text, sizeof c.text) ||
	    c.n < 2 || c.n > 1000 || c.size < 1 || c.wait_ms > 604800000u ||
	    c.tz < CONFIG_TZ_MIN_S || c.tz > CONFIG_TZ_MAX_S || c.level < 0 || c.level > 4 ||
	    c.nitems > LIST_MAX || e.problem != CONFIG_PROBLEM_NONE)
		abort();
	for (size_t i = 0; i < c.nitems; i++)
		if (!terminated(c.items[i], TEXT_BYTES) || c.items[i][0] == '\0')
			abort();
	check_canonical(&c);
	return 0;
}

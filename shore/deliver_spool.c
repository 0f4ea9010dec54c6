/*
 * deliver_spool.c — the spool delivery driver (see deliver_spool.h).
 *
 * What it is for: the embedded default channel to families, and the one
 * the end-to-end tests count messages in; SMTP and webhook bridges can also
 * consume the spool.
 *
 * Invariants: a <msg_id>.json file is complete when it exists (temp file,
 * fsync, link, fsync of the folder); the final name is never overwritten;
 * a message id maps to exactly one file.
 *
 * Failure behaviour: an I/O failure leaves at most a temporary file (named
 * ".tmp-*", never "*.json", removed on the spot when possible) and returns
 * ERR_AGAIN with the reason in why, so the router retries with backoff.
 */
#include "shore/deliver_spool.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/json.h"
#include "common/log.h"

#define SPOOL_DIR_MAX (PATH_MAX - 128)   /* room for /<vessel>/<msg_id>.json */

struct deliver_spool {
	char dir[SPOOL_DIR_MAX];
	atomic_uint_fast64_t redeliveries;
};

int deliver_spool_new(struct deliver_spool **out, const char *dir)
{
	*out = NULL;
	if (!dir || !*dir || strlen(dir) >= SPOOL_DIR_MAX)
		return ERR_INVAL;
	struct deliver_spool *s = calloc(1, sizeof *s);
	if (!s)
		return ERR_NOMEM;
	snprintf(s->dir, sizeof s->dir, "%s", dir);
	atomic_init(&s->redeliveries, 0);
	*out = s;
	return 0;
}

void deliver_spool_free(struct deliver_spool *s)
{
	free(s);
}

uint64_t deliver_spool_redeliveries(const struct deliver_spool *s)
{
	return atomic_load(&s->redeliveries);
}

static int fail(char *why, size_t cap, const char *what, const char *path, int e)
{
	snprintf(why, cap, "spool: %s %s: %s", what, path, strerror(e));
	return ERR_AGAIN;
}

static int mkdir_p(const char *path)
{
	if (mkdir(path, DELIVER_SPOOL_DIR_MODE) == 0 || errno == EEXIST)
		return 0;
	return -1;
}

static int fsync_dir(const char *path)
{
	int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	int rc = fsync(fd);
	int e = errno;
	close(fd);
	errno = e;
	return rc;
}

static int write_all(int fd, const char *p, size_t n)
{
	while (n) {
		ssize_t w = write(fd, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

static char *render(const struct deliver_msg *m)
{
	struct json j;
	char *out = NULL;
	json_init(&j);
	json_object_begin(&j);
	json_kv_uint(&j, "vessel", m->vessel);
	json_kv_string(&j, "vessel_name", m->vessel_name ? m->vessel_name : "");
	json_kv_uint(&j, "msg_id", m->msg_id);
	json_kv_uint(&j, "crew_id", m->crew_id);
	json_kv_uint(&j, "contact_ref", m->contact_ref);
	json_kv_string(&j, "to", m->to);
	json_kv_string(&j, "channel", m->channel);
	json_kv_int(&j, "ts", m->ts);
	json_key(&j, "text");
	json_string_n(&j, m->text, m->text_len);
	json_object_end(&j);
	if (json_finish(&j, &out, NULL) < 0)
		out = NULL;
	json_fini(&j);
	return out;
}

static int spool_send(void *drv, const struct deliver_msg *m, char *why, size_t cap)
{
	struct deliver_spool *s = drv;
	char vdir[PATH_MAX], tmp[PATH_MAX], fin[PATH_MAX];
	if (!m->text)
		return snprintf(why, cap, "spool: message without text"), ERR_INVAL;
	snprintf(vdir, sizeof vdir, "%s/%" PRIu32, s->dir, m->vessel);
	snprintf(fin, sizeof fin, "%s/%" PRIu32 "/%" PRIu64 ".json", s->dir, m->vessel, m->msg_id);
	snprintf(tmp, sizeof tmp, "%s/%" PRIu32 "/.tmp-%" PRIu64 "-XXXXXX", s->dir, m->vessel,
		 m->msg_id);
	if (mkdir_p(s->dir) < 0)
		return fail(why, cap, "cannot make", s->dir, errno);
	if (mkdir_p(vdir) < 0)
		return fail(why, cap, "cannot make", vdir, errno);
	char *doc = render(m);
	if (!doc)
		return snprintf(why, cap, "spool: out of memory"), ERR_AGAIN;
	int fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0) {
		free(doc);
		return fail(why, cap, "cannot create", tmp, errno);
	}
	int rc = 0, e = 0;
	if (fchmod(fd, 0640) < 0 || write_all(fd, doc, strlen(doc)) < 0 ||
	    write_all(fd, "\n", 1) < 0 || fsync(fd) < 0)
		e = errno ? errno : EIO, rc = -1;
	if (close(fd) < 0 && rc == 0)
		e = errno, rc = -1;
	free(doc);
	if (rc < 0) {
		unlink(tmp);
		return fail(why, cap, "cannot write", tmp, e);
	}
	bool again = false;
	if (link(tmp, fin) < 0) {
		e = errno;
		if (e != EEXIST) {
			unlink(tmp);
			return fail(why, cap, "cannot link", fin, e);
		}
		again = true;
	}
	unlink(tmp);
	if (fsync_dir(vdir) < 0)
		return fail(why, cap, "cannot sync", vdir, errno);
	if (again) {
		atomic_fetch_add(&s->redeliveries, 1);
		log_warn("spool: %s exists already: a redelivery after a restart; not written twice",
			 fin);
		snprintf(why, cap, "spool: %s (was there already)", fin);
	} else {
		snprintf(why, cap, "spool: %s", fin);
	}
	return 0;
}

const struct deliver_ops deliver_spool_ops = {.name = "spool", .send = spool_send};

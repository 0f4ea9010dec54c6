/*
 * deliver_smtp.c — the SMTP delivery driver (see deliver_smtp.h).
 *
 * What it is for: families who use e-mail get each crew text as a plain
 * UTF-8 mail whose Reply-To names the crew member, so their answer can
 * find its way back to the vessel.
 *
 * Invariants: the message built for a crew text depends only on the text,
 * its ids and the config (Date is when the crew member wrote it), so a
 * retry is byte-identical and carries the same Message-ID.  Nothing a
 * vessel, crew member or family controls reaches a header unencoded: names
 * and the subject are plain printable ASCII or RFC 2047 encoded-words (no
 * CR/LF can get through), addresses are checked to be plain ASCII
 * addr-specs, and the body is base64 (RFC 2045 lines of 76).
 *
 * Failure behaviour: send() never blocks past timeout_ms; every failure is
 * classified per deliver_smtp.h with the server's own last reply line
 * quoted in why.  Nothing logs here; the router logs the outcome.
 */
#include "shore/deliver_smtp.h"

#include <curl/curl.h>
#include <inttypes.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "common/json.h"
#include "shore/netutil.h"

#define LOCAL_PART_MAX 64u             /* RFC 5321 4.5.3.1.1 */
#define DOMAIN_MAX 253u
#define EW_CHUNK_BYTES 39u             /* per encoded-word: 52 base64 chars, a 64-char word,
					* so "Subject: " + word stays within 76 (RFC 2047 2) */
#define EW_HEADER_LINE_MAX 76u
#define B64_LINE 76u                   /* RFC 2045 6.8 */
#define REPLY_LINE_MAX 200u            /* server reply kept for why */
#define PATTERN_OUT_MAX 512u
#define SCHEME_MAILTO "mailto:"

struct deliver_smtp {
	char url[DELIVER_SMTP_URL_MAX + 1];
	char user[DELIVER_SMTP_TEXT_MAX + 1];
	struct netutil_secret *password;   /* NULL without user */
	enum deliver_smtp_tls tls;
	char ca_file[DELIVER_SMTP_TEXT_MAX + 1];
	bool tls_insecure;
	char from[DELIVER_SMTP_ADDR_MAX + 1];
	const char *from_domain;           /* inside from */
	char from_name[DELIVER_SMTP_TEXT_MAX + 1];
	char reply_to[DELIVER_SMTP_TEXT_MAX + 1];
	char subject[DELIVER_SMTP_TEXT_MAX + 1];
	long timeout_ms;
};

int deliver_smtp_tls_parse(const char *s, enum deliver_smtp_tls *out)
{
	if (strcmp(s, "required") == 0)
		*out = DELIVER_SMTP_TLS_REQUIRED;
	else if (strcmp(s, "try") == 0)
		*out = DELIVER_SMTP_TLS_TRY;
	else if (strcmp(s, "none") == 0)
		*out = DELIVER_SMTP_TLS_NONE;
	else
		return ERR_INVAL;
	return 0;
}

/* A plain ASCII addr-spec local@domain (RFC 5322 dot-atom on both sides,
 * hostname labels in the domain).  '%' and '?' are refused too: in a
 * mailto: URI they would be escapes or headers. */
static bool addr_ok(const char *a, size_t n)
{
	static const char atext_extra[] = "!#$&'*+/=^_`{|}~-";
	const char *at = memchr(a, '@', n);
	if (n == 0 || n > DELIVER_SMTP_ADDR_MAX || at == NULL)
		return false;
	size_t ll = (size_t)(at - a), dl = n - ll - 1u;
	if (ll == 0 || ll > LOCAL_PART_MAX || dl == 0 || dl > DOMAIN_MAX)
		return false;
	for (size_t i = 0; i < ll; i++) {
		char c = a[i];
		bool alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
		if (c == '.') {
			if (i == 0 || i + 1u == ll || a[i - 1u] == '.')
				return false;
		} else if (!alnum && (c == '\0' || !strchr(atext_extra, c))) {
			return false;
		}
	}
	const char *d = at + 1;
	size_t label = 0;
	for (size_t i = 0; i <= dl; i++) {
		char c = i < dl ? d[i] : '.';
		if (c == '.') {
			if (label == 0 || d[i - 1u] == '-')
				return false;
			label = 0;
		} else if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
			   (c == '-' && label > 0)) {
			label++;
		} else {
			return false;
		}
	}
	return true;
}

/* Expands a pattern; allow_name: %n permitted.  0, ERR_INVAL (unknown
 * token, or %n where not allowed), ERR_TOOBIG. */
static int expand(const char *pat, const struct deliver_msg *m, bool allow_name, char *out, size_t cap)
{
	size_t o = 0;
	for (const char *p = pat; *p; p++) {
		char tmp[32];
		const char *piece = tmp;
		if (*p != '%') {
			tmp[0] = *p;
			tmp[1] = '\0';
		} else {
			switch (*++p) {
			case 'v': snprintf(tmp, sizeof tmp, "%" PRIu32, m->vessel); break;
			case 'c': snprintf(tmp, sizeof tmp, "%" PRIu32, m->crew_id); break;
			case 'r': snprintf(tmp, sizeof tmp, "%" PRIu32, m->contact_ref); break;
			case 'm': snprintf(tmp, sizeof tmp, "%" PRIu64, m->msg_id); break;
			case '%': snprintf(tmp, sizeof tmp, "%%"); break;
			case 'n':
				if (!allow_name)
					return ERR_INVAL;
				if (m->vessel_name && *m->vessel_name &&
				    json_utf8_valid(m->vessel_name, strlen(m->vessel_name)))
					piece = m->vessel_name;
				else
					snprintf(tmp, sizeof tmp, "%" PRIu32, m->vessel);
				break;
			default:
				return ERR_INVAL;
			}
		}
		size_t k = strlen(piece);
		if (k >= cap - o)
			return ERR_TOOBIG;
		memcpy(out + o, piece, k);
		o += k;
	}
	out[o] = '\0';
	return 0;
}

static bool plain_ascii(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20u || (unsigned char)*s >= 0x7fu)
			return false;
	return true;
}

/* RFC 2047 B encoded-words for s (valid UTF-8; controls become spaces),
 * cut at character boundaries, folded with CRLF SP. */
static void put_encoded_words(FILE *f, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t n = strlen(s), i = 0;
	bool first = true;
	while (i < n) {
		size_t k = n - i < EW_CHUNK_BYTES ? n - i : EW_CHUNK_BYTES;
		while (i + k < n && (p[i + k] & 0xc0u) == 0x80u)   /* not inside a character */
			k--;
		unsigned char chunk[EW_CHUNK_BYTES];
		for (size_t j = 0; j < k; j++)
			chunk[j] = (p[i + j] < 0x20u || p[i + j] == 0x7fu) ? ' ' : p[i + j];
		char b64[sodium_base64_ENCODED_LEN(EW_CHUNK_BYTES, sodium_base64_VARIANT_ORIGINAL)];
		sodium_bin2base64(b64, sizeof b64, chunk, k, sodium_base64_VARIANT_ORIGINAL);
		fprintf(f, "%s=?UTF-8?B?%s?=", first ? "" : "\r\n ", b64);
		first = false;
		i += k;
	}
}

/* A display name: a quoted-string when plain ASCII, else encoded-words. */
static void put_phrase(FILE *f, const char *s)
{
	if (plain_ascii(s)) {
		fputc('"', f);
		for (; *s; s++) {
			if (*s == '"' || *s == '\\')
				fputc('\\', f);
			fputc(*s, f);
		}
		fputc('"', f);
	} else {
		put_encoded_words(f, s);
	}
}

static void put_date(FILE *f, int64_t ts)
{
	static const char *const days[] = { "Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat" };
	static const char *const months[] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun",
					      "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };
	time_t t = (time_t)ts;
	struct tm tm;
	if (gmtime_r(&t, &tm) == NULL || tm.tm_year + 1900 < 1970 || tm.tm_year + 1900 > 9999) {
		t = 0;
		gmtime_r(&t, &tm);
	}
	fprintf(f, "Date: %s, %02d %s %04d %02d:%02d:%02d +0000\r\n", days[tm.tm_wday], tm.tm_mday,
		months[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

/* false when out of memory */
static bool put_body(FILE *f, const char *text, size_t len)
{
	size_t cap = sodium_base64_ENCODED_LEN(len, sodium_base64_VARIANT_ORIGINAL);
	char *b64 = malloc(cap);
	if (b64 == NULL)
		return false;
	sodium_bin2base64(b64, cap, (const unsigned char *)text, len, sodium_base64_VARIANT_ORIGINAL);
	size_t n = strlen(b64);
	for (size_t i = 0; i < n; i += B64_LINE)
		fprintf(f, "%.*s\r\n", (int)(n - i < B64_LINE ? n - i : B64_LINE), b64 + i);
	free(b64);
	return true;
}

int deliver_smtp_message(const void *drv, const struct deliver_msg *m, char **msg, size_t *len,
			 char *rcpt, char *why, size_t why_cap)
{
	const struct deliver_smtp *s = drv;
	*msg = NULL;
	*len = 0;
	rcpt[0] = '\0';
	size_t sl = sizeof SCHEME_MAILTO - 1u;
	if (m->to == NULL || strncasecmp(m->to, SCHEME_MAILTO, sl) != 0 ||
	    !addr_ok(m->to + sl, strlen(m->to + sl))) {
		snprintf(why, why_cap, "smtp: cannot mail this address (mailto: and a plain ASCII "
			 "address such as name@example.org)");
		return ERR_INVAL;
	}
	if (m->text == NULL || !json_utf8_valid(m->text, m->text_len) ||
	    memchr(m->text, '\0', m->text_len) != NULL) {
		snprintf(why, why_cap, "smtp: the text is not valid UTF-8");
		return ERR_INVAL;
	}
	snprintf(rcpt, DELIVER_SMTP_ADDR_MAX + 1u, "%s", m->to + sl);
	char subject[PATTERN_OUT_MAX], reply_to[PATTERN_OUT_MAX];
	if (expand(s->subject, m, true, subject, sizeof subject) != 0 ||
	    (s->reply_to[0] && expand(s->reply_to, m, false, reply_to, sizeof reply_to) != 0)) {
		snprintf(why, why_cap, "smtp: subject or reply_to pattern too long for this message");
		return ERR_INVAL;
	}
	char *buf = NULL;
	size_t n = 0;
	FILE *f = open_memstream(&buf, &n);
	if (f == NULL) {
		snprintf(why, why_cap, "smtp: out of memory");
		return ERR_NOMEM;
	}
	put_date(f, m->ts);
	fputs("From: ", f);
	put_phrase(f, s->from_name);
	fprintf(f, " <%s>\r\nTo: ", s->from);
	const char *cname = m->contact_name;
	if (cname && *cname && json_utf8_valid(cname, strlen(cname))) {
		put_phrase(f, cname);
		fputc(' ', f);
	}
	fprintf(f, "<%s>\r\n", rcpt);
	if (s->reply_to[0])
		fprintf(f, "Reply-To: <%s>\r\n", reply_to);
	fputs("Subject: ", f);
	if (plain_ascii(subject) && strlen(subject) + sizeof "Subject: " <= EW_HEADER_LINE_MAX)
		fputs(subject, f);
	else
		put_encoded_words(f, subject);
	fprintf(f, "\r\nMessage-ID: <lifeline.%" PRIu32 ".%" PRIu64 "@%s>\r\n", m->vessel, m->msg_id,
		s->from_domain);
	fputs("MIME-Version: 1.0\r\n"
	      "Content-Type: text/plain; charset=utf-8\r\n"
	      "Content-Transfer-Encoding: base64\r\n", f);
	fprintf(f, "X-Lifeline-Id: %" PRIu32 "-%" PRIu64 "\r\n\r\n", m->vessel, m->msg_id);
	bool bad = !put_body(f, m->text, m->text_len) || ferror(f) != 0;
	if (fclose(f) != 0 || bad || buf == NULL) {
		free(buf);
		snprintf(why, why_cap, "smtp: out of memory");
		return ERR_NOMEM;
	}
	*msg = buf;
	*len = n;
	return 0;
}

static bool text_field(char *dst, size_t cap, const char *src, const char *def)
{
	const char *v = src && *src ? src : def;
	if (strlen(v) >= cap)
		return false;
	snprintf(dst, cap, "%s", v);
	return true;
}

void deliver_smtp_free(void *drv)
{
	struct deliver_smtp *s = drv;
	if (s == NULL)
		return;
	netutil_secret_free(s->password);
	free(s);
}

int deliver_smtp_new(void **drv, const struct deliver_smtp_config *cfg, char *why, size_t why_cap)
{
	*drv = NULL;
	struct deliver_smtp *s = calloc(1, sizeof *s);
	if (s == NULL) {
		snprintf(why, why_cap, "out of memory");
		return ERR_NOMEM;
	}
	int rc = ERR_CONFIG;
	if (!cfg->url || (strncmp(cfg->url, "smtp://", 7) != 0 && strncmp(cfg->url, "smtps://", 8) != 0) ||
	    !text_field(s->url, sizeof s->url, cfg->url, "") || !plain_ascii(s->url)) {
		snprintf(why, why_cap, "smtp_url must be smtp://HOST[:PORT] or smtps://HOST[:PORT]");
		goto fail;
	}
	if (!cfg->from || !addr_ok(cfg->from, strlen(cfg->from))) {
		snprintf(why, why_cap, "smtp_from must be a plain address such as lifeline@example.org");
		goto fail;
	}
	snprintf(s->from, sizeof s->from, "%s", cfg->from);
	s->from_domain = strchr(s->from, '@') + 1;
	if (!text_field(s->from_name, sizeof s->from_name, cfg->from_name, DELIVER_SMTP_FROM_NAME_DEFAULT) ||
	    !json_utf8_valid(s->from_name, strlen(s->from_name)) ||
	    !text_field(s->subject, sizeof s->subject, cfg->subject, DELIVER_SMTP_SUBJECT_DEFAULT) ||
	    !json_utf8_valid(s->subject, strlen(s->subject)) ||
	    !text_field(s->reply_to, sizeof s->reply_to, cfg->reply_to, "") ||
	    !text_field(s->ca_file, sizeof s->ca_file, cfg->ca_file, "") ||
	    !text_field(s->user, sizeof s->user, cfg->user, "")) {
		snprintf(why, why_cap, "smtp: a setting is too long (%u bytes at most) or not UTF-8",
			 DELIVER_SMTP_TEXT_MAX);
		goto fail;
	}
	/* Try the patterns on a sample message. */
	struct deliver_msg sample = { .vessel = 4294967295u, .msg_id = UINT64_MAX, .crew_id = 4294967295u,
				      .contact_ref = 4294967295u, .vessel_name = "x" };
	char out[PATTERN_OUT_MAX];
	if (expand(s->subject, &sample, true, out, sizeof out) != 0) {
		snprintf(why, why_cap, "smtp_subject: unknown %%-token (use %%v %%n %%c %%r %%m %%%%)");
		goto fail;
	}
	if (s->reply_to[0] &&
	    (!strstr(s->reply_to, "%v") || !strstr(s->reply_to, "%c") || !strstr(s->reply_to, "%r") ||
	     expand(s->reply_to, &sample, false, out, sizeof out) != 0 || !addr_ok(out, strlen(out)))) {
		snprintf(why, why_cap, "smtp_reply_to must be an address holding %%v, %%c and %%r, such as "
			 "reply+%%v-%%c-%%r@replies.example.org");
		goto fail;
	}
	if (s->user[0]) {
		char kwhy[DELIVER_WHY_MAX];
		size_t plen;
		if (!cfg->password_file) {
			snprintf(why, why_cap, "smtp_user needs smtp_password_file");
			goto fail;
		}
		rc = netutil_secret_load(cfg->password_file, 1, &s->password, kwhy, sizeof kwhy);
		if (rc != 0) {
			snprintf(why, why_cap, "smtp_password_file: %s", kwhy);
			goto fail;
		}
		const char *pw = netutil_secret_bytes(s->password, &plen);
		if (strlen(pw) != plen) {
			snprintf(why, why_cap, "smtp_password_file: the password holds a NUL byte");
			rc = ERR_CONFIG;
			goto fail;
		}
	}
	s->tls = cfg->tls;
	s->tls_insecure = cfg->tls_insecure;
	s->timeout_ms = (long)(cfg->timeout_ms ? cfg->timeout_ms : NETUTIL_TIMEOUT_MS_DEFAULT);
	*drv = s;
	return 0;
fail:
	deliver_smtp_free(s);
	return rc;
}

struct upload {
	const char *p;
	size_t len, off;
};

static size_t read_cb(char *dst, size_t size, size_t n, void *arg)
{
	struct upload *u = arg;
	size_t room = size * n, left = u->len - u->off;
	size_t k = left < room ? left : room;
	memcpy(dst, u->p + u->off, k);
	u->off += k;
	return k;
}

/* Keeps the server's last reply line (libcurl hands them as HEADER_IN),
 * except the "221" answer to the QUIT libcurl sends after a failure. */
static int debug_cb(CURL *c, curl_infotype type, char *data, size_t size, void *arg)
{
	(void)c;
	if (type != CURLINFO_HEADER_IN || size == 0 || (size >= 3 && memcmp(data, "221", 3) == 0))
		return 0;
	char *line = arg;
	netutil_printable(data, size, line, REPLY_LINE_MAX);
	return 0;
}

static int smtp_send(void *drv, const struct deliver_msg *m, char *why, size_t why_cap)
{
	const struct deliver_smtp *s = drv;
	char rcpt[DELIVER_SMTP_ADDR_MAX + 1], addr[DELIVER_SMTP_ADDR_MAX + 3];
	struct upload u = { 0 };
	char *msg = NULL;
	int rc = deliver_smtp_message(s, m, &msg, &u.len, rcpt, why, why_cap);
	if (rc != 0)
		return rc == ERR_NOMEM ? ERR_AGAIN : rc;
	u.p = msg;
	snprintf(addr, sizeof addr, "<%s>", rcpt);
	struct curl_slist *rcpts = curl_slist_append(NULL, addr);
	CURL *c = curl_easy_init();
	if (c == NULL || rcpts == NULL) {
		snprintf(why, why_cap, "smtp: cannot set up the session (out of memory?)");
		rc = ERR_AGAIN;
		goto out;
	}
	char from[DELIVER_SMTP_ADDR_MAX + 3], errbuf[CURL_ERROR_SIZE] = "", last[REPLY_LINE_MAX] = "";
	snprintf(from, sizeof from, "<%s>", s->from);
	static const long use_ssl[] = {
		[DELIVER_SMTP_TLS_REQUIRED] = (long)CURLUSESSL_ALL,
		[DELIVER_SMTP_TLS_TRY] = (long)CURLUSESSL_TRY,
		[DELIVER_SMTP_TLS_NONE] = (long)CURLUSESSL_NONE,
	};
	curl_easy_setopt(c, CURLOPT_URL, s->url);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "smtp,smtps");
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_MAIL_FROM, from);
	curl_easy_setopt(c, CURLOPT_MAIL_RCPT, rcpts);
	curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
	curl_easy_setopt(c, CURLOPT_READFUNCTION, read_cb);
	curl_easy_setopt(c, CURLOPT_READDATA, &u);
	curl_easy_setopt(c, CURLOPT_INFILESIZE_LARGE, (curl_off_t)u.len);
	curl_easy_setopt(c, CURLOPT_USE_SSL, use_ssl[s->tls]);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, s->timeout_ms);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, s->timeout_ms);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
	curl_easy_setopt(c, CURLOPT_VERBOSE, 1L);          /* feeds debug_cb only */
	curl_easy_setopt(c, CURLOPT_DEBUGFUNCTION, debug_cb);
	curl_easy_setopt(c, CURLOPT_DEBUGDATA, last);
	if (s->ca_file[0])
		curl_easy_setopt(c, CURLOPT_CAINFO, s->ca_file);
	if (s->tls_insecure) {
		curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 0L);
		curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 0L);
	}
	if (s->password != NULL) {
		size_t plen;
		curl_easy_setopt(c, CURLOPT_USERNAME, s->user);
		curl_easy_setopt(c, CURLOPT_PASSWORD, netutil_secret_bytes(s->password, &plen));
	}
	CURLcode cc = curl_easy_perform(c);
	long code = 0;
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
	if (cc == CURLE_OK) {
		snprintf(why, why_cap, "smtp: %s", last[0] ? last : "250 accepted");
		rc = 0;
	} else if (cc == CURLE_OPERATION_TIMEDOUT) {
		snprintf(why, why_cap, "smtp: no answer within %ld ms", s->timeout_ms);
		rc = ERR_AGAIN;
	} else if (code >= 500 && code < 600 && cc != CURLE_LOGIN_DENIED) {
		snprintf(why, why_cap, "smtp: %s", last[0] ? last : errbuf);
		rc = ERR_PERM;
	} else {
		snprintf(why, why_cap, "smtp: %s%s%s", code >= 400 && last[0] ? last : "",
			 code >= 400 && last[0] ? " — " : "", *errbuf ? errbuf : curl_easy_strerror(cc));
		rc = ERR_AGAIN;
	}
out:
	curl_easy_cleanup(c);
	curl_slist_free_all(rcpts);
	free(msg);
	return rc;
}

const struct deliver_ops deliver_smtp_ops = {
	.name = "smtp",
	.send = smtp_send,
};

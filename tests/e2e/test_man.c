/*
 * test_man.c — the manual pages in tools/man/ format cleanly and say what
 * the programs say.
 *
 * What it is for: `make install` copies every page (tools/man, sections 1 and 8) into
 * PREFIX/share/man; a page that groff or man(1) complains about, or that
 * misses a command, option or configuration key the program itself lists,
 * is a page that has gone stale.  So for each page:
 *  - `groff -man -Tutf8 -ww -z PAGE` and `man --warnings -E UTF-8 -l PAGE`
 *    exit 0 and print nothing (no warning of any kind);
 *  - every command word and option in `vesselctl help` / `shorectl help`
 *    (their syntax column), every --option in each program's --help, and
 *    every key in `vesseld --print-config` / `shored --print-config`
 *    appears as a word in the page source (after undoing roff escapes).
 *
 * Invariants: the word lists are taken from the binaries at test time,
 * never copied here; each list must be non-trivial (a broken extractor
 * fails instead of passing vacuously), and a deliberately broken page must
 * make groff warn (the warning check can fail).
 * Failure behaviour: each missing word is printed with its page and
 * source; groff or man missing is a failure naming the Debian packages
 * (groff-base, man-db).  Processes are waited for with deadlines.
 */
#include <CUnit/CUnit.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tests/lib/testutil.h"

#define RUN_MS 30000
#define WORD_MAX 64u
#define LOG_NAME "out.log"
#define CTL_WORDS_MIN 15u     /* a ctl's help lists more words than this */
#define KEYS_MIN 10u          /* a daemon has more configuration keys */

enum check { CHECK_OPTIONS = 1, CHECK_COMMANDS = 2, CHECK_KEYS = 4 };

struct page {
	const char *file;          /* under tools/man/ */
	const char *prog;          /* under LIFELINE_BUILD */
	const char *help;          /* its help argument */
	unsigned checks;
};

static const struct page pages[] = {
	{"vesseld.8", "vesseld", "--help", CHECK_OPTIONS | CHECK_KEYS},
	{"vesselctl.1", "vesselctl", "help", CHECK_OPTIONS | CHECK_COMMANDS},
	{"shored.8", "shored", "--help", CHECK_OPTIONS | CHECK_KEYS},
	{"shorectl.1", "shorectl", "help", CHECK_OPTIONS | CHECK_COMMANDS},
	{"satsim.1", "satsim", "--help", CHECK_OPTIONS},
	{"lifeline-keygen.1", "lifeline-keygen", "--help", CHECK_OPTIONS},
	{"lifeline-verify.1", "lifeline-verify", "--help", CHECK_OPTIONS},
	{"lifeline-inspect.1", "lifeline-inspect", "--help", CHECK_OPTIONS},
	{"linktest.1", "linktest", "--help", CHECK_OPTIONS},
};
#define NPAGES (sizeof pages / sizeof pages[0])

/* Runs argv (NULL-terminated) with stdout and stderr into DIR/out.log;
 * returns the exit status (-1: could not start or killed) and the output
 * in *out (malloc'd, caller frees). */
static int run(const char *dir, const char *const argv[], char **out)
{
	char log[TU_PATH_MAX];
	snprintf(log, sizeof log, "%s/%s", dir, LOG_NAME);
	unlink(log);
	int st = -1;
	pid_t pid = tu_spawn(argv, log);
	if (pid > 0)
		CU_ASSERT_EQUAL_FATAL(tu_wait_exit(pid, RUN_MS, &st), 0);
	uint8_t *buf = NULL;
	size_t n = 0;
	if (tu_read_file(log, &buf, &n) != 0)
		buf = (uint8_t *)strdup("");
	CU_ASSERT_PTR_NOT_NULL_FATAL(buf);
	*out = (char *)buf;
	return pid > 0 && WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* Whether `sh -c 'command -v NAME'` finds name. */
static bool have(const char *dir, const char *name)
{
	char *out;
	int rc = run(dir, (const char *[]){"sh", "-c", "command -v \"$1\"", "sh", name, NULL}, &out);
	free(out);
	return rc == 0;
}

/* groff (and man, when check_man) on one page file: exit 0 and silent.
 * report: print what they said when not. */
static bool formats_cleanly(const char *dir, const char *path, bool check_man, bool report)
{
	char *out;
	int rc = run(dir, (const char *[]){"groff", "-man", "-Tutf8", "-ww", "-z", path, NULL}, &out);
	bool ok = rc == 0 && out[0] == '\0';
	if (!ok && report)
		fprintf(stderr, "\nman: groff -ww on %s: exit %d\n%s", path, rc, out);
	free(out);
	if (!check_man)
		return ok;
	rc = run(dir, (const char *[]){"sh", "-c", "man --warnings -E UTF-8 -l \"$1\" >/dev/null",
				       "sh", path, NULL}, &out);
	if (rc != 0 || out[0] != '\0') {
		if (report)
			fprintf(stderr, "\nman: man --warnings on %s: exit %d\n%s", path, rc, out);
		ok = false;
	}
	free(out);
	return ok;
}

/* The page source with roff escapes undone (\- -> -, \e -> \, font and
 * zero-width escapes dropped), so words compare as the reader sees them.
 * malloc'd; NULL if unreadable. */
static char *page_words(const char *path)
{
	uint8_t *src = NULL;
	size_t n = 0;
	if (tu_read_file(path, &src, &n) != 0)
		return NULL;
	char *out = malloc(n + 1), *o = out;
	if (!out) {
		free(src);
		return NULL;
	}
	for (size_t i = 0; i < n; i++) {
		if (src[i] != '\\' || i + 1 >= n) {
			*o++ = (char)src[i];
			continue;
		}
		char e = (char)src[++i];
		if (e == '-' || e == 'e')
			*o++ = e == '-' ? '-' : '\\';
		else if (e == 'f' && i + 1 < n)
			i++;            /* \fB \fI \fR \fP */
		else if (e != '&')
			*o++ = ' ';     /* anything else: a word boundary */
	}
	*o = '\0';
	free(src);
	return out;
}

static bool word_char(char c)
{
	return isalnum((unsigned char)c) || c == '_' || c == '-';
}

/* Whether word occurs in text with no word character on either side. */
static bool has_word(const char *text, const char *word)
{
	size_t wl = strlen(word);
	for (const char *p = strstr(text, word); p; p = strstr(p + 1, word))
		if ((p == text || !word_char(p[-1])) && !word_char(p[wl]))
			return true;
	return false;
}

/* A command word or an option: [-[-]]a-z then a-z 0-9 -. */
static bool is_term(const char *t)
{
	const char *p = t;
	while (*p == '-' && p - t < 2)
		p++;
	if (*p < 'a' || *p > 'z')
		return false;
	for (; *p; p++)
		if (!(*p >= 'a' && *p <= 'z') && !(*p >= '0' && *p <= '9') && *p != '-')
			return false;
	return true;
}

/* Checks every term of the span [s, end) against the page: tokens split
 * on spaces and [ ] | , ; a token starting with '(' ends the span (a
 * remark, not syntax).  options_only: only --words.  Returns how many
 * terms were checked; missing ones are asserted and printed. */
static size_t check_span(const char *s, const char *end, bool options_only, const char *page,
			 const struct page *pg, const char *what)
{
	size_t checked = 0;
	while (s < end) {
		while (s < end && strchr(" []|,=", *s))
			s++;
		const char *t = s;
		while (s < end && !strchr(" []|,=", *s))
			s++;
		if (t == s)
			continue;
		if (*t == '(')
			break;
		char w[WORD_MAX];
		size_t n = (size_t)(s - t) < sizeof w - 1 ? (size_t)(s - t) : sizeof w - 1;
		memcpy(w, t, n);
		w[n] = '\0';
		while (n > 0 && strchr(".:;", w[n - 1]))
			w[--n] = '\0';
		if (!is_term(w) || (options_only && strncmp(w, "--", 2) != 0))
			continue;
		checked++;
		bool ok = has_word(page, w);
		CU_ASSERT(ok);
		if (!ok)
			fprintf(stderr, "\nman: tools/man/%s does not mention '%s' (from %s)\n", pg->file, w,
				what);
	}
	return checked;
}

/* Every --option anywhere in the help text. */
static size_t check_options(const char *help, const char *page, const struct page *pg)
{
	size_t n = 0;
	for (const char *l = help; *l;) {
		const char *e = strchr(l, '\n');
		e = e ? e : l + strlen(l);
		n += check_span(l, e, true, page, pg, "its --help");
		l = *e ? e + 1 : e;
	}
	return n;
}

/* The syntax column of a ctl's help: the first line, and each indented
 * line up to the first run of two spaces after its text begins. */
static size_t check_commands(const char *help, const char *page, const struct page *pg)
{
	size_t n = 0;
	bool first = true;
	for (const char *l = help; *l;) {
		const char *e = strchr(l, '\n');
		e = e ? e : l + strlen(l);
		if (first || (l[0] == ' ' && l[1] == ' ')) {
			const char *s = l;
			while (s < e && *s == ' ')
				s++;
			const char *stop = strstr(s, "  ");
			n += check_span(s, stop && stop < e ? stop : e, false, page, pg, "its help");
		}
		first = false;
		l = *e ? e + 1 : e;
	}
	return n;
}

/* Every "key = " and "#key =" line of --print-config. */
static size_t check_keys(const char *conf, const char *page, const struct page *pg)
{
	size_t n = 0;
	for (const char *l = conf; *l;) {
		const char *e = strchr(l, '\n');
		e = e ? e : l + strlen(l);
		const char *k = l + (*l == '#');
		const char *p = k;
		while (p < e && (islower((unsigned char)*p) || *p == '_'))
			p++;
		if (p > k && p + 1 < e && p[0] == ' ' && p[1] == '=') {
			char w[WORD_MAX];
			snprintf(w, sizeof w, "%.*s", (int)(p - k), k);
			n++;
			bool ok = has_word(page, w);
			CU_ASSERT(ok);
			if (!ok)
				fprintf(stderr, "\nman: tools/man/%s does not mention key '%s' (from "
					"--print-config)\n", pg->file, w);
		}
		l = *e ? e + 1 : e;
	}
	return n;
}

static void test_format(void)
{
	char *dir = tu_tmpdir();
	CU_ASSERT_PTR_NOT_NULL_FATAL(dir);
	bool groff = have(dir, "groff"), man = have(dir, "man");
	if (!groff || !man) {
		fprintf(stderr, "\nman: %s missing: install the Debian packages groff-base and man-db\n",
			!groff ? "groff" : "man");
		CU_FAIL("groff or man missing (Debian: groff-base, man-db)");
	}
	if (groff) {
		/* The check can fail: an undefined macro makes groff -ww warn. */
		const char *bad = tu_path(dir, "bad.1");
		static const char text[] = ".TH BAD 1\n.SH NAME\nbad \\- broken\n.XX page\n";
		CU_ASSERT_EQUAL_FATAL(tu_write_file(bad, text, sizeof text - 1), 0);
		char path[TU_PATH_MAX];
		snprintf(path, sizeof path, "%s", bad);
		CU_ASSERT_FALSE(formats_cleanly(dir, path, man, false));
		for (size_t i = 0; i < NPAGES; i++) {
			char rel[TU_PATH_MAX];
			snprintf(rel, sizeof rel, "tools/man/%s", pages[i].file);
			snprintf(path, sizeof path, "%s", tu_src(rel));
			CU_ASSERT(formats_cleanly(dir, path, man, true));
		}
	}
	tu_rmrf(dir);
	free(dir);
}

static void test_words(void)
{
	char *dir = tu_tmpdir();
	CU_ASSERT_PTR_NOT_NULL_FATAL(dir);
	for (size_t i = 0; i < NPAGES; i++) {
		const struct page *pg = &pages[i];
		char rel[TU_PATH_MAX], prog[TU_PATH_MAX];
		snprintf(rel, sizeof rel, "tools/man/%s", pg->file);
		char *page = page_words(tu_src(rel));
		CU_ASSERT_PTR_NOT_NULL_FATAL(page);
		CU_ASSERT_FALSE(has_word(page, "no-such-word-anywhere"));
		snprintf(prog, sizeof prog, "%s", tu_build(pg->prog));
		char *help;
		int rc = run(dir, (const char *[]){prog, pg->help, NULL}, &help);
		CU_ASSERT(rc == 0 || rc == 2);   /* keygen, verify, linktest: usage exits 2 */
		size_t n = check_options(help, page, pg);
		CU_ASSERT(n >= 1);
		if (pg->checks & CHECK_COMMANDS)
			CU_ASSERT(check_commands(help, page, pg) >= CTL_WORDS_MIN);
		free(help);
		if (pg->checks & CHECK_KEYS) {
			char *conf;
			CU_ASSERT_EQUAL(run(dir, (const char *[]){prog, "--print-config", NULL}, &conf), 0);
			CU_ASSERT(check_keys(conf, page, pg) >= KEYS_MIN);
			free(conf);
		}
		free(page);
	}
	tu_rmrf(dir);
	free(dir);
}

void suite_man(void);
void suite_man(void)
{
	if (getenv("LIFELINE_NO_E2E"))   /* make valgrind: no child processes */
		return;
	CU_pSuite s = CU_add_suite("man", NULL, NULL);
	CU_add_test(s, "every page formats without a warning (groff -ww, man --warnings)", test_format);
	CU_add_test(s, "every command, option and key the programs list is in their page", test_words);
}

/*
 * vesselctl — the crew's and the captain's command line for vesseld.
 *
 *   vesselctl [--socket PATH] [--json] [--pin-file FILE] COMMAND ...   (vesselctl help)
 *
 * Sends the command words to vesseld's control socket and prints the
 * daemon's text answer (or its JSON with --json).  Crew commands (those
 * with --crew, and `crew set-pin ID --new-pin`) need the crew member's
 * PIN: read from the first line of --pin-file, or asked on the terminal
 * without echo, then sent as `--pin PIN` (never put on the command line,
 * where other users could see it in `ps`).  `--new-pin` without a value
 * (or "-") asks for the new PIN twice.
 * `complain` without a text reads it from standard input (a prompt on a
 * terminal) or from `--file FILE`, so it never shows in `ps`; vesselctl
 * wipes its copy after the call.
 * The socket is --socket, else $VESSELD_SOCKET, else
 * /run/lifeline/vesseld.sock when it exists, else ./vesseld.sock.
 * Exit status: the daemon's status (sysexits: 0 ok, 64 usage, 65 bad data,
 * 67 no such crew/contact, 69 complaints not set up, 75 over quota,
 * 77 wrong PIN/locked/not allowed); 69 (EX_UNAVAILABLE) when vesseld
 * cannot be reached, with what to do; 66 when the PIN cannot be read.
 */
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "common/ctl.h"
#include "proto/complaint.h"
#include "vessel/vctl.h"

#define EX_NOINPUT 66
#define SYSTEM_SOCKET "/run/lifeline/vesseld.sock"
#define PIN_LINE_MAX 64

/* Reads one line (without its end) from f into buf; false on EOF. */
static bool read_line(FILE *f, char *buf, size_t cap)
{
	if (!fgets(buf, (int)cap, f))
		return false;
	buf[strcspn(buf, "\r\n")] = '\0';
	return true;
}

/* Asks on the terminal with echo off. */
static bool ask(const char *prompt, char *buf, size_t cap)
{
	FILE *tty = fopen("/dev/tty", "r+");
	if (!tty)
		return false;
	struct termios old, quiet;
	int fd = fileno(tty);
	bool echo_off = tcgetattr(fd, &old) == 0;
	if (echo_off) {
		quiet = old;
		quiet.c_lflag &= ~(tcflag_t)ECHO;
		echo_off = tcsetattr(fd, TCSAFLUSH, &quiet) == 0;
	}
	fputs(prompt, tty);
	fflush(tty);
	bool ok = read_line(tty, buf, cap);
	if (echo_off)
		(void)tcsetattr(fd, TCSAFLUSH, &old);
	fputc('\n', tty);
	fclose(tty);
	return ok;
}

/* A complaint's text from path ("-": standard input, with a prompt on a
 * terminal) into buf: at most cap - 1 bytes, trailing newlines dropped.
 * Returns the length, or -1 (cannot read, or too long: *too_long). */
static long read_text(const char *path, char *buf, size_t cap, bool *too_long)
{
	bool std = strcmp(path, "-") == 0;
	FILE *f = std ? stdin : fopen(path, "r");
	*too_long = false;
	if (!f)
		return -1;
	if (std && isatty(fileno(stdin)))
		fputs("Write your complaint. Only the labour inspectors can read it.\n"
		      "End with an empty line and Ctrl-D:\n", stderr);
	size_t n = fread(buf, 1, cap - 1, f);
	*too_long = n == cap - 1 && fgetc(f) != EOF;
	bool err = ferror(f);
	if (!std)
		fclose(f);
	if (err || *too_long)
		return -1;
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
		n--;
	buf[n] = '\0';
	return (long)n;
}

/* Positional words of a complain request from argv[from] (its options all
 * take a value). */
static int complain_words(int argc, char **argv, int from)
{
	int w = 0;
	for (int k = from; k < argc; k++) {
		if (strcmp(argv[k], "--") == 0)
			return w + (argc - k - 1);
		if (strncmp(argv[k], "--", 2) == 0)
			k++;
		else
			w++;
	}
	return w;
}

static bool pin_from_file(const char *path, char *buf, size_t cap)
{
	FILE *f = fopen(path, "r");
	if (!f)
		return false;
	bool ok = read_line(f, buf, cap);
	fclose(f);
	return ok;
}

int main(int argc, char **argv)
{
	const char *sock = getenv("VESSELD_SOCKET"), *pin_file = NULL;
	bool json = false;
	int i = 1;
	for (; i < argc && strncmp(argv[i], "--", 2) == 0; i++) {
		if (strcmp(argv[i], "--json") == 0)
			json = true;
		else if (strcmp(argv[i], "--socket") == 0 && i + 1 < argc)
			sock = argv[++i];
		else if (strcmp(argv[i], "--pin-file") == 0 && i + 1 < argc)
			pin_file = argv[++i];
		else if (strcmp(argv[i], "--help") == 0)
			return fputs(vctl_usage, stdout), 0;
		else
			return fprintf(stderr, "vesselctl: unknown option %s\n%s", argv[i], vctl_usage), 64;
	}
	if (i == argc)
		return fputs(vctl_usage, stderr), 64;
	if (strcmp(argv[i], "help") == 0)
		return fputs(vctl_usage, stdout), 0;
	if (!sock || !*sock)
		sock = access(SYSTEM_SOCKET, F_OK) == 0 ? SYSTEM_SOCKET : "vesseld.sock";

	/* The request: the command words, the new PIN filled in, --pin added. */
	const char *args[CTL_ARGS_MAX + 1];
	int n = 0;
	bool has_crew = false, has_pin = false, complain = strcmp(argv[i], "complain") == 0;
	static char pin[PIN_LINE_MAX], new_pin[PIN_LINE_MAX], again[PIN_LINE_MAX];
	static char text[COMPLAINT_TEXT_MAX + 2];
	const char *text_file = NULL;
	int words = complain ? complain_words(argc, argv, i + 1) : 0;
	for (int k = i; k < argc; k++) {
		if (complain && strcmp(argv[k], "--file") == 0 && k + 1 < argc) {
			text_file = argv[++k];  /* read here: the daemon gets only the text */
			continue;
		}
		if (n >= (int)CTL_ARGS_MAX - 3)
			return fprintf(stderr, "vesselctl: too many words (at most %u)\n", CTL_ARGS_MAX - 3), 64;
		has_crew |= strcmp(argv[k], "--crew") == 0;
		has_pin |= strcmp(argv[k], "--pin") == 0;
		args[n++] = argv[k];
		if (strcmp(argv[k], "--new-pin") == 0) {
			has_crew = true;
			if (k + 1 < argc && strcmp(argv[k + 1], "-") != 0) {
				args[n++] = argv[++k];
				continue;
			}
			k += k + 1 < argc;      /* skip the "-" */
			if (!ask("New PIN: ", new_pin, sizeof new_pin) ||
			    !ask("New PIN again: ", again, sizeof again))
				return fprintf(stderr, "vesselctl: cannot read the new PIN from the terminal\n"), EX_NOINPUT;
			if (strcmp(new_pin, again) != 0)
				return fprintf(stderr, "vesselctl: the two new PINs differ; nothing changed\n"), 65;
			args[n++] = new_pin;
		}
	}
	if (has_crew && !has_pin) {
		bool ok = pin_file ? pin_from_file(pin_file, pin, sizeof pin) : ask("PIN: ", pin, sizeof pin);
		if (!ok) {
			fprintf(stderr, "vesselctl: cannot read your PIN%s%s. Run it on a terminal, or give "
				"--pin-file FILE.\n", pin_file ? " from " : "", pin_file ? pin_file : "");
			return EX_NOINPUT;
		}
		args[n++] = "--pin";
		args[n++] = pin;
	}
	/* Last: after "--" nothing is an option (the PIN goes before it). */
	if (complain && (text_file || words == 0)) {
		bool too_long;
		if (read_text(text_file ? text_file : "-", text, sizeof text, &too_long) < 0) {
			if (too_long)
				fprintf(stderr, "vesselctl: the complaint is too long (at most %u bytes); "
					"shorten it or send it as two complaints\n", COMPLAINT_TEXT_MAX);
			else
				fprintf(stderr, "vesselctl: cannot read the complaint from %s\n",
					text_file ? text_file : "the terminal");
			return too_long ? 65 : EX_NOINPUT;
		}
		args[n++] = "--";
		args[n++] = text;
	}
	args[n] = NULL;

	static const struct ctl_hint hint = {"vesseld", "systemctl start vesseld", "lifeline"};
	int status = ctl_client_run("vesselctl", sock, n, args, json, &hint);
	sodium_memzero(pin, sizeof pin);
	sodium_memzero(text, sizeof text);
	sodium_memzero(new_pin, sizeof new_pin);
	sodium_memzero(again, sizeof again);
	return status;
}

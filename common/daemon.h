/*
 * daemon.h — leaving the terminal: the classic double fork for vesseld and
 * shored when they are not run with --foreground (under systemd they are).
 */
#ifndef LIFELINE_COMMON_DAEMON_H
#define LIFELINE_COMMON_DAEMON_H

/*
 * Detaches from the terminal and the session (fork, setsid, fork), moves
 * to "/", points stdin, stdout and stderr at /dev/null and sends every
 * later log line to syslog(3) (facility daemon), so nothing is lost with
 * the terminal.  Returns 0 in the detached process; the parents exit 0.
 * On failure returns -1 in the caller with errno set (nothing detached, or
 * a half-detached process that must exit).
 */
int daemon_detach(void);

#endif

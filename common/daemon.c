/*
 * daemon.c — detaching vesseld and shored from the terminal (daemon.h).
 *
 * What it is for: an operator who starts a daemon by hand without
 * --foreground gets their shell back, and the daemon's log lines go to
 * syslog instead of a terminal that may vanish.  Under systemd the units
 * pass --foreground and journald reads stderr.
 *
 * Invariant: the detached process is not a session leader (second fork),
 * so opening a serial port can never make it acquire a controlling tty.
 * Failure behaviour: -1 with errno; the caller reports and exits.
 */
#include "common/daemon.h"

#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include "common/log.h"

int daemon_detach(void)
{
	pid_t pid = fork();
	if (pid < 0)
		return -1;
	if (pid > 0)
		_exit(0);
	if (setsid() < 0)
		return -1;
	if ((pid = fork()) < 0)
		return -1;
	if (pid > 0)
		_exit(0);
	if (chdir("/") < 0)
		return -1;
	int fd = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return -1;
	log_to_syslog();
	if (dup2(fd, STDIN_FILENO) < 0 || dup2(fd, STDOUT_FILENO) < 0 || dup2(fd, STDERR_FILENO) < 0)
		return -1;
	if (fd > STDERR_FILENO)
		close(fd);
	return 0;
}

/*
 * ptyshim.c — test-only LD_PRELOAD shim that lets libserialport open a
 * pseudo-terminal, so that the link's libserialport path runs in tests.
 *
 * Why: libserialport (0.1.1, Debian 12) refuses ptys twice.
 *   1. sp_get_port_by_name() looks the device up in sysfs: it lstat()s
 *      (through glibc's __lxstat in binaries built before glibc 2.33) and
 *      readlink()s /sys/class/tty/<name>, where <name> is the path after
 *      "/dev/".  A pty "/dev/pts/N" has no such entry ("pts/N" is not a
 *      sysfs name), so the lookup fails with "Device not found".
 *   2. sp_open() and the sp_set_*() calls read and write the modem lines
 *      (TIOCMGET, TIOCMSET, TIOCMBIS, TIOCMBIC) and, where built in, the
 *      serial_struct (TIOCGSERIAL); a pty answers ENOTTY/EINVAL.
 * The shim answers exactly those: lstat/__lxstat and readlink of
 * /sys/class/tty/pts/N as a symlink into a virtual device directory (no
 * "usb" or "bluetooth" in it, so libserialport treats it as a native port),
 * and the five ioctls on a pty (major 136..143 for slaves, 5:2 for
 * /dev/ptmx masters) as success with sane values: DTR, RTS, CTS, DSR and
 * DCD up, an unknown-type serial_struct.  Everything else passes through to
 * the real libc via dlsym(RTLD_NEXT).
 *
 * Invariants: a call the shim does not recognise behaves exactly as
 * without the shim; the shim keeps no state other than the resolved libc
 * symbols.  Failure: if a libc symbol cannot be resolved, the call fails
 * with ENOSYS.
 *
 * Never linked into a daemon: the Makefile builds it as $(BUILD)/ptyshim.so
 * for tests only.  ptyshim_answered() tells a test (through dlsym) how
 * many calls the shim answered, proving that the shim was in the path.
 */
#include <dlfcn.h>
#include <errno.h>
#include <linux/serial.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <termios.h>
#include <unistd.h>

#define SYSFS_PTS_PREFIX "/sys/class/tty/pts/"
/* Where the fake sysfs link points; "virtual" like a real pty's class. */
#define SYSFS_PTS_TARGET "../../devices/virtual/tty/ptyshim"
#define PTY_SLAVE_MAJOR_FIRST 136u   /* UNIX98_PTY_SLAVE_MAJOR */
#define PTY_SLAVE_MAJOR_LAST 143u    /* ... + UNIX98_PTY_MAJOR_COUNT - 1 */
#define TTYAUX_MAJOR 5u              /* /dev/ptmx is 5:2 */
#define PTMX_MINOR 2u
#define FAKE_LINK_MODE 0777u

/* Modem lines a cabled, powered modem would show. */
#define FAKE_MODEM_LINES (TIOCM_DTR | TIOCM_RTS | TIOCM_CTS | TIOCM_DSR | TIOCM_CD)

static unsigned long answered;

/* The number of calls the shim answered instead of libc (for a test). */
unsigned long ptyshim_answered(void);
unsigned long ptyshim_answered(void)
{
	return answered;
}

/* Stores the next definition of name into the function pointer at fnp
 * (dlsym returns an object pointer; ISO C has no cast to a function
 * pointer, POSIX guarantees the representation is the same). */
static int next_sym(void *fnp, size_t fnp_bytes, const char *name)
{
	void *p = dlsym(RTLD_NEXT, name);
	if (!p || fnp_bytes != sizeof p) {
		errno = ENOSYS;
		return -1;
	}
	memcpy(fnp, &p, sizeof p);
	return 0;
}
#define NEXT(fn, name) next_sym(&(fn), sizeof(fn), (name))

static int is_sysfs_pts(const char *path)
{
	size_t n = strlen(SYSFS_PTS_PREFIX);
	if (!path || strncmp(path, SYSFS_PTS_PREFIX, n) != 0)
		return 0;
	const char *p = path + n;
	if (*p == '\0')
		return 0;
	for (; *p; p++)
		if (*p < '0' || *p > '9')
			return 0;
	return 1;
}

static void fake_link_stat(struct stat *st)
{
	memset(st, 0, sizeof *st);
	st->st_mode = S_IFLNK | FAKE_LINK_MODE;
	st->st_nlink = 1;
	st->st_size = (off_t)strlen(SYSFS_PTS_TARGET);
}

static int fd_is_pty(int fd)
{
	struct stat st;
	if (fstat(fd, &st) != 0 || !S_ISCHR(st.st_mode))
		return 0;
	unsigned maj = major(st.st_rdev), min = minor(st.st_rdev);
	if (maj >= PTY_SLAVE_MAJOR_FIRST && maj <= PTY_SLAVE_MAJOR_LAST)
		return 1;
	return maj == TTYAUX_MAJOR && min == PTMX_MINOR;
}

int __lxstat(int ver, const char *path, struct stat *st);
int __lxstat(int ver, const char *path, struct stat *st)
{
	if (is_sysfs_pts(path) && st) {
		fake_link_stat(st);
		answered++;
		return 0;
	}
	int (*real)(int, const char *, struct stat *);
	if (NEXT(real, "__lxstat") != 0)
		return -1;
	return real(ver, path, st);
}

int lstat(const char *restrict path, struct stat *restrict st)
{
	if (is_sysfs_pts(path)) {
		fake_link_stat(st);
		answered++;
		return 0;
	}
	int (*real)(const char *, struct stat *);
	if (NEXT(real, "lstat") != 0)
		return -1;
	return real(path, st);
}

ssize_t readlink(const char *restrict path, char *restrict buf, size_t cap)
{
	if (is_sysfs_pts(path)) {
		size_t n = strlen(SYSFS_PTS_TARGET);
		if (n > cap)
			n = cap;
		memcpy(buf, SYSFS_PTS_TARGET, n);
		answered++;
		return (ssize_t)n;
	}
	ssize_t (*real)(const char *, char *, size_t);
	if (NEXT(real, "readlink") != 0)
		return -1;
	return real(path, buf, cap);
}

/* glibc declares ioctl(int, unsigned long, ...); the argument is a pointer
 * for every request the shim answers. */
int ioctl(int fd, unsigned long req, ...)
{
	va_list ap;
	va_start(ap, req);
	void *arg = va_arg(ap, void *);
	va_end(ap);

	switch (req) {
	case TIOCMGET:
		if (fd_is_pty(fd)) {
			if (arg)
				*(int *)arg = FAKE_MODEM_LINES;
			answered++;
			return 0;
		}
		break;
	case TIOCMSET:
	case TIOCMBIS:
	case TIOCMBIC:
		if (fd_is_pty(fd)) {
			answered++;
			return 0;
		}
		break;
	case TIOCGSERIAL:
		if (fd_is_pty(fd)) {
			if (arg) {
				struct serial_struct *ss = arg;
				memset(ss, 0, sizeof *ss);
				ss->type = PORT_UNKNOWN;
				ss->line = 0;
				ss->baud_base = 115200;
				ss->xmit_fifo_size = 16;
			}
			answered++;
			return 0;
		}
		break;
	default:
		break;
	}
	int (*real)(int, unsigned long, ...);
	if (NEXT(real, "ioctl") != 0)
		return -1;
	return real(fd, req, arg);
}

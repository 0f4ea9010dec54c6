/*
 * link_serial.c — the serial driver: a transparent byte pipe through a
 * serial port (satellite terminal in data mode, Iridium circuit-switched
 * data), framed by the stream helper of link.c.
 *
 * Two ways to open a device:
 *  - libserialport for real ports (sp_get_port_by_name, sp_open, 8N1, the
 *    rate and flow control from the spec, sp_nonblocking_read/write on the
 *    fd from sp_get_port_handle, which the loop polls);
 *  - plain termios for pseudo-terminals, which libserialport refuses (it
 *    looks the device up in sysfs and fails on the modem-line ioctls; its
 *    maintainers declined pty support) and which serial-over-IP bridges
 *    present: open(O_RDWR|O_NOCTTY|O_NONBLOCK), cfmakeraw, VMIN 1,
 *    cfsetspeed.  A pty is a device whose resolved path is under /dev/pts/
 *    or whose major number is 136..143 (Unix98 pty slaves).
 * driver=termios|libserialport in the spec forces one way (tests run the
 * libserialport path over a pty through tests/shim/ptyshim.c).
 *
 * Invariants: while up, l->fd is the open device and watched; the path is
 * resolved (symlinks such as /dev/serial/by-id/...) at every open, so a
 * re-plugged adapter that got a new name behind the same link is found.
 *
 * Failure behaviour: a device that is missing, busy or not a tty fails the
 * open with the OS's reason (the core retries with backoff).  A vanished
 * device (EIO, ENXIO, ENODEV, hang-up, end of stream on a pty whose other
 * end closed) is reported as ERR_CLOSED by read/write and the core takes
 * the link down and reopens it.
 */
#include "common/link_impl.h"

#include <errno.h>
#include <fcntl.h>
#include <libserialport.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <termios.h>
#include <unistd.h>

#define PTY_SLAVE_MAJOR_FIRST 136u   /* UNIX98_PTY_SLAVE_MAJOR */
#define PTY_SLAVE_MAJOR_LAST 143u    /* ... + UNIX98_PTY_MAJOR_COUNT - 1 */
#define DEV_PTS_PREFIX "/dev/pts/"
#define SERIAL_DATA_BITS 8
#define SERIAL_STOP_BITS 1

struct serial_drv {
	struct sp_port *sp;          /* NULL on the termios path */
};

static speed_t speed_for(uint32_t baud)
{
	switch (baud) {
	case 300: return B300;
	case 600: return B600;
	case 1200: return B1200;
	case 2400: return B2400;
	case 4800: return B4800;
	case 9600: return B9600;
	case 19200: return B19200;
	case 38400: return B38400;
	case 57600: return B57600;
	case 115200: return B115200;
	case 230400: return B230400;
	case 460800: return B460800;
	case 921600: return B921600;
	default: return B0;
	}
}

/* A vanished device reads as one of these. */
static bool errno_gone(int e)
{
	return e == EIO || e == ENXIO || e == ENODEV || e == EBADF;
}

static ssize_t errno_code(int e)
{
	if (e == EAGAIN || e == EWOULDBLOCK || e == EINTR)
		return ERR_AGAIN;
	return errno_gone(e) ? ERR_CLOSED : ERR_IO;
}

/* Resolves path into real (PATH_MAX bytes) and says whether it is a pty. */
static int resolve(const char *path, char *real, bool *pty, char *why, size_t cap)
{
	if (!realpath(path, real)) {
		link_why(why, cap, "%s: %s", path, strerror(errno));
		return errno == ENOENT ? ERR_NOTFOUND : ERR_IO;
	}
	struct stat st;
	if (stat(real, &st) != 0) {
		link_why(why, cap, "%s: %s", real, strerror(errno));
		return ERR_IO;
	}
	if (!S_ISCHR(st.st_mode)) {
		link_why(why, cap, "%s is not a character device", real);
		return ERR_INVAL;
	}
	unsigned maj = major(st.st_rdev);
	*pty = strncmp(real, DEV_PTS_PREFIX, strlen(DEV_PTS_PREFIX)) == 0 ||
	       (maj >= PTY_SLAVE_MAJOR_FIRST && maj <= PTY_SLAVE_MAJOR_LAST);
	return 0;
}

static int open_termios(struct link *l, const char *real, char *why, size_t cap)
{
	int fd = open(real, O_RDWR | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0) {
		link_why(why, cap, "%s: %s", real, strerror(errno));
		return ERR_IO;
	}
	struct termios t;
	if (!isatty(fd) || tcgetattr(fd, &t) != 0) {
		link_why(why, cap, "%s is not a terminal", real);
		close(fd);
		return ERR_INVAL;
	}
	cfmakeraw(&t);
	t.c_cflag |= (tcflag_t)(CLOCAL | CREAD);
	t.c_cflag &= (tcflag_t)~CRTSCTS;
	if (l->spec.rtscts)
		t.c_cflag |= (tcflag_t)CRTSCTS;
	t.c_cc[VMIN] = 1;    /* with O_NONBLOCK an empty read is EAGAIN, 0 means hang-up */
	t.c_cc[VTIME] = 0;
	if (cfsetspeed(&t, speed_for(l->spec.baud)) != 0 || tcsetattr(fd, TCSANOW, &t) != 0) {
		link_why(why, cap, "%s: cannot set %u baud raw mode: %s", real,
			 (unsigned)l->spec.baud, strerror(errno));
		close(fd);
		return ERR_IO;
	}
	l->fd = fd;
	return 0;
}

/* Copies libserialport's last error into why and frees it. */
static void sp_why(char *why, size_t cap, const char *what, const char *real)
{
	char *msg = sp_last_error_message();
	link_why(why, cap, "%s: libserialport %s: %s", real, what, msg ? msg : "failed");
	sp_free_error_message(msg);
}

static int open_libserialport(struct link *l, struct serial_drv *d, const char *real,
			      char *why, size_t cap)
{
	if (sp_get_port_by_name(real, &d->sp) != SP_OK) {
		sp_why(why, cap, "lookup", real);
		d->sp = NULL;
		return ERR_IO;
	}
	if (sp_open(d->sp, SP_MODE_READ_WRITE) != SP_OK) {
		sp_why(why, cap, "open", real);
		goto fail_free;
	}
	if (sp_set_baudrate(d->sp, (int)l->spec.baud) != SP_OK ||
	    sp_set_bits(d->sp, SERIAL_DATA_BITS) != SP_OK ||
	    sp_set_parity(d->sp, SP_PARITY_NONE) != SP_OK ||
	    sp_set_stopbits(d->sp, SERIAL_STOP_BITS) != SP_OK ||
	    sp_set_flowcontrol(d->sp, l->spec.rtscts ? SP_FLOWCONTROL_RTSCTS : SP_FLOWCONTROL_NONE) != SP_OK) {
		sp_why(why, cap, "configure", real);
		goto fail_close;
	}
	int fd = -1;
	if (sp_get_port_handle(d->sp, &fd) != SP_OK || fd < 0) {
		sp_why(why, cap, "handle", real);
		goto fail_close;
	}
	l->fd = fd;
	return 0;
fail_close:
	(void)sp_close(d->sp);
fail_free:
	sp_free_port(d->sp);
	d->sp = NULL;
	return ERR_IO;
}

static void serial_close(struct link *l)
{
	struct serial_drv *d = l->drv;
	link_unwatch(l);
	if (d && d->sp) {
		(void)sp_close(d->sp);
		sp_free_port(d->sp);
	} else if (l->fd >= 0) {
		close(l->fd);
	}
	l->fd = -1;
	free(d);
	l->drv = NULL;
}

static int serial_open(struct link *l, char *why, size_t cap)
{
	char real[PATH_MAX];
	bool pty = false;
	int rc = resolve(l->spec.path, real, &pty, why, cap);
	if (rc < 0)
		return rc;
	struct serial_drv *d = calloc(1, sizeof *d);
	if (!d) {
		link_why(why, cap, "out of memory");
		return ERR_NOMEM;
	}
	l->drv = d;
	bool use_sp = l->spec.driver == LINK_SERIAL_LIBSERIALPORT ||
		      (l->spec.driver == LINK_SERIAL_AUTO && !pty);
	rc = use_sp ? open_libserialport(l, d, real, why, cap) : open_termios(l, real, why, cap);
	if (rc == 0) {
		rc = link_watch(l, POLLIN);
		if (rc < 0)
			link_why(why, cap, "cannot watch %s: %s", real, err_str(rc));
	}
	if (rc < 0) {
		serial_close(l);
		return rc;
	}
	log_info("%s: opened %s with %s, %u baud 8N1, flow %s", l->name, real,
		 use_sp ? "libserialport" : "termios", (unsigned)l->spec.baud,
		 l->spec.rtscts ? "rtscts" : "none");
	return 0;
}

static ssize_t serial_read(struct link *l, uint8_t *buf, size_t cap)
{
	struct serial_drv *d = l->drv;
	if (d && d->sp) {
		errno = 0;
		int r = sp_nonblocking_read(d->sp, buf, cap);
		if (r > 0)
			return r;
		if (r == 0)   /* libserialport maps EAGAIN to 0 and leaves errno */
			return errno == EAGAIN ? ERR_AGAIN : 0;
		return errno_code(errno);
	}
	ssize_t n = read(l->fd, buf, cap);
	if (n >= 0)
		return n;
	return errno_code(errno);
}

static ssize_t serial_write(struct link *l, const uint8_t *buf, size_t len)
{
	struct serial_drv *d = l->drv;
	if (d && d->sp) {
		errno = 0;
		int r = sp_nonblocking_write(d->sp, buf, len);
		if (r > 0)
			return r;
		if (r == 0)
			return ERR_AGAIN;
		return errno_code(errno);
	}
	ssize_t n = write(l->fd, buf, len);
	if (n >= 0)
		return n;
	return errno_code(errno);
}

const struct link_ops link_serial_ops = {
	.kind = "serial",
	.open = serial_open,
	.close = serial_close,
	.send_unit = link_stream_send_unit,
	.mtu = link_stream_mtu,
	.on_events = link_stream_on_events,
	.read_bytes = serial_read,
	.write_bytes = serial_write,
};

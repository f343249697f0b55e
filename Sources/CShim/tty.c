#define _GNU_SOURCE
#include "internal.h"

#include <sys/ioctl.h>
#include <termios.h>
/* Terminal helpers for `run -t` and `exec -t` (ioctl and termios are variadic or macro-heavy for Swift). */
int sr_winsize_get(int fd, unsigned short *rows, unsigned short *cols) {
    struct winsize ws;
    if (ioctl(fd, TIOCGWINSZ, &ws) < 0) return -errno;
    *rows = ws.ws_row;
    *cols = ws.ws_col;
    return 0;
}

int sr_winsize_set(int fd, unsigned short rows, unsigned short cols) {
    struct winsize ws = { .ws_row = rows, .ws_col = cols };
    return ioctl(fd, TIOCSWINSZ, &ws) < 0 ? -errno : 0;
}

static struct termios saved_termios;
static int saved_termios_fd = -1;

/* Raw mode on fd (the user's terminal): bytes such as ^C reach the container's pty, whose
 * line discipline turns them into signals. sr_tty_restore puts the saved mode back. */
int sr_tty_raw(int fd) {
    struct termios t;
    if (tcgetattr(fd, &t) < 0) return -errno;
    saved_termios = t;
    saved_termios_fd = fd;
    cfmakeraw(&t);
    return tcsetattr(fd, TCSADRAIN, &t) < 0 ? -errno : 0;
}

void sr_tty_restore(void) {
    if (saved_termios_fd >= 0) tcsetattr(saved_termios_fd, TCSADRAIN, &saved_termios);
    saved_termios_fd = -1;
}


/* Sending one fd with a message over a unix socket (SCM_RIGHTS). Header-only: used by the
 * shim and by the static swiftrun-init alike. */
#ifndef SR_FDPASS_H
#define SR_FDPASS_H

#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

static inline ssize_t sr_send_with_fd(int sock, const void *data, size_t len, int fd) {
    struct iovec iov = { (void *)data, len };
    union { struct cmsghdr h; char space[CMSG_SPACE(sizeof(int))]; } cm;
    memset(&cm, 0, sizeof cm);
    struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = &cm, .msg_controllen = sizeof cm };
    struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int));
    memcpy(CMSG_DATA(c), &fd, sizeof(int));
    ssize_t n;
    do n = sendmsg(sock, &msg, 0); while (n < 0 && errno == EINTR);
    return n;
}

/* One recvmsg (EINTR retried): the bytes there are, and into *fd the first fd that came
 * with them (CLOEXEC), if *fd is still -1. Returns the count, 0 at EOF, or -errno. */
static inline ssize_t sr_recv_once(int sock, void *data, size_t len, int *fd) {
    struct iovec iov = { data, len };
    union { struct cmsghdr h; char space[CMSG_SPACE(sizeof(int))]; } cm;
    memset(&cm, 0, sizeof cm);
    struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = &cm, .msg_controllen = sizeof cm };
    ssize_t n;
    do n = recvmsg(sock, &msg, MSG_CMSG_CLOEXEC); while (n < 0 && errno == EINTR);
    if (n < 0) return -errno;
    for (struct cmsghdr *c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c))
        if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS && *fd < 0) memcpy(fd, CMSG_DATA(c), sizeof(int));
    return n;
}

/* Exactly len bytes, and the fd that came with them (*fd -1 if none). Returns len, 0 at
 * EOF before any byte, -EPROTO at EOF within, or -errno. */
static inline ssize_t sr_recv_exact(int sock, void *data, size_t len, int *fd) {
    size_t got = 0;
    *fd = -1;
    while (got < len) {
        ssize_t n = sr_recv_once(sock, (char *)data + got, len - got, fd);
        if (n < 0) return n;
        if (n == 0) return got == 0 ? 0 : -EPROTO;
        got += (size_t)n;
    }
    return (ssize_t)len;
}

#endif

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

/* Receives exactly len bytes that came with one fd (CLOEXEC): the fd, or -1 with errno. */
static inline int sr_recv_with_fd(int sock, void *data, size_t len) {
    struct iovec iov = { data, len };
    union { struct cmsghdr h; char space[CMSG_SPACE(sizeof(int))]; } cm;
    memset(&cm, 0, sizeof cm);
    struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = &cm, .msg_controllen = sizeof cm };
    ssize_t n;
    do n = recvmsg(sock, &msg, MSG_CMSG_CLOEXEC | MSG_WAITALL); while (n < 0 && errno == EINTR);
    if (n < 0) return -1;
    int fd = -1;
    for (struct cmsghdr *c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c))
        if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS && fd < 0) memcpy(&fd, CMSG_DATA(c), sizeof(int));
    if ((size_t)n != len || fd < 0) {
        if (fd >= 0) close(fd);
        errno = EPROTO;
        return -1;
    }
    return fd;
}

#endif

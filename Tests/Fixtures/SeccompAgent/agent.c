#define _GNU_SOURCE
#include "seccomp_agent.h"

#include <errno.h>
#include <string.h>
#include <sys/ioctl.h>
#include <linux/seccomp.h>

/* The agent's side of SCMP_ACT_NOTIFY (what the tests run at listenerPath): takes one
 * notification from the listener fd and answers it with -err, or with success and 0 when
 * err is 0. *nr gets the syscall number. Returns 0 or -errno. */
int sr_seccomp_answer(int listener, int err, int *nr) {
    struct seccomp_notif req;
    struct seccomp_notif_resp resp;
    memset(&req, 0, sizeof req);
    if (ioctl(listener, SECCOMP_IOCTL_NOTIF_RECV, &req) < 0) return -errno;
    *nr = req.data.nr;
    memset(&resp, 0, sizeof resp);
    resp.id = req.id;
    resp.error = -err;
    if (ioctl(listener, SECCOMP_IOCTL_NOTIF_SEND, &resp) < 0) return -errno;
    return 0;
}


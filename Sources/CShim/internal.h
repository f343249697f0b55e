/* What the shim's files share and Swift never sees: _GNU_SOURCE first (O_PATH, pipe2,
 * sigabbrev_np), the headers every file uses, and raw(), the only way a clone child of this
 * multithreaded process may call the kernel. */
#ifndef SR_SHIM_INTERNAL_H
#define SR_SHIM_INTERNAL_H
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "shim.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

static inline long raw(long nr, long a, long b, long c, long d, long e) {
    return syscall(nr, a, b, c, d, e);
}

#endif

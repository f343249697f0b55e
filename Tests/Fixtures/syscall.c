/* syscall NR [ARG...]: makes one raw syscall and prints its errno ("0" on success).
   Tests use it to see what a seccomp filter returns for syscalls busybox never makes. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

int main(int argc, char **argv) {
    if (argc < 2) { fprintf(stderr, "usage: syscall NR [ARG...]\n"); return 2; }
    long a[6] = {0};
    for (int i = 2; i < argc && i < 8; i++) a[i - 2] = strtol(argv[i], NULL, 0);
    long rc = syscall(strtol(argv[1], NULL, 0), a[0], a[1], a[2], a[3], a[4], a[5]);
    printf("%d\n", rc < 0 ? errno : 0);
    return 0;
}

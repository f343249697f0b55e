/* rtnetlink, the few requests a bridge network needs (what `ip link/addr/route` would do,
 * without a fork and exec per step). Every call returns 0 or -errno (the kernel's ack). */
#ifndef SR_NETLINK_H
#define SR_NETLINK_H

#include <stdint.h>

/* socket(2) (CLOEXEC) in the network namespace netns_fd names (the calling thread enters
 * it and comes back), or here when netns_fd < 0. Returns the fd or -errno. */
int sr_socket_in(int netns_fd, int domain, int type, int protocol);
/* accept4(NONBLOCK, CLOEXEC): Glibc for Swift lacks accept4. */
int sr_accept_nb(int fd);
/* A NETLINK_ROUTE socket (CLOEXEC) in the caller's network namespace, or in the one
 * netns_fd names (>= 0): the calling thread enters it, opens the socket, and returns. */
int sr_nl_open(int netns_fd);
/* A bridge; -EEXIST when it is there. */
int sr_nl_bridge_add(int nl, const char *name);
/* A veth pair: `host` stays here, `peer` is created directly in peer_netns_fd. */
int sr_nl_veth_add(int nl, const char *host, const char *peer, int peer_netns_fd, unsigned mtu);
/* Up (1) or down (0); master_index > 0 enslaves to a bridge. */
int sr_nl_link_set(int nl, int index, int up, int master_index);
int sr_nl_link_del(int nl, int index);
/* IPv4 address (network byte order) with prefix length. */
int sr_nl_addr4_add(int nl, int index, uint32_t addr, int prefix);
/* IPv4 default route via gw (network byte order) out of index. */
int sr_nl_route4_default(int nl, uint32_t gw, int index);
/* if_nametoindex in the socket's namespace: -ENODEV when there is none. */
int sr_nl_link_index(int nl, const char *name);

#endif

#define _GNU_SOURCE
#include "sr_netlink.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_bridge.h>
#include <linux/if_link.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/veth.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

struct req {
    struct nlmsghdr h;
    char buf[1024];
};

static void *tail(struct req *r) { return (char *)r + NLMSG_ALIGN(r->h.nlmsg_len); }

static int put(struct req *r, unsigned short type, const void *data, size_t len) {
    /* Kept aligned: a nest's length is measured up to the aligned end. */
    size_t need = NLMSG_ALIGN(r->h.nlmsg_len) + RTA_ALIGN(RTA_LENGTH(len));
    if (need > sizeof(*r)) return -EMSGSIZE;
    struct rtattr *a = tail(r);
    a->rta_type = type;
    a->rta_len = RTA_LENGTH(len);
    memset(RTA_DATA(a), 0, RTA_ALIGN(RTA_LENGTH(len)) - RTA_LENGTH(0));
    if (len) memcpy(RTA_DATA(a), data, len);
    r->h.nlmsg_len = need;
    return 0;
}

static struct rtattr *nest(struct req *r, unsigned short type) {
    struct rtattr *a = tail(r);
    if (put(r, type | NLA_F_NESTED, NULL, 0) < 0) return NULL;
    return a;
}

static void end(struct req *r, struct rtattr *a) { a->rta_len = (unsigned short)((char *)tail(r) - (char *)a); }

static void init(struct req *r, unsigned short type, unsigned short flags, const void *body, size_t len) {
    memset(r, 0, sizeof(*r));
    r->h.nlmsg_type = type;
    r->h.nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK | flags;
    r->h.nlmsg_len = NLMSG_LENGTH(len);
    memcpy(NLMSG_DATA(&r->h), body, len);
}

/* Sends one request and reads its ack (the error field: 0 or -errno). */
static int talk(int nl, struct req *r) {
    static unsigned seq;
    r->h.nlmsg_seq = ++seq;
    struct sockaddr_nl sa = {.nl_family = AF_NETLINK};
    if (sendto(nl, r, r->h.nlmsg_len, 0, (struct sockaddr *)&sa, sizeof(sa)) < 0) return -errno;
    char buf[8192];
    for (;;) {
        ssize_t n = recv(nl, buf, sizeof(buf), 0);
        if (n < 0) {
            if (errno == EINTR) continue;
            return -errno;
        }
        for (struct nlmsghdr *h = (struct nlmsghdr *)buf; NLMSG_OK(h, (unsigned)n); h = NLMSG_NEXT(h, n)) {
            if (h->nlmsg_seq != r->h.nlmsg_seq) continue;
            if (h->nlmsg_type == NLMSG_ERROR) return ((struct nlmsgerr *)NLMSG_DATA(h))->error;
        }
    }
}

int sr_socket_in(int netns_fd, int domain, int type, int protocol) {
    int orig = -1;
    if (netns_fd >= 0) {
        orig = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
        if (orig < 0) return -errno;
        if (setns(netns_fd, CLONE_NEWNET) < 0) {
            int e = errno;
            close(orig);
            return -e;
        }
    }
    int fd = socket(domain, type | SOCK_CLOEXEC, protocol);
    int e = errno;
    if (orig >= 0) {
        /* Back where we were. A thread left in the container's netns would make every later
         * host-side socket, netlink request and nft run there: stop rather than go on. */
        if (setns(orig, CLONE_NEWNET) < 0) abort();
        close(orig);
    }
    return fd < 0 ? -e : fd;
}

int sr_nl_open(int netns_fd) {
    int fd = sr_socket_in(netns_fd, AF_NETLINK, SOCK_RAW, NETLINK_ROUTE);
    if (fd < 0) return fd;
    struct sockaddr_nl sa = {.nl_family = AF_NETLINK};
    if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
        int e = errno;
        close(fd);
        return -e;
    }
    return fd;
}

int sr_nl_bridge_add(int nl, const char *name) {
    struct req r;
    struct ifinfomsg ifi = {.ifi_family = AF_UNSPEC};
    init(&r, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL, &ifi, sizeof(ifi));
    if (put(&r, IFLA_IFNAME, name, strlen(name) + 1) < 0) return -EMSGSIZE;
    struct rtattr *li = nest(&r, IFLA_LINKINFO);
    if (!li || put(&r, IFLA_INFO_KIND, "bridge", 7) < 0) return -EMSGSIZE;
    end(&r, li);
    return talk(nl, &r);
}

int sr_nl_veth_add(int nl, const char *host, const char *peer, int peer_netns_fd, unsigned mtu) {
    struct req r;
    struct ifinfomsg ifi = {.ifi_family = AF_UNSPEC};
    init(&r, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL, &ifi, sizeof(ifi));
    if (put(&r, IFLA_IFNAME, host, strlen(host) + 1) < 0) return -EMSGSIZE;
    if (mtu && put(&r, IFLA_MTU, &mtu, sizeof(mtu)) < 0) return -EMSGSIZE;
    struct rtattr *li = nest(&r, IFLA_LINKINFO);
    if (!li || put(&r, IFLA_INFO_KIND, "veth", 5) < 0) return -EMSGSIZE;
    struct rtattr *data = nest(&r, IFLA_INFO_DATA);
    if (!data) return -EMSGSIZE;
    struct rtattr *p = nest(&r, VETH_INFO_PEER);
    if (!p) return -EMSGSIZE;
    /* The peer's ifinfomsg comes first in VETH_INFO_PEER, then its attributes. */
    struct ifinfomsg pifi = {.ifi_family = AF_UNSPEC};
    if (NLMSG_ALIGN(r.h.nlmsg_len) + NLMSG_ALIGN(sizeof(pifi)) > sizeof(r)) return -EMSGSIZE;
    memcpy(tail(&r), &pifi, sizeof(pifi));
    r.h.nlmsg_len = NLMSG_ALIGN(r.h.nlmsg_len) + NLMSG_ALIGN(sizeof(pifi));
    if (put(&r, IFLA_IFNAME, peer, strlen(peer) + 1) < 0) return -EMSGSIZE;
    if (mtu && put(&r, IFLA_MTU, &mtu, sizeof(mtu)) < 0) return -EMSGSIZE;
    if (peer_netns_fd >= 0) {
        uint32_t nsfd = (uint32_t)peer_netns_fd;
        if (put(&r, IFLA_NET_NS_FD, &nsfd, sizeof(nsfd)) < 0) return -EMSGSIZE;
    }
    end(&r, p);
    end(&r, data);
    end(&r, li);
    return talk(nl, &r);
}

int sr_nl_link_set(int nl, int index, int up, int master_index) {
    struct req r;
    struct ifinfomsg ifi = {.ifi_family = AF_UNSPEC, .ifi_index = index, .ifi_change = IFF_UP,
                            .ifi_flags = up ? IFF_UP : 0};
    init(&r, RTM_NEWLINK, 0, &ifi, sizeof(ifi));
    if (master_index > 0) {
        uint32_t m = (uint32_t)master_index;
        if (put(&r, IFLA_MASTER, &m, sizeof(m)) < 0) return -EMSGSIZE;
    }
    return talk(nl, &r);
}

int sr_nl_link_del(int nl, int index) {
    struct req r;
    struct ifinfomsg ifi = {.ifi_family = AF_UNSPEC, .ifi_index = index};
    init(&r, RTM_DELLINK, 0, &ifi, sizeof(ifi));
    return talk(nl, &r);
}

int sr_nl_addr4_add(int nl, int index, uint32_t addr, int prefix) {
    struct req r;
    struct ifaddrmsg ifa = {.ifa_family = AF_INET, .ifa_prefixlen = (unsigned char)prefix,
                            .ifa_scope = RT_SCOPE_UNIVERSE, .ifa_index = (unsigned)index};
    init(&r, RTM_NEWADDR, NLM_F_CREATE | NLM_F_EXCL, &ifa, sizeof(ifa));
    if (put(&r, IFA_LOCAL, &addr, 4) < 0 || put(&r, IFA_ADDRESS, &addr, 4) < 0) return -EMSGSIZE;
    if (prefix < 31) {
        uint32_t host = prefix == 0 ? 0xffffffffu : (1u << (32 - prefix)) - 1;
        uint32_t bcast = addr | __builtin_bswap32(host);
        if (put(&r, IFA_BROADCAST, &bcast, 4) < 0) return -EMSGSIZE;
    }
    return talk(nl, &r);
}

int sr_nl_route4_default(int nl, uint32_t gw, int index) {
    struct req r;
    struct rtmsg rt = {.rtm_family = AF_INET, .rtm_table = RT_TABLE_MAIN, .rtm_protocol = RTPROT_BOOT,
                       .rtm_scope = RT_SCOPE_UNIVERSE, .rtm_type = RTN_UNICAST};
    init(&r, RTM_NEWROUTE, NLM_F_CREATE | NLM_F_EXCL, &rt, sizeof(rt));
    uint32_t oif = (uint32_t)index;
    if (put(&r, RTA_GATEWAY, &gw, 4) < 0 || put(&r, RTA_OIF, &oif, 4) < 0) return -EMSGSIZE;
    return talk(nl, &r);
}

int sr_nl_link_index(int nl, const char *name) {
    /* SIOCGIFINDEX on the netlink socket answers for the socket's namespace. */
    struct ifreq ifr;
    memset(&ifr, 0, sizeof(ifr));
    if (strlen(name) >= IFNAMSIZ) return -EINVAL;
    strcpy(ifr.ifr_name, name);
    if (ioctl(nl, SIOCGIFINDEX, &ifr) < 0) return -errno;
    return ifr.ifr_ifindex;
}

int sr_accept_nb(int fd) { return accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC); }

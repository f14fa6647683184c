// Address changes from the kernel, for pkg/udp/address-watch.ts (and route changes, below): a NETLINK_ROUTE socket
// subscribed to the IPv4 and IPv6 address groups and to link changes (a carrier lost or regained takes an interface's
// addresses out of, or back into, the set the watch compares, with no address event), read through the same batched
// poll as the TUN and UDP. JavaScript only needs to know that something changed (it re-reads the addresses itself), so
// each message is handed over as its length and its bytes are not looked at. This replaces an `ip -o monitor address
// link` child process: one process less for the daemon's lifetime, and no fork on the way to a cold start's first
// tunnel.
#include <errno.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <sys/socket.h>
#include <unistd.h>

#include "mesh_native.h"

// A non-blocking rtnetlink socket bound to `groups`, with `rcvbuf` bytes of receive buffer when > 0 (SO_RCVBUFFORCE
// as root, so net.core.rmem_max does not cap it; SO_RCVBUF when that is refused). Throws and returns NULL on failure.
static napi_value open_netlink(napi_env env, uint32_t groups, int32_t rcvbuf) {
  int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, NETLINK_ROUTE);
  if (fd < 0) {
    mt_throw_errno(env, "socket", errno);
    return NULL;
  }
  if (rcvbuf > 0 && setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf, sizeof(rcvbuf)) < 0) {
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
  }
  struct sockaddr_nl addr = {.nl_family = AF_NETLINK, .nl_groups = groups};
  if (bind(fd, (struct sockaddr *) &addr, sizeof(addr)) < 0) {
    int err = errno;
    close(fd);
    mt_throw_errno(env, "bind", err);
    return NULL;
  }
  napi_value out;
  napi_create_int32(env, fd, &out);
  return out;
}

// netlink_open_addr_watch(): fd, non-blocking, in the calling thread's network namespace.
napi_value netlink_open_addr_watch(napi_env env, napi_callback_info info) {
  return open_netlink(env, RTMGRP_IPV4_IFADDR | RTMGRP_IPV6_IFADDR | RTMGRP_LINK, 0);
}

// netlink_open_route_watch(rcvbuf): fd subscribed to IPv4 and IPv6 route changes, for
// pkg/routing/system-route-watch.ts (tun.use_system_route_table). Unlike address events, these messages are read:
// JavaScript parses each route.
// rcvbuf > 0 sets the receive buffer, for hosts where a routing daemon changes many routes at once.
napi_value netlink_open_route_watch(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  int32_t rcvbuf = 0;
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (argc >= 1 && napi_get_value_int32(env, argv[0], &rcvbuf) != napi_ok) rcvbuf = 0;
  return open_netlink(env, RTMGRP_IPV4_ROUTE | RTMGRP_IPV6_ROUTE, rcvbuf);
}

static uint32_t netlink_read_batch(mt_batch_t *b, int *err) {
  *err = 0;
  uint32_t n = mt_read_each(b, err);
  if (*err == ENOBUFS) {
    // The socket overflowed and events were lost; JavaScript re-reads the addresses anyway, so this is one more
    // "something changed" (length 0), not a failure. Later messages wait for the next wakeup (the poll is
    // level-triggered).
    *err = 0;
    b->meta[n++] = 0; // read() failed before filling slot n, so there is one
  }
  return n;
}

// netlink_poll_start(fd, buf, lens: Uint32Array, slotSize, cb(err, count)): handle for netlink_poll_stop.
napi_value netlink_poll_start(napi_env env, napi_callback_info info) {
  return mt_poll_start(env, info, netlink_read_batch, 1, "mesh:netlink");
}

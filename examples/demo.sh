#!/usr/bin/env bash
# `make demo`: a lighthouse and two mesh nodes in network namespaces, each node behind its own NAT router, pinging
# each other over the overlay, in IPv4 and in IPv6 (each certificate has one network of each family). Run as root
# after `make deps` and `make build`.
#
# Everything lives in namespaces named mdemo<pid>-*, linked only to each other (never to this machine's own
# network), and a trap on EXIT kills the processes and deletes the namespaces however the script ends.
#   MESH_DEMO_KEEP=1          keep the scratch directory (certificates, configs, logs) for a look afterwards
#   MESH_DEMO_NODE_B=public   give node-b a public address instead of a second NAT (the one-NAT case)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
MESH="$ROOT/dist/bin/mesh.cjs"
MESH_CERT="$ROOT/dist/bin/mesh-cert.cjs"
B_NAT=1
[[ "${MESH_DEMO_NODE_B:-nat}" == public ]] && B_NAT=0

# ---- address plan: documentation and private ranges, used only inside the namespaces -------------------------
LH_VPN=192.168.100.1 A_VPN=192.168.100.2 B_VPN=192.168.100.3
# The IPv6 overlay: a unique local (ULA, fd00::/8) /64; the underlay stays IPv4 only.
LH_VPN6=fd6d:6573:68::1 A_VPN6=fd6d:6573:68::2 B_VPN6=fd6d:6573:68::3
LH_NEAR=198.51.100.9 LH_IP=198.51.100.10      # lighthouse: public, on a /30 to the internet
RA_NEAR=203.0.113.1 RA_WAN=203.0.113.2        # router-a's public (WAN) side
RA_LAN=192.168.1.1 A_IP=192.168.1.2           # node-a, on router-a's private LAN
if ((B_NAT)); then
  RB_NEAR=203.0.113.5 RB_WAN=203.0.113.6      # router-b's public side
  RB_LAN=192.168.2.1 B_IP=192.168.2.2         # node-b, on router-b's private LAN
  B_SEEN=$RB_WAN                              # where the rest of the world sees node-b
else
  B_NEAR=198.51.100.13 B_IP=198.51.100.14     # node-b: public, on a /30 to the internet
  B_SEEN=$B_IP
fi
PORT=4242

P="mdemo$$"
NS_INET="$P-inet" NS_LH="$P-lh" NS_RA="$P-router-a" NS_A="$P-a" NS_RB="$P-router-b" NS_B="$P-b"
ALL_NS=("$NS_A" "$NS_B" "$NS_LH" "$NS_RA" "$NS_INET")
((B_NAT)) && ALL_NS+=("$NS_RB")
PIDS=()
WORK=""

# ---- output helpers ------------------------------------------------------------------------------------------
if [[ -t 1 ]]; then BOLD=$'\e[1m' DIM=$'\e[2m' GREEN=$'\e[32m' RED=$'\e[31m' OFF=$'\e[0m'; else BOLD='' DIM='' GREEN='' RED='' OFF=''; fi
STEP=0
step() { STEP=$((STEP + 1)); printf '\n%s== Step %d: %s ==%s\n' "$BOLD" "$STEP" "$1" "$OFF"; }
say() { printf '   %s\n' "$*"; }
ok() { printf '   %s✓ %s%s\n' "$GREEN" "$*" "$OFF"; }
indent() { sed 's/^/     /'; }
fail() {
  printf '\n%s✗ %s%s\n' "$RED" "$*" "$OFF" >&2
  for f in "$WORK"/*.log; do
    [[ -f "$f" ]] || continue
    printf '%s--- last lines of %s%s\n' "$DIM" "$(basename "$f")" "$OFF" >&2
    tail -n 15 "$f" >&2
  done
  exit 1
}

# ---- teardown ------------------------------------------------------------------------------------------------
teardown() {
  local status=$?
  trap - EXIT INT TERM
  set +e
  # An interrupt may land while a command's output goes to /dev/null, and the trap would inherit that: report to
  # the script's own stdout and stderr, saved at start as fds 3 and 4.
  exec 1>&3 2>&4
  printf '\n%s== Cleaning up ==%s\n' "$BOLD" "$OFF"
  # Our processes: the ones we started, and anything else still running inside our namespaces.
  for ns in "${ALL_NS[@]}"; do
    [[ -e "/run/netns/$ns" ]] && PIDS+=($(ip netns pids "$ns" 2>/dev/null))
  done
  for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null; done
  for _ in $(seq 1 20); do
    local alive=0
    for pid in "${PIDS[@]}"; do kill -0 "$pid" 2>/dev/null && alive=1; done
    ((alive)) || break
    sleep 0.1
  done
  for pid in "${PIDS[@]}"; do kill -KILL "$pid" 2>/dev/null; done
  wait 2>/dev/null
  # Deleting a namespace deletes its veths, bridge and TUN device with it.
  for ns in "${ALL_NS[@]}"; do ip netns del "$ns" 2>/dev/null; done
  local left running=0
  left=$(ip netns list | grep -c "^$P-" || true)
  for pid in "${PIDS[@]}"; do kill -0 "$pid" 2>/dev/null && running=$((running + 1)); done
  if [[ -n "$WORK" && -d "$WORK" ]]; then
    if [[ "${MESH_DEMO_KEEP:-}" == 1 ]]; then say "kept certificates, configs and logs in $WORK"; else rm -rf "$WORK"; fi
  fi
  ((running == 0)) || { printf '   %s%s of our processes are still running%s\n' "$RED" "$running" "$OFF"; status=1; }
  if [[ "$left" == 0 ]]; then ok "stopped the mesh processes and deleted ${#ALL_NS[@]} namespaces; nothing left behind"
  else printf '   %s%s namespaces named %s-* are still there%s\n' "$RED" "$left" "$P" "$OFF"; status=1; fi
  exit "$status"
}

# ---- building blocks -----------------------------------------------------------------------------------------
in_ns() { local ns=$1; shift; ip netns exec "$ns" "$@"; }

new_ns() {
  ip netns add "$1"
  ip -n "$1" link set dev lo up
  in_ns "$1" sysctl -q -w net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
}

# link NS_A IF_A ADDR_A NS_B IF_B ADDR_B: a veth pair created inside NS_A with its peer moved straight into NS_B,
# so that no interface ever appears in this machine's own namespace.
link() {
  ip -n "$1" link add name "$2" type veth peer name "$5" netns "$4"
  ip -n "$1" addr add "$3" dev "$2"
  ip -n "$4" addr add "$6" dev "$5"
  ip -n "$1" link set dev "$2" up
  ip -n "$4" link set dev "$5" up
}

# nat_router NS: a home router. It rewrites its LAN's packets to come from its own public address (masquerade,
# which keeps the source port when it can) and lets in from the internet only replies to what went out; the
# counter shows how many unsolicited packets it dropped.
nat_router() {
  in_ns "$1" sysctl -q -w net.ipv4.ip_forward=1
  in_ns "$1" nft -f - <<'EOF'
table ip demo_nat {
  chain postrouting {
    type nat hook postrouting priority 100; policy accept;
    oifname "wan" masquerade
  }
}
table ip demo_filter {
  chain input {
    type filter hook input priority 0; policy accept;
    iifname "wan" ct state established,related accept
    iifname "wan" counter drop
  }
  chain forward {
    type filter hook forward priority 0; policy accept;
    iifname "wan" ct state established,related accept
    iifname "wan" drop
  }
}
EOF
}

dropped_by() { in_ns "$1" nft list chain ip demo_filter input | sed -n 's/.*counter packets \([0-9]*\).*drop.*/\1/p'; }

# wait_for SECONDS WHAT COMMAND...: polls until COMMAND succeeds.
wait_for() {
  local secs=$1 what=$2; shift 2
  local deadline=$((SECONDS + secs))
  until "$@" >/dev/null 2>&1; do
    ((SECONDS < deadline)) || fail "timed out after ${secs}s waiting for $what"
    sleep 0.2
  done
}

# The underlay address a node's log says it completed a handshake with, for a given overlay IP.
handshake_addr() {
  grep 'Handshake completed' "$1" | grep "vpnIp=$2 " | tail -n 1 | sed -n 's/.*udpAddr=\([^ ]*\).*/\1/p'
}

start_mesh() {
  local ns=$1 name=$2
  # The namespaces start with IPv6 off; the node's TUN (made by mesh, after this) needs it for its IPv6 address.
  in_ns "$ns" sysctl -q -w net.ipv6.conf.default.disable_ipv6=0 net.ipv6.conf.lo.disable_ipv6=0
  # Started with `ip netns exec` itself (not through a shell function), so $! is the process that becomes node.
  ip netns exec "$ns" node "$MESH" -config "$WORK/$name.yml" >"$WORK/$name.log" 2>&1 &
  PIDS+=($!)
}

write_config() {
  local name=$1 am_lh=$2
  {
    cat <<EOF
# $name: generated by examples/demo.sh (see examples/config.yml for every setting)
pki:
  ca: ca.crt
  cert: $name.crt
  key: $name.key
EOF
    if [[ "$am_lh" == true ]]; then
      cat <<EOF
static_host_map: {}
lighthouse:
  am_lighthouse: true
tun:
  disabled: true
EOF
    else
      cat <<EOF
static_host_map:
  "$LH_VPN": ["$LH_IP:$PORT"]
lighthouse:
  am_lighthouse: false
  interval: 10
  hosts: ["$LH_VPN"]
tun:
  dev: mesh0
  mtu: 1300
EOF
    fi
    cat <<EOF
listen:
  host: 0.0.0.0
  port: $PORT
punchy:
  punch: true
  respond: true
  delay: 1s
relay:
  am_relay: false
  use_relays: false
logging:
  level: info
control:
  socket: $name.sock       # next to this file, so the demo leaves nothing in /run/mesh
firewall:
  outbound:
    - { port: any, proto: any, host: any }
  inbound:
    - { port: any, proto: icmp, host: any }
EOF
  } >"$WORK/$name.yml"
}

# nat_table NS SIDE: the router's UDP conntrack entries in plain words; SIDE (a or b) is whose router it is.
nat_table() {
  in_ns "$1" conntrack -L -p udp 2>/dev/null | awk -v side="$2" -v lh="$LH_IP" -v a="$A_IP" -v ra="$RA_WAN" \
    -v b="$B_IP" -v bs="$B_SEEN" -v bnat="$B_NAT" '
    function who(ip) {
      if (ip == lh) return "the lighthouse"
      if (side == "a" && ip == a) return "node-a"
      if (side == "b" && ip == b) return "node-b"
      if (side == "a" && ip == bs) return bnat ? "node-b (via router-b)" : "node-b"
      if (side == "b" && ip == ra) return "node-a (via router-a)"
      if (side == "a" && ip == ra) return "router-a'"'"'s own public address"
      if (side == "b" && ip == bs) return "router-b'"'"'s own public address"
      if (ip == a) return "node-a'"'"'s private address (a candidate that cannot work from here)"
      if (ip == b) return "node-b'"'"'s private address (a candidate that cannot work from here)"
      return ip
    }
    {
      delete v; delete c
      for (i = 1; i <= NF; i++) {
        split($i, kv, "=")
        if (kv[1] == "src" || kv[1] == "dst" || kv[1] == "sport" || kv[1] == "dport") v[kv[1] (++c[kv[1]])] = kv[2]
      }
      line = sprintf("%s to %s", who(v["src1"]), who(v["dst1"]))
      if (v["dst2"] != v["src1"]) line = line sprintf(", leaves as %s:%s", v["dst2"], v["dport2"])
      printf "     %-40s %s\n", v["src1"] ":" v["sport1"] " -> " v["dst1"] ":" v["dport1"], line
    }'
}

# ---- preflight -----------------------------------------------------------------------------------------------
if ((B_NAT)); then DESC="two nodes, each behind its own NAT router"; else DESC="two nodes, one of them behind a NAT router"; fi
printf '%smesh demo%s: a lighthouse and %s, in throw-away network namespaces.\n' "$BOLD" "$OFF" "$DESC"
[[ $(id -u) == 0 ]] || { echo "The demo creates network namespaces: run it as root (sudo make demo)." >&2; exit 1; }
for cmd in node ip nft conntrack ping sysctl; do
  command -v "$cmd" >/dev/null || { echo "missing '$cmd': run 'make deps' first" >&2; exit 1; }
done
[[ -f "$MESH" && -f "$MESH_CERT" ]] || { echo "dist/ is missing: run 'make build' (make demo does it for you)" >&2; exit 1; }
[[ -c /dev/net/tun ]] || { echo "/dev/net/tun is missing: the nodes need TUN devices" >&2; exit 1; }
HAVE_TCPDUMP=0; command -v tcpdump >/dev/null && HAVE_TCPDUMP=1

exec 3>&1 4>&2
trap teardown EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
WORK=$(mktemp -d "${TMPDIR:-/tmp}/mesh-demo.XXXXXX")

# ---- 1. certificates -----------------------------------------------------------------------------------------
step "Make a certificate authority and sign one certificate per host (mesh-cert)"
cert() { (cd "$WORK" && node "$MESH_CERT" "$@"); }
# Version 2 certificates (mesh-cert's default) can hold several networks, IPv6 ones too.
cert ca -name "mesh demo CA" -duration 1h
cert sign -name lighthouse -networks "$LH_VPN/24,$LH_VPN6/64"
cert sign -name node-a -networks "$A_VPN/24,$A_VPN6/64"
cert sign -name node-b -networks "$B_VPN/24,$B_VPN6/64"
for name in lighthouse node-a node-b; do
  cert verify -ca ca.crt -crt "$name.crt" || fail "$name.crt does not verify"
  vpn=$(cert print -json -path "$name.crt" | tr -d ' \n\t' | sed -n 's/.*"networks":\[\([^]]*\)\].*/\1/p' | tr -d '"' | sed 's/,/ and /')
  say "$(printf '%-11s overlay %-40s  %s.crt + %s.key' "$name" "$vpn" "$name" "$name")"
done
ok "all three certificates verify against ca.crt"

# ---- 2. network ----------------------------------------------------------------------------------------------
step "Build a small internet out of network namespaces"
for ns in "${ALL_NS[@]}"; do new_ns "$ns"; done
in_ns "$NS_INET" sysctl -q -w net.ipv4.ip_forward=1
link "$NS_INET" to-lh "$LH_NEAR/30" "$NS_LH" eth0 "$LH_IP/30"
ip -n "$NS_LH" route add default via "$LH_NEAR"
link "$NS_INET" to-router-a "$RA_NEAR/30" "$NS_RA" wan "$RA_WAN/30"
link "$NS_RA" lan "$RA_LAN/24" "$NS_A" eth0 "$A_IP/24"
ip -n "$NS_RA" route add default via "$RA_NEAR"
ip -n "$NS_A" route add default via "$RA_LAN"
nat_router "$NS_RA"
if ((B_NAT)); then
  link "$NS_INET" to-router-b "$RB_NEAR/30" "$NS_RB" wan "$RB_WAN/30"
  link "$NS_RB" lan "$RB_LAN/24" "$NS_B" eth0 "$B_IP/24"
  ip -n "$NS_RB" route add default via "$RB_NEAR"
  ip -n "$NS_B" route add default via "$RB_LAN"
  nat_router "$NS_RB"
  cat <<EOF | indent

                       lighthouse ${LH_IP}
                       (overlay ${LH_VPN})
                                |
             +------------- internet -------------+
             |                                    |
   ${RA_WAN}  router-a                ${RB_WAN}  router-b
   ${RA_LAN}  (NAT)                   ${RB_LAN}  (NAT)
             |                                    |
   node-a ${A_IP}                    node-b ${B_IP}
   (overlay ${A_VPN})                (overlay ${B_VPN})

EOF
  say "Both routers masquerade (like home routers) and drop anything from the internet that is not a reply."
else
  link "$NS_INET" to-b "$B_NEAR/30" "$NS_B" eth0 "$B_IP/30"
  ip -n "$NS_B" route add default via "$B_NEAR"
  cat <<EOF | indent

  lighthouse ${LH_IP}          node-b ${B_IP}
  (overlay ${LH_VPN})          (overlay ${B_VPN})
            \\                          /
             +------- internet -------+
                          |
                 ${RA_WAN}  router-a (NAT)
                 ${RA_LAN}
                          |
                 node-a ${A_IP}  (overlay ${A_VPN})

EOF
  say "router-a masquerades (like a home router) and drops anything from the internet that is not a reply."
fi
say "namespaces: ${ALL_NS[*]}"
if in_ns "$NS_B" ping -c 1 -W 1 "$A_IP" >/dev/null 2>&1; then fail "node-b can reach node-a's private address: the NAT is not in the way"; fi
if in_ns "$NS_B" ping -c 1 -W 1 "$RA_WAN" >/dev/null 2>&1; then fail "router-a answers unsolicited packets from the internet"; fi
ok "node-b cannot reach node-a's private address $A_IP, and router-a ignores it: node-a is hidden behind router-a"

# ---- 3. configs ----------------------------------------------------------------------------------------------
step "Write a config for each host"
write_config lighthouse true
write_config node-a false
write_config node-b false
say "Each node knows only the lighthouse: static_host_map \"$LH_VPN\" -> $LH_IP:$PORT, lighthouse.hosts [$LH_VPN]."
say "Relays are off (relay.use_relays: false), so any tunnel between node-a and node-b is a direct one."
say "node-a.yml:"
grep -v '^#' "$WORK/node-a.yml" | head -n 14 | indent
say "..."

# ---- 4. start ------------------------------------------------------------------------------------------------
step "Start the lighthouse and the two nodes (node dist/bin/mesh.cjs -config <file>)"
start_mesh "$NS_LH" lighthouse
wait_for 20 "the lighthouse to start" grep -q 'Mesh node started' "$WORK/lighthouse.log"
ok "lighthouse is listening on $LH_IP:$PORT"
start_mesh "$NS_A" node-a
start_mesh "$NS_B" node-b
for name in node-a node-b; do
  wait_for 20 "$name's tunnel to the lighthouse" grep -q "Handshake completed.*vpnIp=$LH_VPN " "$WORK/$name.log"
  ok "$name has a tunnel to the lighthouse and has reported its addresses to it"
done
ok "node-a's overlay interface: $(in_ns "$NS_A" ip -br addr show dev mesh0 | awk '{$2 = ""; print}' | tr -s ' ')"

# ---- 5. ping -------------------------------------------------------------------------------------------------
CAPTURE="$WORK/router-a-wan.txt"
DROPPED_BEFORE=$(dropped_by "$NS_RA")
if ((HAVE_TCPDUMP)); then
  # Watch router-a's public side for traffic with node-b, to show the hole being punched.
  ip netns exec "$NS_RA" tcpdump -l -n -x -ttttt -i wan "udp and host $B_SEEN" >"$CAPTURE" 2>"$WORK/tcpdump.err" &
  PIDS+=($!)
  wait_for 10 "tcpdump to start" grep -q 'listening on' "$WORK/tcpdump.err"
fi
step "node-b pings node-a over the overlay (they have never talked; node-a is behind a NAT)"
say "\$ ip netns exec $NS_B ping -c 3 -i 0.5 $A_VPN"
in_ns "$NS_B" ping -c 3 -i 0.5 -w 20 "$A_VPN" 2>&1 | indent || fail "node-b could not ping node-a over the overlay"
ok "node-b reached node-a"

step "node-a pings node-b over the overlay"
say "\$ ip netns exec $NS_A ping -c 3 -i 0.5 $B_VPN"
in_ns "$NS_A" ping -c 3 -i 0.5 -w 20 "$B_VPN" 2>&1 | indent || fail "node-a could not ping node-b over the overlay"
ok "node-a reached node-b"

step "The same over IPv6: node-b pings node-a's IPv6 overlay address, and back"
say "\$ ip netns exec $NS_B ping -6 -c 3 -i 0.5 $A_VPN6"
in_ns "$NS_B" ping -6 -c 3 -i 0.5 -w 20 "$A_VPN6" 2>&1 | indent || fail "node-b could not ping node-a over the IPv6 overlay"
in_ns "$NS_A" ping -6 -c 1 -w 10 "$B_VPN6" >/dev/null 2>&1 || fail "node-a could not ping node-b over the IPv6 overlay"
ok "node-a and node-b reach each other over IPv6 too, in the same tunnel (the underlay is IPv4 only)"

# ---- 6. path -------------------------------------------------------------------------------------------------
step "Which path do the packets take?"
B_SEES_A=$(handshake_addr "$WORK/node-b.log" "$A_VPN")
A_SEES_B=$(handshake_addr "$WORK/node-a.log" "$B_VPN")
say "From the 'Handshake completed' lines in the nodes' logs (udpAddr=):"
say "  node-b sends node-a's packets to   ${B_SEES_A:-?}"
say "  node-a sends node-b's packets to   ${A_SEES_B:-?}"
[[ "$B_SEES_A" == "$RA_WAN:"* ]] || fail "node-b did not get a direct path to node-a (udpAddr=${B_SEES_A:-none})"
[[ "$A_SEES_B" == "$B_SEEN:"* ]] || fail "node-a did not get a direct path to node-b (udpAddr=${A_SEES_B:-none})"
say "$B_SEES_A is router-a's public address, not node-a's private $A_IP."
if ((B_NAT)); then say "$A_SEES_B is router-b's public address, not node-b's private $B_IP."
else say "$A_SEES_B is node-b's own public address."; fi
if ((B_NAT)); then NATS="both NATs"; else NATS="the NAT"; fi
say "So the packets go straight from one node to the other through $NATS. The lighthouse only introduced"
say "them; it carries none of their traffic."

say ""
say "router-a's NAT table (conntrack -L -p udp):"
nat_table "$NS_RA" a
if ((B_NAT)); then
  say "router-b's NAT table:"
  nat_table "$NS_RB" b
fi

if ((HAVE_TCPDUMP)); then
  say ""
  say "How the way through was opened (tcpdump on router-a's public side, traffic with node-b only):"
  sleep 0.3
  # Each packet: a summary line, then its bytes in hex (-x). Byte 8 of the IPv4 header is the TTL. The UDP payload
  # starts 28 bytes in; a mesh packet's first byte holds the message type (low nibble), bytes 8-15 its counter,
  # which tells the two handshake stages apart.
  awk -v bs="$B_SEEN" -v H=0123456789abcdef '
    function show() {
      if (src == "") return
      if (++shown > 12) exit
      ttl = index(H, substr(hex, 17, 1)) * 16 + index(H, substr(hex, 18, 1)) - 17; type = substr(hex, 58, 1); counter = substr(hex, 87, 2)
      fromB = (index(src, bs ".") == 1)
      if (len == 1 && fromB) what = "1-byte punch from node-b"
      else if (len == 1 && ttl <= 2) what = "1-byte punch from node-a, TTL " ttl ": opens router-a, expires in the internet"
      else if (len == 1) what = "1-byte punch from node-a"
      else if (type == "0" && counter == "01") what = "handshake stage 1: node-b says hello to node-a"
      else if (type == "0" && counter == "02") what = "handshake stage 2: node-a answers"
      else if (type == "1") what = "encrypted overlay packet (a ping)"
      else if (type == "4") what = "encrypted tunnel test"
      else what = "mesh packet type " type
      if (fromB) {
        from = "node-b   -> router-a"
        if (!opened) what = what "  (dropped: router-a has no mapping for it yet)"
      } else { from = "router-a -> node-b  "; opened = 1 }
      printf "     +%.3fs  %s  %s\n", t, from, what
      src = ""
    }
    /^ *[0-9]/ { show(); split($1, hms, ":"); t = hms[1] * 3600 + hms[2] * 60 + hms[3]; src = $3; len = $NF; hex = ""; next }
    { for (i = 2; i <= NF; i++) hex = hex $i }
    END { show() }' "$CAPTURE"
  DROPPED=$(($(dropped_by "$NS_RA") - DROPPED_BEFORE))
  if ((DROPPED == 0)); then say "router-a dropped nothing from node-b: its way in was open before node-b's handshake arrived."
  else say "router-a dropped $DROPPED packet(s) from node-b that arrived before node-a had opened the way."; fi
fi
say ""
say "What happened: node-b asked the lighthouse where node-a is. The lighthouse answered with node-a's addresses"
say "($RA_WAN:$PORT as the lighthouse sees it, $A_IP:$PORT as node-a reported it) and also sent node-a a"
say "punch notification naming node-b. node-a then sent node-b a 1-byte punch: going out through router-a, it made"
say "router-a expect packets from node-b, so node-b's handshake got in."
if ((B_NAT)); then
  say "node-b punched too, toward node-a, to open router-b the same way. Those first punches go out with a tiny IP"
  say "TTL, so they open the sender's own NAT and expire in the internet before they can reach the other router,"
  say "which would otherwise note them as unanswered and then block the real packets."
fi
if ((B_NAT)); then say "Nobody configured either router."; else say "Nobody configured router-a."; fi

ok "demo finished: node-a and node-b talk directly over the mesh, through $NATS"

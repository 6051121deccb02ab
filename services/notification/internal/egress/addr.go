package egress

import (
	"fmt"
	"net/netip"
)

// Public reports whether a is an address webhooks may be delivered to: a
// globally routable unicast address. See the package documentation for the
// ranges refused. Options.AllowedNets is not consulted here.
func Public(a netip.Addr) bool {
	return classify(a) == ""
}

// blockedRange is a refused prefix and why, phrased to follow "is".
type blockedRange struct {
	prefix netip.Prefix
	reason string
}

const (
	reasonPrivate   = "a private address"
	reasonLoopback  = "a loopback address"
	reasonLinkLocal = "a link-local address"
	reasonMulticast = "a multicast address"
	reasonDocs      = "a documentation address"
	reasonMetadata  = "a cloud metadata address"
	reasonReserved  = "a reserved address"
)

// metadataAddrs are cloud instance-metadata and host-agent endpoints. Most also
// fall in a blocked range; they are listed so the reason names them, and
// 168.63.129.16 (Azure WireServer) is otherwise a public address.
var metadataAddrs = []netip.Addr{
	netip.MustParseAddr("169.254.169.254"), // AWS, GCP, Azure, OpenStack, ...
	netip.MustParseAddr("169.254.170.2"),   // AWS ECS task metadata
	netip.MustParseAddr("168.63.129.16"),   // Azure WireServer
	netip.MustParseAddr("100.100.100.200"), // Alibaba Cloud
	netip.MustParseAddr("fd00:ec2::254"),   // AWS IPv6 IMDS
}

// blocked4 lists IPv4 ranges that are not globally routable unicast
// (IANA IPv4 Special-Purpose Address Registry, multicast, class E).
var blocked4 = []blockedRange{
	{netip.MustParsePrefix("0.0.0.0/8"), "a this-network (0.0.0.0/8) address"},
	{netip.MustParsePrefix("10.0.0.0/8"), reasonPrivate},
	{netip.MustParsePrefix("100.64.0.0/10"), "a shared (CGNAT) address"},
	{netip.MustParsePrefix("127.0.0.0/8"), reasonLoopback},
	{netip.MustParsePrefix("169.254.0.0/16"), reasonLinkLocal},
	{netip.MustParsePrefix("172.16.0.0/12"), reasonPrivate},
	{netip.MustParsePrefix("192.0.0.0/24"), "an IETF protocol assignment address"},
	{netip.MustParsePrefix("192.0.2.0/24"), reasonDocs},
	{netip.MustParsePrefix("192.88.99.0/24"), "a 6to4 relay anycast address"},
	{netip.MustParsePrefix("192.168.0.0/16"), reasonPrivate},
	{netip.MustParsePrefix("198.18.0.0/15"), "a benchmarking address"},
	{netip.MustParsePrefix("198.51.100.0/24"), reasonDocs},
	{netip.MustParsePrefix("203.0.113.0/24"), reasonDocs},
	{netip.MustParsePrefix("224.0.0.0/4"), reasonMulticast},
	{netip.MustParsePrefix("240.0.0.0/4"), reasonReserved},
}

// Prefixes whose addresses carry an IPv4 address: the IPv6 address is as good
// as the IPv4 one it embeds.
var (
	nat64Prefix   = netip.MustParsePrefix("64:ff9b::/96") // RFC 6052, last 32 bits
	sixToFour     = netip.MustParsePrefix("2002::/16")    // RFC 3056, bits 16-47
	v4Compatible  = netip.MustParsePrefix("::/96")        // RFC 4291, deprecated
	globalUnicast = netip.MustParsePrefix("2000::/3")
)

// blocked6 lists IPv6 ranges refused beyond the embedded-IPv4 forms. Anything
// outside 2000::/3 is refused as well, so this list only needs the special
// ranges inside it plus those worth a specific reason.
var blocked6 = []blockedRange{
	{netip.MustParsePrefix("64:ff9b:1::/48"), "a local-use NAT64 address"},
	{netip.MustParsePrefix("100::/64"), "a discard-only address"},
	{netip.MustParsePrefix("2001::/32"), "a Teredo address"},
	{netip.MustParsePrefix("2001:db8::/32"), reasonDocs},
	{netip.MustParsePrefix("2001::/23"), "an IETF protocol assignment address"},
	{netip.MustParsePrefix("3fff::/20"), reasonDocs},
	{netip.MustParsePrefix("fc00::/7"), "a private (unique local) address"},
	{netip.MustParsePrefix("fe80::/10"), reasonLinkLocal},
	{netip.MustParsePrefix("fec0::/10"), "a site-local address"},
	{netip.MustParsePrefix("ff00::/8"), reasonMulticast},
}

// classify returns why a is not public ("a loopback address"), or "" when it
// is.
func classify(a netip.Addr) string {
	switch {
	case !a.IsValid():
		return "not a valid address"
	case a.Zone() != "":
		return "a scoped (zoned) address"
	case a.Is4In6():
		return classify(a.Unmap())
	case a.IsUnspecified():
		return "an unspecified address"
	}
	for _, m := range metadataAddrs {
		if a == m {
			return reasonMetadata
		}
	}
	if a.Is4() {
		if a == netip.AddrFrom4([4]byte{255, 255, 255, 255}) {
			return "the broadcast address"
		}
		for _, r := range blocked4 {
			if r.prefix.Contains(a) {
				return r.reason
			}
		}
		return ""
	}

	if a.IsLoopback() {
		return reasonLoopback
	}
	b := a.As16()
	switch {
	case nat64Prefix.Contains(a):
		return embedded("NAT64", netip.AddrFrom4([4]byte(b[12:16])))
	case sixToFour.Contains(a):
		return embedded("6to4", netip.AddrFrom4([4]byte(b[2:6])))
	case v4Compatible.Contains(a):
		return "an IPv4-compatible address (deprecated)"
	}
	for _, r := range blocked6 {
		if r.prefix.Contains(a) {
			return r.reason
		}
	}
	if !globalUnicast.Contains(a) {
		return reasonReserved
	}
	return ""
}

// embedded classifies an IPv6 address by the IPv4 address it translates to.
func embedded(kind string, v4 netip.Addr) string {
	if reason := classify(v4); reason != "" {
		return fmt.Sprintf("a %s address for %s, %s", kind, v4, reason)
	}
	return ""
}

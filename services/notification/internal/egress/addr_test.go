package egress_test

import (
	"net/netip"
	"testing"

	"github.com/scodalabs/scoda/services/notification/internal/egress"
)

func TestPublic(t *testing.T) {
	tests := []struct {
		addr string
		want bool
	}{
		// Public.
		{"8.8.8.8", true},
		{"1.1.1.1", true},
		{"93.184.215.14", true},
		{"100.63.255.255", true}, // just below CGNAT
		{"100.128.0.0", true},    // just above CGNAT
		{"172.15.255.255", true}, // just below 172.16/12
		{"172.32.0.0", true},     // just above 172.16/12
		{"198.17.255.255", true}, // just below benchmarking
		{"198.20.0.0", true},     // just above benchmarking
		{"223.255.255.255", true},
		{"2606:4700:4700::1111", true},
		{"2a00:1450:4001:81c::200e", true},
		{"::ffff:8.8.8.8", true},   // IPv4-mapped public
		{"64:ff9b::808:808", true}, // NAT64 of 8.8.8.8
		{"2002:808:808::1", true},  // 6to4 of 8.8.8.8
		{"2001:4860:4860::8888", true},

		// IPv4 special purpose.
		{"0.0.0.0", false},
		{"0.1.2.3", false},
		{"10.0.0.1", false},
		{"10.255.255.255", false},
		{"100.64.0.1", false},
		{"100.127.255.255", false},
		{"127.0.0.1", false},
		{"127.255.255.254", false},
		{"169.254.0.1", false},
		{"169.254.169.254", false},
		{"169.254.170.2", false},
		{"168.63.129.16", false}, // Azure WireServer, otherwise public space
		{"100.100.100.200", false},
		{"172.16.0.1", false},
		{"172.31.255.255", false},
		{"192.0.0.1", false},
		{"192.0.2.1", false},
		{"192.88.99.1", false},
		{"192.168.1.1", false},
		{"198.18.0.1", false},
		{"198.19.255.255", false},
		{"198.51.100.7", false},
		{"203.0.113.9", false},
		{"224.0.0.1", false},
		{"239.255.255.250", false},
		{"240.0.0.1", false},
		{"255.255.255.255", false},

		// IPv6 special purpose.
		{"::", false},
		{"::1", false},
		{"fc00::1", false},
		{"fd12:3456:789a::1", false},
		{"fd00:ec2::254", false},
		{"fe80::1", false},
		{"febf::1", false},
		{"fec0::1", false},
		{"ff02::1", false},
		{"ff0e::1", false},
		{"2001:db8::1", false},
		{"3fff::1", false},
		{"2001::1", false},      // Teredo
		{"2001:2::1", false},    // benchmarking, in 2001::/23
		{"100::1", false},       // discard-only
		{"64:ff9b:1::1", false}, // local-use NAT64
		{"4000::1", false},      // outside 2000::/3
		{"::2", false},          // IPv4-compatible range

		// IPv6 forms of refused IPv4 addresses.
		{"::ffff:127.0.0.1", false},
		{"::ffff:10.0.0.1", false},
		{"::ffff:169.254.169.254", false},
		{"::ffff:0.0.0.0", false},
		{"::127.0.0.1", false},        // IPv4-compatible
		{"::8.8.8.8", false},          // IPv4-compatible is deprecated: all refused
		{"64:ff9b::127.0.0.1", false}, // NAT64
		{"64:ff9b::a00:1", false},     // NAT64 of 10.0.0.1
		{"64:ff9b::a9fe:a9fe", false}, // NAT64 of 169.254.169.254
		{"2002:7f00:1::", false},      // 6to4 of 127.0.0.1
		{"2002:c0a8:101::1", false},   // 6to4 of 192.168.1.1

		// Zoned.
		{"fe80::1%eth0", false},
		{"2606:4700:4700::1111%eth0", false},
	}
	for _, tt := range tests {
		t.Run(tt.addr, func(t *testing.T) {
			a := netip.MustParseAddr(tt.addr)
			if got := egress.Public(a); got != tt.want {
				t.Errorf("Public(%s) = %v, want %v", a, got, tt.want)
			}
		})
	}
	if egress.Public(netip.Addr{}) {
		t.Error("Public(zero Addr) = true, want false")
	}
}

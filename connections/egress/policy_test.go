package egress

import (
	"net/netip"
	"strings"
	"testing"
)

func TestPolicyDecides(t *testing.T) {
	mustRules := func(s string) []Rule {
		r, err := ParseRules("--allow-destinations", s)
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	cases := []struct {
		name   string
		policy Policy
		host   string
		ip     string
		port   uint16
		want   bool
	}{
		{"public", Policy{}, "dev.azure.com", "13.107.42.20", 443, true},
		{"private allowed by default", Policy{}, "tfs.corp", "10.1.2.3", 8080, true},
		{"private refused with deny-private-networks", Policy{DenyPrivateNetworks: true}, "tfs.corp", "10.1.2.3", 8080, false},
		{"ULA refused with deny-private-networks", Policy{DenyPrivateNetworks: true}, "", "fd12::1", 443, false},
		{"loopback", Policy{}, "", "127.0.0.1", 80, false},
		{"loopback other", Policy{}, "", "127.9.9.9", 80, false},
		{"loopback v6", Policy{}, "", "::1", 80, false},
		{"mapped loopback", Policy{}, "", "::ffff:127.0.0.1", 80, false},
		{"unspecified", Policy{}, "", "0.0.0.0", 80, false},
		{"unspecified v6", Policy{}, "", "::", 80, false},
		{"link-local metadata", Policy{}, "", "169.254.169.254", 80, false},
		{"link-local v6 with zone", Policy{}, "", "fe80::1%eth0", 80, false},
		{"aws v6 metadata", Policy{}, "", "fd00:ec2::254", 80, false},
		{"metadata name", Policy{}, "metadata.google.internal.", "", 80, false},
		{"metadata name upper case", Policy{}, "Metadata", "", 80, false},
		{"loopback allowed", Policy{Allow: Loopback()}, "", "127.0.0.1", 80, true},
		{"loopback allowed, mapped", Policy{Allow: Loopback()}, "", "::ffff:127.0.0.1", 80, true},
		{"loopback allowed on one port", Policy{Allow: mustRules("127.0.0.1:8080")}, "", "127.0.0.1", 8080, true},
		{"loopback allowed on one port, another port", Policy{Allow: mustRules("127.0.0.1:8080")}, "", "127.0.0.1", 8081, false},
		{"name allowed trusts its addresses", Policy{Allow: mustRules("tfs.local")}, "tfs.local", "127.0.0.1", 8080, true},
		{"deny wins over allow", Policy{Allow: Loopback(), Deny: mustRules("127.0.0.1")}, "", "127.0.0.1", 80, false},
		{"deny name", Policy{Deny: mustRules("*.internal.example")}, "a.internal.example", "203.0.113.5", 443, false},
		{"deny prefix", Policy{Deny: mustRules("203.0.113.0/24")}, "x.example", "203.0.113.5", 443, false},
		{"allow private under deny-private", Policy{DenyPrivateNetworks: true, Allow: mustRules("10.1.0.0/16")}, "", "10.1.2.3", 443, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var ip netip.Addr
			if c.ip != "" {
				ip = netip.MustParseAddr(c.ip)
			}
			if got, why := c.policy.decide(c.host, ip, c.port); got != c.want {
				t.Fatalf("decide(%q, %s, %d) = %v (%s), want %v", c.host, c.ip, c.port, got, why, c.want)
			}
		})
	}
}

func TestParseRules(t *testing.T) {
	rules, err := ParseRules("--allow-destinations", " 10.0.0.0/8, ::1 ,127.0.0.1:8080,[::1]:9000, TFS.Example.com., *.corp.example:8443, loopback,, ::ffff:10.0.0.0/104")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range rules {
		got = append(got, r.String())
	}
	want := "10.0.0.0/8 ::1 127.0.0.1:8080 [::1]:9000 tfs.example.com *.corp.example:8443 127.0.0.0/8 ::1 10.0.0.0/8"
	if strings.Join(got, " ") != want {
		t.Fatalf("rules = %q, want %q", strings.Join(got, " "), want)
	}
	for _, bad := range []string{"10.0.0.0/33", "http://x.example", "x.example:0", "x.example:70000", "bad name", "2130706433", "0177.0.0.1", "a..b"} {
		_, err := ParseRules("--deny-destinations", bad)
		if err == nil || !strings.Contains(err.Error(), "--deny-destinations") || !strings.Contains(err.Error(), bad) {
			t.Errorf("ParseRules(%q) = %v, want an error naming the setting and the entry", bad, err)
		}
	}
}

func TestLiteralForms(t *testing.T) {
	for in, want := range map[string]string{
		"2130706433": "127.0.0.1", "0177.0.0.1": "127.0.0.1", "0x7f.1": "127.0.0.1", "127.1": "127.0.0.1",
		"0x7f000001": "127.0.0.1", "[::ffff:127.0.0.1]": "127.0.0.1", "0": "0.0.0.0", "169.254.169.254": "169.254.169.254",
		"[::]": "::", "017700000001": "127.0.0.1",
	} {
		ip, ok := literal(in)
		if !ok || ip.String() != want {
			t.Errorf("literal(%q) = %v %v, want %s", in, ip, ok, want)
		}
	}
	for _, name := range []string{"dev.azure.com", "256.1.1.1.1", "1.2.3.256", "face.example", "08.1.1.1"} {
		if ip, ok := literal(name); ok {
			t.Errorf("literal(%q) = %v, want no address", name, ip)
		}
	}
}

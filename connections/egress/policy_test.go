package egress

import (
	"context"
	"net"
	"net/netip"
	"net/url"
	"strings"
	"testing"

	"github.com/repoconnect/repoconnect/connections"
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
		{"azure wireserver", Policy{}, "", "168.63.129.16", 32526, false},
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

// IPv6 addresses that carry an IPv4 address a translator or tunnel delivers to (IPv4-compatible,
// IPv4-translated, NAT64, 6to4, Teredo) are decided on that IPv4 address as well: ::127.0.0.1
// or 64:ff9b::169.254.169.254 is no way around the loopback or metadata refusal, nor
// 64:ff9b::10.0.0.5 around --deny-private-networks. The local-use NAT64 prefix, whose
// embedding depends on the operator's prefix length, is refused unless allowed.
func TestPolicyDecidesEmbeddedIPv4(t *testing.T) {
	cases := []struct {
		name   string
		policy Policy
		ip     string
		want   bool
	}{
		{"IPv4-compatible loopback", Policy{}, "::127.0.0.1", false},
		{"IPv4-compatible metadata", Policy{}, "::169.254.169.254", false},
		{"IPv4-translated loopback", Policy{}, "::ffff:0:127.0.0.1", false},
		{"NAT64 loopback", Policy{}, "64:ff9b::127.0.0.1", false},
		{"NAT64 metadata", Policy{}, "64:ff9b::a9fe:a9fe", false},
		{"NAT64 unspecified", Policy{}, "64:ff9b::", false},
		{"NAT64 public", Policy{}, "64:ff9b::13.107.42.20", true},
		{"NAT64 private under deny-private-networks", Policy{DenyPrivateNetworks: true}, "64:ff9b::10.0.0.5", false},
		{"local-use NAT64", Policy{}, "64:ff9b:1:7f00:0:100::", false},
		{"local-use NAT64 allowed", Policy{Allow: []Rule{{Prefix: netip.MustParsePrefix("64:ff9b:1::/48")}}}, "64:ff9b:1::d6b:2a14", true},
		{"6to4 loopback", Policy{}, "2002:7f00:1::1", false},
		{"6to4 metadata", Policy{}, "2002:a9fe:a9fe::1", false},
		{"6to4 public", Policy{}, "2002:d6b:2a14::1", true},
		{"Teredo client loopback", Policy{}, "2001:0:4136:e378:8000:63bf:80ff:fffe", false},
		{"Teredo server loopback", Policy{}, "2001:0:7f00:1:8000:63bf:f2ef:d5eb", false},
		{"Teredo public", Policy{}, "2001:0:4136:e378:8000:63bf:f2ef:d5eb", true},
		{"site-local under deny-private-networks", Policy{DenyPrivateNetworks: true}, "fec0::1", false},
		{"loopback allowed lifts the embedded check", Policy{Allow: Loopback()}, "::ffff:0:127.0.0.1", true},
		{"deny of the IPv4 covers its NAT64 form", Policy{Deny: []Rule{{Prefix: netip.MustParsePrefix("203.0.113.0/24")}}}, "64:ff9b::203.0.113.5", false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got, why := c.policy.decide("", netip.MustParseAddr(c.ip), 443); got != c.want {
				t.Fatalf("decide(%s) = %v (%s), want %v", c.ip, got, why, c.want)
			}
		})
	}
}

// The door refuses the embedded forms at both checks before any connection: the URL's
// literal (CheckURL) and a name resolving to one (dialContext, here with a cancelled
// context so that nothing could be sent even if it were allowed).
func TestDoorRefusesEmbeddedIPv4BeforeDialing(t *testing.T) {
	for _, ip := range []string{"::127.0.0.1", "64:ff9b::a9fe:a9fe", "2002:7f00:1::1", "::ffff:0:7f00:1"} {
		t.Run(ip, func(t *testing.T) {
			d := New(Options{Resolver: fixedResolver{netip.MustParseAddr(ip)}})
			u, _ := url.Parse("http://[" + ip + "]:8080/")
			if err := d.CheckURL(u); err == nil {
				t.Fatal("CheckURL allowed it")
			}
			ctx, cancel := context.WithCancel(context.Background())
			cancel()
			_, err := d.dialContext(ctx, "tcp", "rebind.example:8080")
			if ce := connections.AsError(err); ce == nil || ce.Kind != connections.ErrDestinationNotAllowed {
				t.Fatalf("dial of a name resolving to %s: %v, want a refusal", ip, err)
			}
		})
	}
}

type fixedResolver []netip.Addr

func (f fixedResolver) LookupNetIP(context.Context, string, string) ([]netip.Addr, error) {
	return append([]netip.Addr(nil), f...), nil
}

// The environment's proxy is allowed as the dial of the proxy itself only: a name that
// resolves to the proxy's loopback address is refused (the dial to the proxy is made).
func TestProxyAllowedOnlyAsItself(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	t.Setenv("HTTP_PROXY", "http://"+ln.Addr().String())
	d := New(Options{Resolver: fixedResolver{netip.MustParseAddr("127.0.0.1")}})
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	_, err = d.dialContext(context.Background(), "tcp", "tenant.example:"+port)
	if ce := connections.AsError(err); ce == nil || ce.Kind != connections.ErrDestinationNotAllowed {
		t.Fatalf("a name resolving to the proxy: %v, want a refusal", err)
	}
	c, err := d.dialContext(context.Background(), "tcp", ln.Addr().String())
	if err != nil {
		t.Fatalf("the proxy itself: %v", err)
	}
	_ = c.Close()
}

// A name resolving to one of this host's own (non-loopback) addresses is refused: the kernel
// delivers that connection over loopback. The context is cancelled, so nothing would be sent
// even if the dial were allowed; an allow entry naming the address lifts the refusal.
func TestDoorRefusesOwnAddresses(t *testing.T) {
	var own netip.Addr
	addrs, _ := net.InterfaceAddrs()
	for _, a := range addrs {
		if p, err := netip.ParsePrefix(a.String()); err == nil && !p.Addr().IsLoopback() && !p.Addr().IsLinkLocalUnicast() {
			own = p.Addr()
			break
		}
	}
	if !own.IsValid() {
		t.Skip("this host has no address besides loopback and link-local")
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	d := New(Options{Resolver: fixedResolver{own}})
	_, err := d.dialContext(ctx, "tcp", "tenant.example:6379")
	if ce := connections.AsError(err); ce == nil || ce.Kind != connections.ErrDestinationNotAllowed {
		t.Fatalf("a name resolving to this host's %s: %v, want a refusal", own, err)
	}
	allowed := New(Options{Resolver: fixedResolver{own}, Policy: Policy{Allow: []Rule{{Prefix: netip.PrefixFrom(own, own.BitLen())}}}})
	_, err = allowed.dialContext(ctx, "tcp", "tenant.example:6379")
	if ce := connections.AsError(err); ce != nil {
		t.Fatalf("allowed explicitly: %v, want no refusal", err)
	}
}

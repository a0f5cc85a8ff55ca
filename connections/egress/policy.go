package egress

import (
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"
)

// Policy is the operator's outbound network policy: which destinations a request whose
// destination a tenant chose may reach. The zero value is the default policy.
//
// A destination is decided in this order:
//  1. an entry of Deny that matches refuses it (deny entries always win);
//  2. an entry of Allow that matches allows it (this is how loopback, or one simulator's
//     address, is allowed);
//  3. the default refusals refuse it: loopback (127.0.0.0/8, ::1), unspecified and "this
//     network" (0.0.0.0/8, ::), link-local (169.254.0.0/16, fe80::/10), multicast and
//     broadcast, the cloud metadata addresses (fd00:ec2::254, 100.100.100.200,
//     168.63.129.16) and the metadata host names (metadata.google.internal, metadata,
//     instance-data, ...);
//  4. with DenyPrivateNetworks, private addresses (10.0.0.0/8, 172.16.0.0/12,
//     192.168.0.0/16, 100.64.0.0/10, fc00::/7, fec0::/10) are refused;
//  5. anything else is allowed (private ranges by default: Azure DevOps Server lives there).
//
// Addresses are compared after IPv4-mapped IPv6 addresses are unmapped (::ffff:127.0.0.1 is
// 127.0.0.1) and zones dropped. An IPv6 address carrying an IPv4 address (IPv4-compatible,
// IPv4-translated, NAT64 64:ff9b::/96, 6to4, Teredo) must pass as that IPv4 address as well;
// the local-use NAT64 prefix 64:ff9b:1::/48 is refused by default.
type Policy struct {
	// Allow lists destinations allowed even where a default refusal or DenyPrivateNetworks
	// would refuse them (--allow-destinations, REPOCONNECT_ALLOW_DESTINATIONS).
	Allow []Rule
	// Deny lists destinations always refused (--deny-destinations,
	// REPOCONNECT_DENY_DESTINATIONS).
	Deny []Rule
	// DenyPrivateNetworks refuses private address ranges, for a deployment whose tenants
	// reach only public servers (--deny-private-networks, REPOCONNECT_DENY_PRIVATE_NETWORKS).
	DenyPrivateNetworks bool
}

// Rule is one entry of an allow or deny list: an address prefix or a host name, with an
// optional port (0: any port). Parse one with ParseRules.
type Rule struct {
	// Prefix is the addresses the rule covers; invalid (zero) for a host-name rule.
	Prefix netip.Prefix
	// Host is a lower-case host name without a trailing dot; "*.example.com" covers every
	// name below example.com (not example.com itself). Empty for an address rule.
	Host string
	// Port limits the rule to one TCP port; 0 means every port.
	Port uint16
}

// String writes the rule as ParseRules reads it.
func (r Rule) String() string {
	s := r.Host
	if s == "" {
		s = r.Prefix.String()
		if r.Prefix.IsSingleIP() {
			s = r.Prefix.Addr().String()
		}
		if r.Port != 0 && r.Prefix.Addr().Is6() {
			s = "[" + s + "]"
		}
	}
	if r.Port != 0 {
		s += ":" + strconv.Itoa(int(r.Port))
	}
	return s
}

// matches reports whether the rule covers a dial of name (may be "") at ip:port.
func (r Rule) matches(name string, ip netip.Addr, port uint16) bool {
	if r.Port != 0 && r.Port != port {
		return false
	}
	if r.Host != "" {
		return nameMatches(r.Host, name)
	}
	return ip.IsValid() && r.Prefix.Contains(ip)
}

func nameMatches(pattern, name string) bool {
	if name == "" {
		return false
	}
	if rest, ok := strings.CutPrefix(pattern, "*."); ok {
		return strings.HasSuffix(name, "."+rest)
	}
	return pattern == name
}

// Loopback is the rules that allow the loopback addresses, 127.0.0.0/8 and ::1 (what the
// list entry "loopback" stands for).
func Loopback() []Rule {
	return []Rule{{Prefix: netip.MustParsePrefix("127.0.0.0/8")}, {Prefix: netip.MustParsePrefix("::1/128")}}
}

// ParseRules reads a comma-separated list of destinations, as --allow-destinations and
// --deny-destinations take them. setting names the flag in error messages. Each entry is
//   - a CIDR prefix: 10.0.0.0/8, fd00::/8;
//   - an address, optionally with a port: 127.0.0.1, ::1, 127.0.0.1:8080, [::1]:8080;
//   - a host name, optionally with a port: tfs.example.com, tfs.example.com:8443, and
//     *.example.com for every name below example.com;
//   - the word loopback (127.0.0.0/8 and ::1).
//
// Blanks around entries and empty entries are ignored. A malformed entry fails with an
// error naming the setting and the entry.
func ParseRules(setting, list string) ([]Rule, error) {
	var rules []Rule
	for _, raw := range strings.Split(list, ",") {
		e := strings.TrimSpace(raw)
		if e == "" {
			continue
		}
		rs, err := parseRule(e)
		if err != nil {
			return nil, fmt.Errorf("%s: entry %q is not a CIDR (10.0.0.0/8), an address (127.0.0.1, [::1]:8080), a host name (tfs.example.com, *.example.com, tfs.example.com:8443) or the word loopback: %v", setting, e, err)
		}
		rules = append(rules, rs...)
	}
	return rules, nil
}

func parseRule(e string) ([]Rule, error) {
	if strings.EqualFold(e, "loopback") {
		return Loopback(), nil
	}
	if strings.Contains(e, "/") {
		p, err := netip.ParsePrefix(e)
		if err != nil {
			return nil, err
		}
		return []Rule{{Prefix: normalizePrefix(p)}}, nil
	}
	if ip, err := netip.ParseAddr(e); err == nil {
		return []Rule{{Prefix: netip.PrefixFrom(normalize(ip), normalize(ip).BitLen())}}, nil
	}
	if ap, err := netip.ParseAddrPort(e); err == nil {
		if ap.Port() == 0 {
			return nil, fmt.Errorf("port 0")
		}
		ip := normalize(ap.Addr())
		return []Rule{{Prefix: netip.PrefixFrom(ip, ip.BitLen()), Port: ap.Port()}}, nil
	}
	host, port := e, uint16(0)
	if h, p, err := net.SplitHostPort(e); err == nil {
		n, err := strconv.ParseUint(p, 10, 16)
		if err != nil || n == 0 {
			return nil, fmt.Errorf("the port must be 1 to 65535")
		}
		host, port = h, uint16(n)
	}
	name := normalizeName(host)
	if !validName(name) {
		return nil, fmt.Errorf("not a valid host name")
	}
	if _, ok := parseLegacyIPv4(name); ok {
		return nil, fmt.Errorf("write the address in dotted decimal form")
	}
	return []Rule{{Host: name, Port: port}}, nil
}

func validName(name string) bool {
	if name == "" || len(name) > 253 {
		return false
	}
	check := strings.TrimPrefix(name, "*.")
	for _, label := range strings.Split(check, ".") {
		if label == "" || len(label) > 63 {
			return false
		}
		for _, c := range label {
			if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
				return false
			}
		}
	}
	return true
}

// normalizeName lower-cases a host name and drops a trailing dot.
func normalizeName(h string) string {
	return strings.TrimSuffix(strings.ToLower(strings.TrimSpace(h)), ".")
}

// normalize unmaps an IPv4-mapped IPv6 address and drops a zone.
func normalize(ip netip.Addr) netip.Addr { return ip.Unmap().WithZone("") }

func normalizePrefix(p netip.Prefix) netip.Prefix {
	ip := p.Addr()
	bits := p.Bits()
	if ip.Is4In6() && bits >= 96 {
		ip, bits = ip.Unmap(), bits-96
	}
	return netip.PrefixFrom(ip.WithZone(""), bits).Masked()
}

// refusedClass is one default refusal, with its name for logs.
type refusedClass struct {
	prefix netip.Prefix
	what   string
}

var defaultRefused = []refusedClass{
	{netip.MustParsePrefix("127.0.0.0/8"), "loopback"},
	{netip.MustParsePrefix("::1/128"), "loopback"},
	{netip.MustParsePrefix("0.0.0.0/8"), "unspecified"},
	{netip.MustParsePrefix("::/128"), "unspecified"},
	{netip.MustParsePrefix("169.254.0.0/16"), "link-local"},
	{netip.MustParsePrefix("fe80::/10"), "link-local"},
	{netip.MustParsePrefix("224.0.0.0/4"), "multicast"},
	{netip.MustParsePrefix("ff00::/8"), "multicast"},
	{netip.MustParsePrefix("255.255.255.255/32"), "broadcast"},
	{netip.MustParsePrefix("fd00:ec2::254/128"), "cloud metadata"},
	{netip.MustParsePrefix("100.100.100.200/32"), "cloud metadata"},
	// Azure's WireServer (and its HostGAPlugin on port 32526): the platform's channel to the
	// VM agent, reachable from every Azure VM although it is not link-local.
	{netip.MustParsePrefix("168.63.129.16/32"), "cloud metadata"},
	// Local-use NAT64 (RFC 8215): where the IPv4 address sits depends on the operator's
	// prefix length, so it cannot be checked; allow the prefix if the deployment uses it.
	{netip.MustParsePrefix("64:ff9b:1::/48"), "local-use NAT64"},
}

// metadataNames are the cloud metadata services' host names, refused by default.
var metadataNames = []string{
	"metadata", "metadata.google.internal", "metadata.goog", "instance-data",
	"instance-data.ec2.internal", "metadata.azure.internal", "metadata.tencentyun.com",
	"metadata.platformequinix.com",
}

var privateRanges = []netip.Prefix{
	netip.MustParsePrefix("10.0.0.0/8"),
	netip.MustParsePrefix("172.16.0.0/12"),
	netip.MustParsePrefix("192.168.0.0/16"),
	netip.MustParsePrefix("100.64.0.0/10"),
	netip.MustParsePrefix("fc00::/7"),
	netip.MustParsePrefix("fec0::/10"), // site-local (deprecated, RFC 3879), routed as private
}

// decide says whether a dial of name (the host name the URL gave; "" for an address) at
// ip:port is allowed, and if not, why (for logs only). An invalid ip decides on the name
// alone (the check before resolution). An IPv6 address that carries an IPv4 address a
// translator or tunnel delivers to (embeddedIPv4) is allowed only when that IPv4 address is
// allowed too.
func (p *Policy) decide(name string, ip netip.Addr, port uint16) (bool, string) {
	ok, why := p.decideOne(name, ip, port)
	if !ok || !ip.IsValid() {
		return ok, why
	}
	for _, v4 := range embeddedIPv4(normalize(ip)) {
		if ok, why := p.decideOne(name, v4, port); !ok {
			return false, normalize(ip).String() + " carries " + v4.String() + ": " + why
		}
	}
	return true, ""
}

// embeddedIPv4 returns the IPv4 addresses an IPv6 address is delivered to or through:
// IPv4-compatible (::a.b.c.d, RFC 4291) and IPv4-translated (::ffff:0:a.b.c.d, RFC 2765)
// addresses, the well-known NAT64 prefix 64:ff9b::/96 (RFC 6052), 6to4 2002::/16 (the
// relay, RFC 3056) and Teredo 2001::/32 (its server and the client, whose address is
// stored inverted, RFC 4380). nil for any other address.
func embeddedIPv4(ip netip.Addr) []netip.Addr {
	if !ip.Is6() {
		return nil
	}
	b := ip.As16()
	v4 := func(x []byte) netip.Addr { return netip.AddrFrom4([4]byte(x)) }
	zero := func(x []byte) bool {
		for _, c := range x {
			if c != 0 {
				return false
			}
		}
		return true
	}
	switch {
	case zero(b[:12]): // IPv4-compatible
		return []netip.Addr{v4(b[12:])}
	case zero(b[:8]) && b[8] == 0xff && b[9] == 0xff && zero(b[10:12]): // IPv4-translated
		return []netip.Addr{v4(b[12:])}
	case nat64.Contains(ip):
		return []netip.Addr{v4(b[12:])}
	case b[0] == 0x20 && b[1] == 0x02: // 6to4
		return []netip.Addr{v4(b[2:6])}
	case b[0] == 0x20 && b[1] == 0x01 && b[2] == 0 && b[3] == 0: // Teredo
		client := [4]byte{^b[12], ^b[13], ^b[14], ^b[15]}
		return []netip.Addr{v4(b[4:8]), netip.AddrFrom4(client)}
	}
	return nil
}

var nat64 = netip.MustParsePrefix("64:ff9b::/96")

// allows reports whether an Allow entry names a dial of name at ip:port (not whether the
// dial is allowed: see decide).
func (p *Policy) allows(name string, ip netip.Addr, port uint16) bool {
	name = normalizeName(name)
	for _, r := range p.Allow {
		if r.matches(name, normalize(ip), port) {
			return true
		}
	}
	return false
}

// decideOne is decide for one address, without looking into it.
func (p *Policy) decideOne(name string, ip netip.Addr, port uint16) (bool, string) {
	name = normalizeName(name)
	if ip.IsValid() {
		ip = normalize(ip)
	}
	for _, r := range p.Deny {
		if r.matches(name, ip, port) {
			return false, "denied by the deny-destinations entry " + r.String()
		}
	}
	for _, r := range p.Allow {
		if r.matches(name, ip, port) {
			return true, ""
		}
	}
	for _, m := range metadataNames {
		if name == m {
			return false, "a cloud metadata host name"
		}
	}
	if !ip.IsValid() {
		return true, ""
	}
	for _, c := range defaultRefused {
		if c.prefix.Contains(ip) {
			return false, ip.String() + " is " + c.what
		}
	}
	if p.DenyPrivateNetworks {
		for _, r := range privateRanges {
			if r.Contains(ip) {
				return false, ip.String() + " is private and deny-private-networks is set"
			}
		}
	}
	return true, ""
}

// parseLegacyIPv4 reads the forms of an IPv4 address that inet_aton, browsers and curl
// accept besides dotted decimal: one to four parts, each decimal, octal (leading 0) or hex
// (0x), the last part filling the remaining bytes ("2130706433", "0177.0.0.1", "127.1",
// "0x7f000001"). ok is false for anything else, including a name with a letter outside hex.
func parseLegacyIPv4(s string) (netip.Addr, bool) {
	parts := strings.Split(s, ".")
	if len(parts) == 0 || len(parts) > 4 {
		return netip.Addr{}, false
	}
	vals := make([]uint64, len(parts))
	for i, p := range parts {
		base, digits := 10, p
		switch {
		case strings.HasPrefix(p, "0x") || strings.HasPrefix(p, "0X"):
			base, digits = 16, p[2:]
			if digits == "" {
				digits = "0"
			}
		case len(p) > 1 && p[0] == '0':
			base, digits = 8, p[1:]
		}
		v, err := strconv.ParseUint(digits, base, 32)
		if err != nil || p == "" {
			return netip.Addr{}, false
		}
		vals[i] = v
	}
	var n uint64
	for i, v := range vals[:len(vals)-1] {
		if v > 255 {
			return netip.Addr{}, false
		}
		n |= v << (24 - 8*i)
	}
	last := vals[len(vals)-1]
	if last >= 1<<(8*(5-len(vals))) {
		return netip.Addr{}, false
	}
	n |= last
	return netip.AddrFrom4([4]byte{byte(n >> 24), byte(n >> 16), byte(n >> 8), byte(n)}), true
}

// literal reads host (a URL's host name, brackets removed) as an address in any form a
// dialer or another tool would: netip's forms, IPv4-mapped IPv6, and the legacy IPv4
// forms of parseLegacyIPv4.
func literal(host string) (netip.Addr, bool) {
	host = strings.TrimSuffix(strings.Trim(host, "[]"), ".")
	if ip, err := netip.ParseAddr(host); err == nil {
		return normalize(ip), true
	}
	return parseLegacyIPv4(host)
}

// ParsePolicy reads the operator's settings: allow and deny are the comma-separated lists of
// --allow-destinations and --deny-destinations (see ParseRules). Errors name the flag and
// the entry.
func ParsePolicy(allow, deny string, denyPrivateNetworks bool) (Policy, error) {
	a, err := ParseRules("--allow-destinations", allow)
	if err != nil {
		return Policy{}, err
	}
	d, err := ParseRules("--deny-destinations", deny)
	if err != nil {
		return Policy{}, err
	}
	return Policy{Allow: a, Deny: d, DenyPrivateNetworks: denyPrivateNetworks}, nil
}

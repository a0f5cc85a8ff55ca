package services

import "testing"

// A host key is trusted for the "host:port" that showed it: host names without case or a
// final dot, ports as numbers, IPv6 in brackets.
func TestSameSSHAddr(t *testing.T) {
	for _, c := range []struct {
		a, b string
		same bool
	}{
		{"tfs.example.com:22", "TFS.Example.com.:22", true},
		{"[::1]:2222", "[0:0:0:0:0:0:0:1]:2222", false}, // the text gitops reports is compared, not addresses
		{"[::1]:2222", "[::1]:2222", true},
		{"tfs.example.com:22", "tfs.example.com:2222", false},
		{"tfs.example.com:22", "evil.example.com:22", false},
		{"tfs.example.com:022", "tfs.example.com:22", true},
		{"", "tfs.example.com:22", false},
		{"tfs.example.com", "tfs.example.com", false},
	} {
		if got := sameSSHAddr(c.a, c.b); got != c.same {
			t.Errorf("sameSSHAddr(%q, %q) = %v, want %v", c.a, c.b, got, c.same)
		}
	}
	fp := "SHA256:ohD8VZEXGWo6Ez8GSEJQ9WpafgLFsOfLOtGGQCQo6Og"
	if !hasFingerprint([]string{"x", "ohD8VZEXGWo6Ez8GSEJQ9WpafgLFsOfLOtGGQCQo6Og="}, fp) || hasFingerprint([]string{"SHA256:" + fp[8:] + "A"}, fp) || hasFingerprint(nil, fp) {
		t.Error("hasFingerprint does not compare normalized fingerprints")
	}
}

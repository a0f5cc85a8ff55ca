package azuredevops

import (
	"slices"
	"testing"
)

func TestSSHCloneURL(t *testing.T) {
	ipv6 := Endpoint{Scheme: "https", Host: "[2001:db8::1]:8443", Collection: "DefaultCollection"}
	noVD := Endpoint{Scheme: "http", Host: "tfs", Collection: "DefaultCollection"}
	deepVD := Endpoint{Scheme: "https", Host: "tfs.example.com", VirtualDirectory: "a b/tfs", Collection: "Coll"}
	for _, tc := range []struct {
		name          string
		ep            Endpoint
		project, repo string
		port          int
		want          string
	}{
		{"services", servicesEP, "Fabrikam", "Fiber", 0, "git@ssh.dev.azure.com:v3/fabrikam/Fabrikam/Fiber"},
		{"services ignores the port", servicesEP, "P", "R", 2222, "git@ssh.dev.azure.com:v3/fabrikam/P/R"},
		{"services escapes names", servicesEP, "My Project", "a+b@c", 0, "git@ssh.dev.azure.com:v3/fabrikam/My%20Project/a%2Bb%40c"},
		{"legacy host gets the current one", legacyEP, "P", "R", 0, "git@ssh.dev.azure.com:v3/fabrikam/P/R"},
		{"server default port, http port dropped", serverEP, "P", "R", 0, "ssh://tfs.example.com:22/tfs/DefaultCollection/P/_git/R"},
		{"server port", serverEP, "P", "R", 2222, "ssh://tfs.example.com:2222/tfs/DefaultCollection/P/_git/R"},
		{"server bad port means 22", serverEP, "P", "R", 70000, "ssh://tfs.example.com:22/tfs/DefaultCollection/P/_git/R"},
		{"server no virtual directory", noVD, "P", "R", 22, "ssh://tfs:22/DefaultCollection/P/_git/R"},
		{"server escapes", deepVD, "My Project", "r+1", 22, "ssh://tfs.example.com:22/a%20b/tfs/Coll/My%20Project/_git/r%2B1"},
		{"server ipv6", ipv6, "P", "R", 0, "ssh://[2001:db8::1]:22/DefaultCollection/P/_git/R"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := SSHCloneURL(tc.ep, tc.project, tc.repo, tc.port)
			if got != tc.want {
				t.Fatalf("SSHCloneURL = %q, want %q", got, tc.want)
			}
			// The remote URL parser reads the same repository back.
			r, err := ParseRemoteURLWithVirtualDirectory(got, tc.ep.VirtualDirectory)
			if err != nil {
				t.Fatalf("ParseRemoteURL(%q): %v", got, err)
			}
			if r.Scheme != "ssh" || r.Kind != tc.ep.Kind() || r.Collection != tc.ep.Collection || r.Project != tc.project || r.Repository != tc.repo {
				t.Errorf("parsed back as %+v", r)
			}
			if r.Kind == KindServer && (r.VirtualDirectory != tc.ep.VirtualDirectory || r.Host != tc.ep.Hostname() && "["+r.Host+"]" != tc.ep.Hostname()) {
				t.Errorf("parsed back host %q vd %q, endpoint %q %q", r.Host, r.VirtualDirectory, tc.ep.Hostname(), tc.ep.VirtualDirectory)
			}
		})
	}
}

func TestSSHPublicKeysURL(t *testing.T) {
	for _, tc := range []struct {
		ep   Endpoint
		want string
	}{
		{servicesEP, "https://dev.azure.com/fabrikam/_usersSettings/keys"},
		{legacyEP, "https://fabrikam.visualstudio.com/_usersSettings/keys"},
		{serverEP, "https://tfs.example.com:8443/tfs/DefaultCollection/_usersSettings/keys"},
		{Endpoint{Scheme: "http", Host: "tfs", Collection: "My Coll"}, "http://tfs/My%20Coll/_usersSettings/keys"},
	} {
		if got := SSHPublicKeysURL(tc.ep); got != tc.want {
			t.Errorf("SSHPublicKeysURL(%+v) = %q, want %q", tc.ep, got, tc.want)
		}
	}
}

func TestServicesSSHHostKeys(t *testing.T) {
	if !slices.Equal(ServicesSSHHostKeyFingerprints, []string{"SHA256:ohD8VZEXGWo6Ez8GSEJQ9WpafgLFsOfLOtGGQCQo6Og"}) {
		t.Fatalf("published fingerprints changed: %v (docs/ssh.md cites the source)", ServicesSSHHostKeyFingerprints)
	}
	for _, fp := range ServicesSSHHostKeyFingerprints {
		if n, ok := NormalizeSSHFingerprint(fp); !ok || n != fp {
			t.Errorf("published fingerprint %q is not in Fingerprint's form", fp)
		}
	}
	pins := ServicesHostKeyFingerprints()
	if !slices.Equal(pins, ServicesSSHHostKeyFingerprints) {
		t.Fatalf("Services pins %v", pins)
	}
	pins[0] = "changed"
	if ServicesSSHHostKeyFingerprints[0] == "changed" {
		t.Fatal("ServicesHostKeyFingerprints returned the package's own slice")
	}
}

func TestNormalizeSSHFingerprint(t *testing.T) {
	const fp = "SHA256:ohD8VZEXGWo6Ez8GSEJQ9WpafgLFsOfLOtGGQCQo6Og"
	for in, want := range map[string]string{
		fp:               fp,
		"  " + fp + "\n": fp,
		"sha256:ohD8VZEXGWo6Ez8GSEJQ9WpafgLFsOfLOtGGQCQo6Og":  fp,
		"ohD8VZEXGWo6Ez8GSEJQ9WpafgLFsOfLOtGGQCQo6Og":         fp,
		"ohD8VZEXGWo6Ez8GSEJQ9WpafgLFsOfLOtGGQCQo6Og=":        fp,
		"97:70:33:82:fd:29:3a:73:39:af:6a:07:ad:f8:80:49":     "",
		"SHA256:ohD8VZEXGWo6Ez8GSEJQ9WpafgLFsOfLOtGGQCQo6O":   "",
		"SHA256:ohD8VZEXGWo6Ez8GSEJQ9WpafgLFsOfLOtGGQCQo6Og1": "",
		"":        "",
		"SHA256:": "",
		"MD5:97:70:33:82:fd:29:3a:73:39:af:6a:07:ad:f8:80:49": "",
	} {
		got, ok := NormalizeSSHFingerprint(in)
		if got != want || ok != (want != "") {
			t.Errorf("NormalizeSSHFingerprint(%q) = %q, %v; want %q", in, got, ok, want)
		}
	}
}

package services

import "testing"

// The SSH URLs of Azure DevOps, as REST answers and azuredevops.SSHCloneURL write them: the
// port they name (22 when none), and the URL with the connection's port override.
func TestSSHURLPort(t *testing.T) {
	for _, c := range []struct {
		in       string
		port     int
		override string // with port 2222
	}{
		{"git@ssh.dev.azure.com:v3/org/My%20Project/repo", 22, "ssh://git@ssh.dev.azure.com:2222/v3/org/My%20Project/repo"},
		{"org@vs-ssh.visualstudio.com:v3/org/p/r", 22, "ssh://org@vs-ssh.visualstudio.com:2222/v3/org/p/r"},
		{"ssh://tfs.example.com:22/tfs/DefaultCollection/P/_git/R", 22, "ssh://tfs.example.com:2222/tfs/DefaultCollection/P/_git/R"},
		{"ssh://git@127.0.0.1:40123/v3/fabrikam/p/r", 40123, "ssh://git@127.0.0.1:2222/v3/fabrikam/p/r"},
		{"ssh://[::1]:29418/DefaultCollection/P/_ssh/R", 29418, "ssh://[::1]:2222/DefaultCollection/P/_ssh/R"},
		{"ssh://host/c/p/_git/r", 22, "ssh://host:2222/c/p/_git/r"},
	} {
		norm, port, err := sshURLForm(c.in)
		if err != nil || port != c.port {
			t.Errorf("%s: port %d %v, want %d", c.in, port, err, c.port)
			continue
		}
		if got := withPort(norm, 2222); got != c.override {
			t.Errorf("%s with port 2222: %s, want %s", c.in, got, c.override)
		}
	}
	for _, bad := range []string{"", "https://dev.azure.com/o/p/_git/r", "ssh://:22/x", "host-without-path", "ssh://h:99999/x", "ssh://h:x/y"} {
		if _, _, err := sshURLForm(bad); err == nil {
			t.Errorf("%q was read as an SSH URL", bad)
		}
	}
}

// The sshUrl of a REST answer is the server's text: any of it is read without panicking, and
// a URL read gives a port in range whose override reads back with the new port.
func FuzzSSHURLForm(f *testing.F) {
	for _, s := range []string{"git@ssh.dev.azure.com:v3/o/p/r", "ssh://h:22/c/p/_git/r", "ssh://[::1]:1/x", "a@b:c", "ssh://h:0/x", "ssh://%zz/x", "@:"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		norm, port, err := sshURLForm(raw)
		if err != nil {
			return
		}
		if port < 1 || port > 65535 {
			t.Fatalf("%q: port %d", raw, port)
		}
		if _, p, err := sshURLForm(withPort(norm, 2222)); err != nil || p != 2222 {
			t.Fatalf("%q → %q with port 2222: %d %v", raw, withPort(norm, 2222), p, err)
		}
	})
}

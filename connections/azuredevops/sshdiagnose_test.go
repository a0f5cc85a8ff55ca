package azuredevops

import (
	"errors"
	"strings"
	"testing"

	"github.com/repoconnect/repoconnect/connections"
)

func TestClassifySSHAuthFailure(t *testing.T) {
	for _, tc := range []struct {
		ep   Endpoint
		ver  string
		typ  SSHKeyType
		want connections.Reason
	}{
		{servicesEP, "services", SSHKeyRSA, connections.ReasonSSHKeyNotAdded},
		{servicesEP, "services", SSHKeyEd25519, connections.ReasonSSHKeyTypeRefused},
		{servicesEP, "", SSHKeyECDSA, connections.ReasonSSHKeyTypeRefused},
		{serverEP, "2022.1", SSHKeyRSA, connections.ReasonSSHKeyNotAdded},
		{serverEP, "2020", SSHKeyEd25519, connections.ReasonSSHKeyTypeRefused},
		{serverEP, "", "", connections.ReasonSSHKeyNotAdded},
	} {
		if got := ClassifySSHAuthFailure(tc.ep, tc.ver, tc.typ); got != tc.want {
			t.Errorf("ClassifySSHAuthFailure(%s, %q, %q) = %s, want %s", tc.ep.Host, tc.ver, tc.typ, got, tc.want)
		}
	}
}

func TestDescribeSSHRefusal(t *testing.T) {
	const keyFP = "SHA256:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
	const otherFP = "SHA256:BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB"
	for _, tc := range []struct {
		name    string
		ep      Endpoint
		ver     string
		f       SSHFailure
		kind    error
		says    []string
		notSays []string
	}{
		{"not added services", servicesEP, "services", SSHFailure{Reason: connections.ReasonSSHKeyNotAdded, KeyType: SSHKeyRSA, KeyFingerprint: keyFP},
			connections.ErrUnauthorized, []string{"Azure DevOps Services refused", keyFP, "User settings > SSH public keys", "https://dev.azure.com/fabrikam/_usersSettings/keys", "one year"}, nil},
		{"not added server", serverEP, "2022", SSHFailure{Reason: connections.ReasonSSHKeyNotAdded},
			connections.ErrUnauthorized, []string{"Azure DevOps Server 2022 refused", "https://tfs.example.com:8443/tfs/DefaultCollection/_usersSettings/keys"}, []string{"one year", "()"}},
		{"type refused", servicesEP, "services", SSHFailure{Reason: connections.ReasonSSHKeyTypeRefused, KeyType: SSHKeyEd25519},
			connections.ErrUnauthorized, []string{"does not accept Ed25519 SSH keys", "RSA keys only", "2048"}, nil},
		{"type refused, type unknown", serverEP, "", SSHFailure{Reason: connections.ReasonSSHKeyTypeRefused},
			connections.ErrUnauthorized, []string{"the Azure DevOps Server at tfs.example.com does not accept this type of SSH keys"}, nil},
		{"disabled server", serverEP, "2020", SSHFailure{Reason: connections.ReasonSSHDisabled, Port: 22},
			connections.ErrUnreachable, []string{"tfs.example.com:22", "turned off on Azure DevOps Server 2020", "Administration Console", "HTTPS"}, nil},
		{"disabled services", servicesEP, "", SSHFailure{Reason: connections.ReasonSSHDisabled, Port: 2222},
			connections.ErrUnreachable, []string{"ssh.dev.azure.com:22", "firewall"}, []string{"Administration Console", "2222"}},
		{"wrong port web", serverEP, "2022", SSHFailure{Reason: connections.ReasonSSHWrongPort, Port: 443},
			connections.ErrUnreachable, []string{"tfs.example.com:443 answers, but not with SSH", "web port", "Clone > SSH", "default is 22"}, nil},
		{"wrong port default", serverEP, "2022", SSHFailure{Reason: connections.ReasonSSHWrongPort},
			connections.ErrUnreachable, []string{"tfs.example.com:22 answers"}, []string{"web port"}},
		{"host key changed services", servicesEP, "services", SSHFailure{Reason: connections.ReasonHostKeyChanged, HostKeyFingerprint: otherFP},
			connections.ErrHostKey, []string{otherFP, ServicesSSHHostKeyFingerprints[0], "the fingerprint Microsoft publishes", "nothing was sent",
				"https://dev.azure.com/fabrikam/_usersSettings/keys", "Microsoft rotated its key", "repoconnect serve --services-ssh-host-key", "intercepting"},
			[]string{"accepts it", "accept-host-key", "confirm it"}},
		// The Services simulator on loopback (the demo): the host dialled and the connection's
		// own page are named, not ssh.dev.azure.com and dev.azure.com; the pins are the operator's.
		{"host key changed services, dialled elsewhere", servicesEP, "services", SSHFailure{Reason: connections.ReasonHostKeyChanged, HostKeyFingerprint: otherFP,
			PinnedFingerprints: []string{keyFP}, Host: "127.0.0.1:2222", AddKeyURL: "http://127.0.0.1:8080/fabrikam/_usersSettings/keys"},
			connections.ErrHostKey, []string{"127.0.0.1:2222 presented", "(" + keyFP + "; Microsoft publishes " + ServicesSSHHostKeyFingerprints[0] + ")",
				"http://127.0.0.1:8080/fabrikam/_usersSettings/keys", "--services-ssh-host-key"},
			[]string{"ssh.dev.azure.com", "https://dev.azure.com/"}},
		{"not added, own page", servicesEP, "services", SSHFailure{Reason: connections.ReasonSSHKeyNotAdded, AddKeyURL: "http://127.0.0.1:8080/fabrikam/_usersSettings/keys"},
			connections.ErrUnauthorized, []string{"(http://127.0.0.1:8080/fabrikam/_usersSettings/keys)"}, []string{"https://dev.azure.com/"}},
		{"host key changed server", serverEP, "2022", SSHFailure{Reason: connections.ReasonHostKeyChanged, HostKeyFingerprint: otherFP, PinnedFingerprints: []string{keyFP}, Port: 2222},
			connections.ErrHostKey, []string{"tfs.example.com:2222 changed", "now " + otherFP, "not " + keyFP, "every clone", "accepts it"}, nil},
		{"host key unconfirmed", serverEP, "2022", SSHFailure{Reason: connections.ReasonHostKeyUnconfirmed, HostKeyFingerprint: otherFP},
			connections.ErrHostKey, []string{"tfs.example.com:22 presented the SSH host key " + otherFP, "confirm", "nothing was sent"}, nil},
		{"host key unconfirmed, none seen", serverEP, "2022", SSHFailure{Reason: connections.ReasonHostKeyUnconfirmed},
			connections.ErrHostKey, []string{"(not recorded)"}, nil},
		{"dialed host given", servicesEP, "", SSHFailure{Reason: connections.ReasonSSHDisabled, Host: "127.0.0.1:2222"},
			connections.ErrUnreachable, []string{"at 127.0.0.1:2222"}, []string{"ssh.dev.azure.com"}},
		{"unknown reason", serverEP, "2022", SSHFailure{Reason: "mystery"},
			connections.ErrProtocol, []string{"does not recognize"}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := DescribeSSHRefusal(tc.ep, tc.ver, tc.f)
			if !errors.Is(e, tc.kind) {
				t.Errorf("kind %v, want %v", e.Kind, tc.kind)
			}
			if tc.kind != connections.ErrProtocol && e.Reason != tc.f.Reason {
				t.Errorf("reason %q, want %q", e.Reason, tc.f.Reason)
			}
			for _, s := range tc.says {
				if !strings.Contains(e.Message, s) {
					t.Errorf("message %q lacks %q", e.Message, s)
				}
			}
			for _, s := range tc.notSays {
				if strings.Contains(e.Message, s) {
					t.Errorf("message %q has %q", e.Message, s)
				}
			}
		})
	}
}

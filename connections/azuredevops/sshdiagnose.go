package azuredevops

// The sentences of SSH failures (docs/ssh.md): what the SSH client observed, said for the
// deployment, with the place that fixes it.

import (
	"net"
	"strconv"
	"strings"

	"github.com/repoconnect/repoconnect/connections"
)

// SSHFailure is what an SSH attempt observed, as the SSH client (package gitops, the check in
// package services) tells it apart.
type SSHFailure struct {
	// Reason is one of connections.ReasonSSHKeyNotAdded, ReasonSSHKeyTypeRefused,
	// ReasonSSHDisabled, ReasonSSHWrongPort, ReasonHostKeyChanged, ReasonHostKeyUnconfirmed.
	// An authentication refusal can be classified with ClassifySSHAuthFailure.
	Reason connections.Reason
	// KeyType and KeyFingerprint are the connection key's ("SHA256:…"); either may be empty.
	KeyType        SSHKeyType
	KeyFingerprint string
	// Port is the SSH port tried; 0 means 22.
	Port int
	// Host is the "host:port" actually dialed, when it is not ep's own SSH host (a simulator
	// standing in for Services on loopback); "" derives it from ep and Port.
	Host string
	// AddKeyURL is the page where the user adds the public key (User settings > SSH public
	// keys) of the connection's own endpoint; "" derives it from ep (SSHPublicKeysURL).
	AddKeyURL string
	// HostKeyFingerprint is the host key the server presented; PinnedFingerprints the ones
	// trusted before (host key reasons only).
	HostKeyFingerprint string
	PinnedFingerprints []string
}

// ClassifySSHAuthFailure names the reason of a refused public-key authentication: SSH does
// not say why a key was refused, and Azure DevOps refuses a type it does not accept exactly
// as it refuses a key nobody added. A key of a type the deployment does not accept is
// ssh_key_type_refused; any other refused key is ssh_key_not_added.
func ClassifySSHAuthFailure(ep Endpoint, serverVersion string, keyType SSHKeyType) connections.Reason {
	if keyType != "" && !SSHKeyPolicyFor(ep, serverVersion).Accepts(keyType) {
		return connections.ReasonSSHKeyTypeRefused
	}
	return connections.ReasonSSHKeyNotAdded
}

// DescribeSSHRefusal is the error a user sees for f at ep: kind ErrUnauthorized for the key
// reasons, ErrUnreachable for ssh_disabled and ssh_wrong_port, ErrHostKey for the host key
// reasons, with f.Reason and a sentence that names the deployment (given its release as the
// token check reports it), the host and port, the fingerprints involved, and the place that
// fixes it (User settings > SSH public keys with its URL; the Server's Administration
// Console; the repository's SSH clone URL). It never names the private key. An unknown reason
// gives kind ErrProtocol with a general sentence.
func DescribeSSHRefusal(ep Endpoint, serverVersion string, f SSHFailure) *connections.Error {
	p := SSHKeyPolicyFor(ep, serverVersion)
	services := ep.Kind() == KindServices
	host := f.Host
	if host == "" {
		host = sshHostPort(ep, f.Port)
	}
	if f.AddKeyURL == "" {
		f.AddKeyURL = SSHPublicKeysURL(ep)
	}
	keyName := "the connection's SSH key"
	if f.KeyFingerprint != "" {
		keyName += " (" + f.KeyFingerprint + ")"
	}
	var kind error
	var msg string
	switch f.Reason {
	case connections.ReasonSSHKeyNotAdded:
		kind = connections.ErrUnauthorized
		msg = p.Server + " refused " + keyName + ": add its public key under User settings > SSH public keys (" +
			f.AddKeyURL + "), signed in as a user who can read the repository"
		if services {
			msg += "; keys added there expire after one year, so add it again if it was added before"
		}
	case connections.ReasonSSHKeyTypeRefused:
		kind = connections.ErrUnauthorized
		typ := "this type of"
		if f.KeyType != "" {
			typ = f.KeyType.Display()
		}
		msg = p.Server + " does not accept " + typ + " SSH keys; it accepts " + p.TypeList() +
			" keys only: let repoconnect generate a new key, or supply an " + p.TypeList() + " key of " +
			strconv.Itoa(p.MinRSABits) + " bits or more"
	case connections.ReasonSSHDisabled:
		kind = connections.ErrUnreachable
		if services {
			msg = "nothing accepted an SSH connection at " + host + "; a firewall between repoconnect and Azure DevOps Services may block outbound port 22: clone over HTTPS, or ask the operator to open it"
		} else {
			msg = "nothing accepts SSH connections at " + host + ": SSH is turned off on " + p.Server +
				", or a firewall blocks the port. A server administrator turns SSH on and sets its port in the Azure DevOps Server Administration Console (Application Tier); clone over HTTPS meanwhile"
		}
	case connections.ReasonSSHWrongPort:
		kind = connections.ErrUnreachable
		msg = host + " answers, but not with SSH"
		if f.Port == 80 || f.Port == 443 || f.Port == 8080 {
			msg += " (it is a web port)"
		}
		msg += ": the SSH port is the one in the repository's SSH clone URL (Clone > SSH)"
		if !services {
			msg += " and in the Administration Console's SSH settings; the default is 22"
		}
	case connections.ReasonHostKeyChanged:
		kind = connections.ErrHostKey
		msg = describeHostKeyChanged(ep, p, host, f)
	case connections.ReasonHostKeyUnconfirmed:
		kind = connections.ErrHostKey
		msg = host + " presented the SSH host key " + orUnknown(f.HostKeyFingerprint) +
			", which nobody has confirmed yet: compare it with the server's own (an administrator sees it with ssh-keygen -lf on the server's host key file) and confirm it to use SSH; nothing was sent to the server"
	default:
		return connections.Errorf(connections.ErrProtocol, connections.ReasonProtocol,
			"the SSH connection to %s failed in a way repoconnect does not recognize", host)
	}
	return connections.Errorf(kind, f.Reason, "%s", msg)
}

// describeHostKeyChanged is the sentence of host_key_changed.
func describeHostKeyChanged(ep Endpoint, p SSHKeyPolicy, host string, f SSHFailure) string {
	pinned := f.PinnedFingerprints
	if len(pinned) == 0 && ep.Kind() == KindServices {
		pinned = ServicesSSHHostKeyFingerprints
	}
	was := "the one trusted"
	if len(pinned) > 0 {
		was = strings.Join(pinned, " or ")
	}
	if ep.Kind() == KindServices {
		published := strings.Join(ServicesSSHHostKeyFingerprints, " or ")
		if was == published {
			was += ", the fingerprint Microsoft publishes"
		} else {
			was += "; Microsoft publishes " + published
		}
		return host + " presented the SSH host key " + orUnknown(f.HostKeyFingerprint) + ", not the one repoconnect trusts for " +
			p.Server + " (" + was + "); nothing was sent. " + p.Server + "' host key is pinned by the service, not accepted on a connection: " +
			"either Microsoft rotated its key, and the operator, after comparing the new fingerprint with Microsoft's published one (the Learn page \"Use SSH key authentication\", and your SSH public keys page, " +
			f.AddKeyURL + "), starts the service with `repoconnect serve --services-ssh-host-key <fingerprint>`; " +
			"or something between repoconnect and Azure DevOps is intercepting the connection: tell the operator, and clone over HTTPS meanwhile"
	}
	return "the SSH host key of " + host + " changed: it is now " + orUnknown(f.HostKeyFingerprint) + ", not " + was +
		" as confirmed; nothing was sent, and every clone of this connection stops until an operator or the user compares the new key with the server's and accepts it"
}

// sshHostPort is "host:port" of ep's SSH server for a sentence.
func sshHostPort(ep Endpoint, port int) string {
	if port <= 0 {
		port = DefaultSSHPort
	}
	host := ep.Hostname()
	if ep.Kind() == KindServices {
		host, port = ServicesSSHHost, DefaultSSHPort
	}
	return net.JoinHostPort(host, strconv.Itoa(port))
}

func orUnknown(fp string) string {
	if fp == "" {
		return "(not recorded)"
	}
	return fp
}

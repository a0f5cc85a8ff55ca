package azdosim

import (
	"fmt"
	"strings"

	"golang.org/x/crypto/ssh"
)

// DefaultSSHHostKey is the simulator's own SSH host key: an RSA 3072 private key in OpenSSH
// PEM form, generated once with `ssh-keygen -t rsa -b 3072` and fixed in the source so that
// every simulator presents the same host key across runs (Azure DevOps Services' host key is
// RSA as well). It is a simulator's published host key, not a secret: anyone may read it, and
// nothing but the simulator may trust it. Its fingerprint is DefaultSSHHostKeyFingerprint.
const DefaultSSHHostKey = `-----BEGIN OPENSSH PRIVATE KEY-----
b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAABlwAAAAdzc2gtcn
NhAAAAAwEAAQAAAYEApDVtYezBy5GQPppM6BqIFLcFVLWm7/dHLTrqlkBwJgqPb7QYGw6n
VpjHnETXjaViXDF3J6OzwApSUzGwKpybVrXMb8n28yDKBAgiGtCr7vRqTMn57RAGLQEt0V
Ja0f+lQHQRIDVfm8dao0sOQMais0ri4ZK39EPxMrsfBTFQMbx/0BnZQtPdlZ9aDHzG5YtS
LcyacGe9CnZxSrd5Brudt0WM1seSsSvFwp6YKOCN1jAUhAofkOxc5dRubPyCMQ40+Gkfk+
2MWc59NDX2pa0q/lcuzSUVlCitKraR8a8+KpUmrqq41OWcKs07pS8Ogjksr9tAGgAo8bGL
Wj9HU2FZLF3ZmOAnVjTgzRnhMzFxN4J7fnyuYO7W9NryiO/mTB1o++yyae732eWmDZdBkg
cHZVkgbpiRY/NDleX9plI/JnPD0Ub5AER2PSskUuItRF6BUpUF3j6v9nUFFqJWWQHJ83Jv
4A/fyp3/1dGDdandu29rZSR9jJmzi5+apluVn/aZAAAFiPiCTqj4gk6oAAAAB3NzaC1yc2
EAAAGBAKQ1bWHswcuRkD6aTOgaiBS3BVS1pu/3Ry066pZAcCYKj2+0GBsOp1aYx5xE142l
Ylwxdyejs8AKUlMxsCqcm1a1zG/J9vMgygQIIhrQq+70akzJ+e0QBi0BLdFSWtH/pUB0ES
A1X5vHWqNLDkDGorNK4uGSt/RD8TK7HwUxUDG8f9AZ2ULT3ZWfWgx8xuWLUi3MmnBnvQp2
cUq3eQa7nbdFjNbHkrErxcKemCjgjdYwFIQKH5DsXOXUbmz8gjEONPhpH5PtjFnOfTQ19q
WtKv5XLs0lFZQorSq2kfGvPiqVJq6quNTlnCrNO6UvDoI5LK/bQBoAKPGxi1o/R1NhWSxd
2ZjgJ1Y04M0Z4TMxcTeCe358rmDu1vTa8ojv5kwdaPvssmnu99nlpg2XQZIHB2VZIG6YkW
PzQ5Xl/aZSPyZzw9FG+QBEdj0rJFLiLURegVKVBd4+r/Z1BRaiVlkByfNyb+AP38qd/9XR
g3Wp3btva2UkfYyZs4ufmqZblZ/2mQAAAAMBAAEAAAGAC9Oom1HHisdi+bdNobaY0CZ3FP
5OVeCGo6x8zTHlQerRy4xPjidUiGlRkHY+234ADb7Ro60ShbAt9L2n6rHD2GTDTYE2Lur7
fHsvevnw4DGCCczO74g6FvoLmD9pDiXuUNbrOC7P7N2DWtki338kTxXY2Gv49s1Wl75Kwi
omlKZ3GCsRxFKTwN0syah0/38KKK/1/Ebkd9acW0gdSI2xEsxIvrFkuyukFIaCqV20VCsQ
rIqOx8vWTFwBULUxFU0TXZGazjb7tTeVdzUwNy/Kj6qLqaFaaBbY1wGNftw1CA7Kqods2c
ThVz1zLrIXrqNScSeBzq7hNkqnC541trjizEBePF8WWxNHAnvbrB8w2DfSD1yaGeur2TBC
XaQl+82bCYCqUuwLvXxokW6ObkEydazi1yzZODQDuazI8XTv25IweEO5vW5tmtI0Clg6zS
0dHPybyons4oLhTNgUGMvd2S1JouPAd/pxuy18hI2BRe4DnBYXWapfhuoTPwgV9GNfAAAA
wQCtp+CAr6nnM0uzAwgbc/EKFhaXRmwLoEWkR2qGVo5nhacIZJqumOnv7iTvQuFvJ8Wqd8
Al0fvycyC9lMURn0cPaCbSvGupJJT9Xj+5c9tEL8RRstQFL83vHWvfmQzmbTm1a1T/ezy5
kejpFJwqkwuKi8rKqRuqyTocjbaWKa1Fx1LOksyMuaCxRqs+elEx3RuTi/GEBFgxzJuOI5
9V4L2WuYQdw2ZfYk5Vm/4Jrj2v/tCVBnJKB0gbg6PnmbgyzaUAAADBAOPDdUPlqVCVrseK
jzfhXYjHYnbi666SBQ7NEmFc3WMAuZL1gTYO13aI9uOdlWDX7qPXmNFBaThJ7YSfoeEf3V
BaqKwwBSYlDWQNd05Jpif1QDArh/ZjsesrnXulYfVquZoUWtRdkUs1CIOrw4V96VYNMoav
UqCbAmvx81i66TgiS+85axlU74C8yeDH78HkojbYAvf8pJutPQdc6RO1D72Zv9+NHEJLSX
4kGwzxinpmhPSuIAE9g2/EJto3xVzMVwAAAMEAuJDtVIjmICgcKgPUdTLonYlTi5R7Xtql
AevNn0nup22ErJe84mK3gBg04BZ99oGuCQQZNEwZ3PjwpXCR7y57dpn1BIQXVPPmJw9snb
X61ohFqf48N7N/0T9FHLPDUU5G5qNx5tjD/DEtanBEnWsht/DZZH9iKGrxSHEp9FOD7l6z
EwtEYvZ8DBYMLCRtuJJHoe6Frhg0tmfeDtpZ8UzWSKii1M2bdUqMKvnCuhcFRGG8TVDkZ5
/9YhYk9eRlIX6PAAAAEGF6ZG9zaW0gaG9zdCBrZXkBAg==
-----END OPENSSH PRIVATE KEY-----
`

// DefaultSSHHostKeyFingerprint is DefaultSSHHostKey's SHA-256 fingerprint as `ssh-keygen -l`
// prints it.
const DefaultSSHHostKeyFingerprint = "SHA256:3/6USJ7MhrUMbMj7Pl3+xras/SPCB3Jginqw9NLz5Jw"

// parseHostKey reads a PEM private key (OpenSSH, PKCS#1, PKCS#8 or SEC 1 form, unencrypted) as a
// host key signer. Errors: the key does not parse or is encrypted.
func parseHostKey(pemBytes []byte) (ssh.Signer, error) {
	signer, err := ssh.ParsePrivateKey(pemBytes)
	if err != nil {
		return nil, fmt.Errorf("azdosim: SSH host key: %w", err)
	}
	return signer, nil
}

// SetSSHHostKey replaces the host key the SSH server presents to new connections, to simulate
// a server whose host key changed (a reinstalled Azure DevOps Server). key is a PEM private key
// ([]byte or string) or an ssh.Signer; nil or an empty key restores DefaultSSHHostKey.
// Connections already open keep the key they were made with. Errors: a key that does not
// parse, or another type. Safe while serving.
func (s *Server) SetSSHHostKey(key any) error {
	var signer ssh.Signer
	var err error
	switch k := key.(type) {
	case nil:
		signer, err = parseHostKey([]byte(DefaultSSHHostKey))
	case ssh.Signer:
		signer = k
	case []byte:
		if len(k) == 0 {
			k = []byte(DefaultSSHHostKey)
		}
		signer, err = parseHostKey(k)
	case string:
		if k == "" {
			k = DefaultSSHHostKey
		}
		signer, err = parseHostKey([]byte(k))
	default:
		return fmt.Errorf("azdosim: SetSSHHostKey: want a PEM private key or an ssh.Signer, not %T", key)
	}
	if err != nil {
		return err
	}
	s.sshd.mu.Lock()
	s.sshd.hostKey = signer
	s.sshd.mu.Unlock()
	return nil
}

// AddSSHHostKey adds a host key of another type than the current one (an ssh.Signer), served
// next to it to new connections, to simulate a server that holds keys of several types (an
// OpenSSH-style server with RSA and ECDSA keys): the client's host key algorithm preference
// then chooses which key it is shown. The current key (SSHHostKeyFingerprint, SetSSHHostKey)
// is unchanged. Errors: nil, or a key of the current key's type. Safe while serving.
func (s *Server) AddSSHHostKey(key ssh.Signer) error {
	if key == nil {
		return fmt.Errorf("azdosim: AddSSHHostKey: no key")
	}
	s.sshd.mu.Lock()
	defer s.sshd.mu.Unlock()
	for _, k := range append([]ssh.Signer{s.sshd.hostKey}, s.sshd.extraKey...) {
		if k.PublicKey().Type() == key.PublicKey().Type() {
			return fmt.Errorf("azdosim: AddSSHHostKey: the server already has a %s host key", key.PublicKey().Type())
		}
	}
	s.sshd.extraKey = append(s.sshd.extraKey, key)
	return nil
}

// SSHHostKeyFingerprint returns the SHA256:… fingerprint of the host key the SSH server
// presents now (as `ssh-keygen -lf` prints it for the public key), whether or not SSH is served.
func (s *Server) SSHHostKeyFingerprint() string {
	s.sshd.mu.Lock()
	defer s.sshd.mu.Unlock()
	return ssh.FingerprintSHA256(s.sshd.hostKey.PublicKey())
}

// SSHHostPublicKey returns the host key the SSH server presents now, in authorized_keys form
// ("ssh-rsa AAAA…" without a newline): a known_hosts line is "[127.0.0.1]:{port} " plus it.
func (s *Server) SSHHostPublicKey() string {
	s.sshd.mu.Lock()
	defer s.sshd.mu.Unlock()
	return authorizedKey(s.sshd.hostKey.PublicKey())
}

// authorizedKey is key as an authorized_keys line without a comment or a newline.
func authorizedKey(key ssh.PublicKey) string {
	return strings.TrimSuffix(string(ssh.MarshalAuthorizedKey(key)), "\n")
}

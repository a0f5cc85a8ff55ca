package gitops

import (
	"context"
	"fmt"

	"github.com/go-git/go-git/v5/plumbing/protocol/packp"
	"github.com/go-git/go-git/v5/plumbing/transport"

	"github.com/repoconnect/repoconnect/connections"
)

// MaxSSHBeforePackBytes bounds what an SSH server may send on one connection before the
// pack begins: the handshake, any banner, the reference advertisement (which go-git decodes
// into memory whole), the negotiation that answers the pack request (shallow, ACK and NAK
// lines, which go-git keeps too) and git-upload-pack's stderr, counted as the bytes read from
// the TCP connection. Past it the connection is closed and Clone and ListRefs fail with
// ErrProtocol, reason protocol_error, naming the limit. It is fixed (no setting raises it): 64 MiB is about a million references, far
// beyond any Azure DevOps repository's advertisement. What follows, the pack, is bounded by
// CloneOptions.MaxBytes and Timeout.
//
// Of the stderr, go-git keeps its first line, at most 64 KiB (bufio.Scanner's token
// limit), and discards the rest; of a banner, x/crypto keeps nothing (no BannerCallback);
// of the connection's first bytes, the run keeps greetingBytes.
const MaxSSHBeforePackBytes = 64 << 20

// beforePackError is the refusal of a connection that sent more than limit bytes before the
// pack.
func beforePackError(addr string, limit int64) *connections.Error {
	e := connections.Errorf(connections.ErrProtocol, connections.ReasonProtocol,
		"the SSH server at %s sent more than %s before the pack (its reference advertisement and messages), the fixed limit of this service; the connection was closed",
		addr, formatBytes(limit))
	e.Err = fmt.Errorf("ssh: more than %d bytes read before the pack", limit)
	return e
}

// packSession is a run's upload-pack session (sshGuard): it tells the run when the pack
// begins, from which on the connection's bytes no longer count against
// MaxSSHBeforePackBytes.
type packSession struct {
	transport.UploadPackSession
	run *sshRun
}

// UploadPack asks for the pack and marks the pack phase of the run's connection once go-git
// has read the answer's negotiation (shallow, ACK and NAK lines, which it keeps in memory:
// UploadPack returns when they are decoded), so that they count against the bound too. What
// the connection read by then also holds at most one SSH channel window of the pack (2 MiB in
// x/crypto), far below the bound.
func (s packSession) UploadPack(ctx context.Context, req *packp.UploadPackRequest) (*packp.UploadPackResponse, error) {
	res, err := s.UploadPackSession.UploadPack(ctx, req)
	s.run.packing.Store(true)
	return res, err
}

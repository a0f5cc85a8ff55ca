package gitops

import (
	"context"
	"fmt"

	"github.com/go-git/go-git/v5/plumbing/protocol/packp"
	"github.com/go-git/go-git/v5/plumbing/transport"

	"github.com/repoconnect/repoconnect/connections"
)

// MaxSSHBeforePackBytes bounds what an SSH server may send on one connection before the
// pack is asked for (transport.UploadPackSession.UploadPack): the handshake, any banner, the
// reference advertisement (which go-git decodes into memory whole) and git-upload-pack's
// stderr, counted as the bytes read from the TCP connection. Past it the connection is
// closed and Clone and ListRefs fail with ErrProtocol, reason protocol_error, naming the
// limit. It is fixed (no setting raises it): 64 MiB is about a million references, far
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

// packSession is a run's upload-pack session (sshGuard): it tells the run when the pack is
// asked for, from which on the connection's bytes no longer count against
// MaxSSHBeforePackBytes.
type packSession struct {
	transport.UploadPackSession
	run *sshRun
}

// UploadPack marks the pack phase of the run's connection and asks for the pack.
func (s packSession) UploadPack(ctx context.Context, req *packp.UploadPackRequest) (*packp.UploadPackResponse, error) {
	s.run.packing.Store(true)
	return s.UploadPackSession.UploadPack(ctx, req)
}

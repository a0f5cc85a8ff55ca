package gitops

import (
	"io"
)

// negotiationBody is the body of a POST …/git-upload-pack answer over HTTP(S), cut off when
// what comes before the pack is longer than limit bytes. That part is pkt-lines (gitprotocol-
// pack: the shallow-update section of a shallow clone, a flush, then ACK and NAK lines), which
// go-git keeps in memory line by line (every ACK's object id, every shallow line), so an
// endless one would grow the process; the pack that follows begins with a side-band pkt-line
// (band 1, 2 or 3) or, without side-band, with the raw bytes "PACK", and from there on the
// body passes through uncounted (the pack is bounded by CloneOptions.MaxBytes). The bytes are
// passed on unchanged: the body only looks at the pkt-line headers and the first byte of each
// payload, and a header that is not one (not four hex digits) ends the looking, leaving the
// error to go-git's decoder.
type negotiationBody struct {
	io.ReadCloser
	ct    *clonetransport // where the refusal is recorded
	host  string
	limit int64

	read  int64   // bytes of the negotiation so far
	done  bool    // the pack began (or the framing broke): nothing more is counted
	hdr   [4]byte // the current pkt-line header, nh bytes of it so far
	nh    int
	first bool  // the next byte is the first of a payload
	left  int64 // bytes of the current payload still to skip
}

// Read reads from the body and looks at what it read; past the limit it answers with the
// refusal (a *connections.Error, recorded in the clone's transport: go-git quotes it only as
// text).
func (b *negotiationBody) Read(p []byte) (int, error) {
	// read counts the negotiation only, so once past the limit it stays past it, whether the
	// pack began in the same read or not.
	if b.read > b.limit {
		return 0, b.ct.refuse(advertisementError(b.host, b.limit, "negotiation"))
	}
	n, err := b.ReadCloser.Read(p)
	if !b.done {
		b.look(p[:n])
		if b.read > b.limit {
			return 0, b.ct.refuse(advertisementError(b.host, b.limit, "negotiation"))
		}
	}
	return n, err
}

// look advances the pkt-line state over buf, counting the bytes it consumes until the pack
// begins.
func (b *negotiationBody) look(buf []byte) {
	for i := 0; i < len(buf) && !b.done; {
		switch {
		case b.first:
			b.first = false
			if c := buf[i]; c >= 1 && c <= 3 {
				b.done = true // a side-band pkt-line: the pack phase
				return
			}
		case b.left > 0:
			skip := min(b.left, int64(len(buf)-i))
			i += int(skip)
			b.left -= skip
			b.read += skip
		default:
			b.hdr[b.nh] = buf[i]
			b.nh++
			i++
			b.read++
			if b.nh < 4 {
				continue
			}
			b.nh = 0
			if string(b.hdr[:]) == "PACK" {
				b.done = true // a pack without side-band
				return
			}
			size, ok := pktLen(b.hdr)
			if !ok {
				b.done = true // not a pkt-line: go-git's decoder says what is wrong
				return
			}
			if size > 4 {
				b.left, b.first = int64(size-4), true
			}
		}
	}
}

// pktLen reads a pkt-line header's four hex digits (either case, as git's own reader).
func pktLen(h [4]byte) (int, bool) {
	n := 0
	for _, c := range h {
		var d byte
		switch {
		case c >= '0' && c <= '9':
			d = c - '0'
		case c >= 'a' && c <= 'f':
			d = c - 'a' + 10
		case c >= 'A' && c <= 'F':
			d = c - 'A' + 10
		default:
			return 0, false
		}
		n = n<<4 | int(d)
	}
	return n, true
}

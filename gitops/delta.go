package gitops

import (
	"errors"
	"fmt"
)

// errBadDelta is returned for a delta that does not apply to its base.
var errBadDelta = errors.New("malformed delta")

// applyDelta applies a git delta (gitformat-pack: "Deltified representation": the base size
// and the result size as base-128 numbers, then copy and insert instructions) to base and
// returns the result in dst's storage when it is large enough, else in a new slice: one
// allocation of the exact size at most, where go-git's PatchDelta grows a bytes.Buffer.
func applyDelta(dst, base, delta []byte) ([]byte, error) {
	if len(delta) < 4 { // git's DELTA_SIZE_MIN: patch_delta and so index-pack refuse shorter ones
		return nil, fmt.Errorf("%w: %d bytes", errBadDelta, len(delta))
	}
	baseSize, delta, ok := deltaVarint(delta)
	if !ok || baseSize != uint64(len(base)) {
		return nil, fmt.Errorf("%w: base size %d, the base has %d bytes", errBadDelta, baseSize, len(base))
	}
	size, delta, ok := deltaVarint(delta)
	if !ok || size > 1<<40 {
		return nil, fmt.Errorf("%w: bad result size", errBadDelta)
	}
	if uint64(cap(dst)) >= size {
		dst = dst[:size]
	} else {
		dst = make([]byte, size)
	}
	out := 0
	for len(delta) > 0 {
		cmd := delta[0]
		delta = delta[1:]
		switch {
		case cmd&0x80 != 0: // copy from the base
			var off, n uint64
			for k := uint(0); k < 4; k++ {
				if cmd&(1<<k) != 0 {
					if len(delta) == 0 {
						return nil, errBadDelta
					}
					off |= uint64(delta[0]) << (8 * k)
					delta = delta[1:]
				}
			}
			for k := uint(0); k < 3; k++ {
				if cmd&(0x10<<k) != 0 {
					if len(delta) == 0 {
						return nil, errBadDelta
					}
					n |= uint64(delta[0]) << (8 * k)
					delta = delta[1:]
				}
			}
			if n == 0 {
				n = 0x10000
			}
			if off+n > uint64(len(base)) || uint64(out)+n > size {
				return nil, fmt.Errorf("%w: copy past the end", errBadDelta)
			}
			out += copy(dst[out:], base[off:off+n])
		case cmd != 0: // insert the next cmd bytes
			n := int(cmd)
			if n > len(delta) || uint64(out+n) > size {
				return nil, fmt.Errorf("%w: insert past the end", errBadDelta)
			}
			out += copy(dst[out:], delta[:n])
			delta = delta[n:]
		default:
			return nil, fmt.Errorf("%w: reserved instruction 0", errBadDelta)
		}
	}
	if uint64(out) != size {
		return nil, fmt.Errorf("%w: %d bytes made, %d announced", errBadDelta, out, size)
	}
	return dst, nil
}

// deltaVarint reads a delta header size: little-endian base-128.
func deltaVarint(b []byte) (uint64, []byte, bool) {
	var v uint64
	for shift := uint(0); shift < 64; shift += 7 {
		if len(b) == 0 {
			return 0, nil, false
		}
		c := b[0]
		b = b[1:]
		v |= uint64(c&0x7f) << shift
		if c&0x80 == 0 {
			return v, b, true
		}
	}
	return 0, nil, false
}

// deltaResultSize reads the result size from a delta's header.
func deltaResultSize(delta []byte) (uint64, []byte, bool) {
	_, rest, ok := deltaVarint(delta)
	if !ok {
		return 0, nil, false
	}
	return deltaVarint(rest)
}

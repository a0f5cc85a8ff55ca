package azdosim

import (
	"bytes"
	"fmt"
	"strconv"
)

// pkt is one pkt-line: data without the length prefix; flush is "0000".
type pkt struct {
	data  []byte
	flush bool
}

// parsePkts splits b into pkt-lines, stopping at the end or at the first malformed length;
// rest holds what could not be parsed (a pack, for instance).
func parsePkts(b []byte) (pkts []pkt, rest []byte) {
	for len(b) >= 4 {
		n, err := strconv.ParseUint(string(b[:4]), 16, 16)
		if err != nil {
			break
		}
		switch {
		case n == 0:
			pkts = append(pkts, pkt{flush: true})
			b = b[4:]
			continue
		case n < 4 || int(n) > len(b):
			return pkts, b
		}
		pkts = append(pkts, pkt{data: b[4:n]})
		b = b[n:]
	}
	return pkts, b
}

// encodePkts is the inverse of parsePkts.
func encodePkts(pkts []pkt) []byte {
	var buf bytes.Buffer
	for _, p := range pkts {
		if p.flush {
			buf.WriteString("0000")
			continue
		}
		fmt.Fprintf(&buf, "%04x", len(p.data)+4)
		buf.Write(p.data)
	}
	return buf.Bytes()
}

package gitops

import (
	"bufio"
	"bytes"
	"crypto/sha1"
	"encoding/binary"
	"fmt"
	"io"
	"os"
	"sort"
)

// writeIdx writes the version 2 index of a resolved pack (gitformat-pack: "Version 2 pack-*.idx
// files"): fan-out table, sorted ids, CRC-32s, 31-bit offsets with the larger ones in a
// 64-bit table, the pack's checksum and the index's own. It returns the entries in id order,
// which find searches. About 4 bytes per object beyond the entries themselves, where go-git's
// idxfile.Writer kept a map and two copies.
func writeIdx(path string, idx *packIndex) ([]int32, error) {
	n := len(idx.entries)
	order := make([]int32, n)
	for i := range order {
		if idx.entries[i].typ >= objOfsDelta {
			return nil, fmt.Errorf("object at %d was never resolved", idx.entries[i].offset)
		}
		order[i] = int32(i)
	}
	sort.Slice(order, func(a, b int) bool {
		return bytes.Compare(idx.entries[order[a]].sum[:], idx.entries[order[b]].sum[:]) < 0
	})
	f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o444)
	if err != nil {
		return nil, err
	}
	sum := sha1.New()
	bw := bufio.NewWriterSize(io.MultiWriter(f, sum), 256<<10)
	var b4 [4]byte
	u32 := func(v uint32) { binary.BigEndian.PutUint32(b4[:], v); bw.Write(b4[:]) }
	bw.Write([]byte{0xff, 't', 'O', 'c'})
	u32(2)
	var fan [256]uint32
	for _, i := range order {
		fan[idx.entries[i].sum[0]]++
	}
	for k, total := 0, uint32(0); k < 256; k++ {
		total += fan[k]
		u32(total)
	}
	for _, i := range order {
		bw.Write(idx.entries[i].sum[:])
	}
	for _, i := range order {
		u32(idx.entries[i].crc)
	}
	var large []uint64
	for _, i := range order {
		off := uint64(idx.entries[i].offset)
		if off < 1<<31 {
			u32(uint32(off))
			continue
		}
		u32(1<<31 | uint32(len(large)))
		large = append(large, off)
	}
	var b8 [8]byte
	for _, off := range large {
		binary.BigEndian.PutUint64(b8[:], off)
		bw.Write(b8[:])
	}
	bw.Write(idx.checksum[:])
	err = bw.Flush()
	if err == nil {
		_, err = f.Write(sum.Sum(nil))
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(path)
		return nil, err
	}
	return order, nil
}

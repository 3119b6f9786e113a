package model

import (
	"bytes"
	"encoding/binary"
	"fmt"
)

// scanPickle walks the opcodes of one pickle at the start of b and returns
// the offset just past its STOP opcode. It interprets nothing: it only
// checks that every length-prefixed argument fits in b. gopickle allocates
// such arguments (and frames) before reading them, so a corrupt length
// would otherwise ask for gigabytes; running this first bounds every
// allocation of the unpickler by the size of the file.
func scanPickle(b []byte) (int, error) {
	i := 0
	need := func(n uint64) error {
		if n > uint64(len(b)-i) {
			return fmt.Errorf("pickle: opcode at byte %d needs %d bytes, %d left", i, n, len(b)-i)
		}
		return nil
	}
	for i < len(b) {
		op := b[i]
		i++
		switch op {
		case '.': // STOP
			return i, nil
		case '(', '0', '1', '2', 'N', 'Q', 'R', 'a', 'b', 'd', '}', 'e', 'l', ']', 'o', 's', 't', ')', 'u',
			0x81, 0x85, 0x86, 0x87, 0x88, 0x89, 0x8f, 0x90, 0x91, 0x92, 0x93, 0x94, 0x97, 0x98:
			// No argument.
		case 'K', 'h', 'q', 0x80, 0x82: // 1-byte argument
			if err := need(1); err != nil {
				return 0, err
			}
			i++
		case 'M', 0x83: // 2-byte argument
			if err := need(2); err != nil {
				return 0, err
			}
			i += 2
		case 'J', 'j', 'r', 0x84: // 4-byte argument
			if err := need(4); err != nil {
				return 0, err
			}
			i += 4
		case 'G': // BINFLOAT
			if err := need(8); err != nil {
				return 0, err
			}
			i += 8
		case 'U', 'C', 0x8a, 0x8c: // 1-byte length, then data
			if err := need(1); err != nil {
				return 0, err
			}
			n := uint64(b[i])
			i++
			if err := need(n); err != nil {
				return 0, err
			}
			i += int(n)
		case 'T', 'X', 'B', 0x8b: // 4-byte length, then data
			if err := need(4); err != nil {
				return 0, err
			}
			n := uint64(binary.LittleEndian.Uint32(b[i:]))
			if (op == 'T' || op == 0x8b) && n >= 1<<31 {
				return 0, fmt.Errorf("pickle: negative length at byte %d", i)
			}
			i += 4
			if err := need(n); err != nil {
				return 0, err
			}
			i += int(n)
		case 0x8d, 0x8e, 0x96: // 8-byte length, then data
			if err := need(8); err != nil {
				return 0, err
			}
			n := binary.LittleEndian.Uint64(b[i:])
			i += 8
			if err := need(n); err != nil {
				return 0, err
			}
			i += int(n)
		case 0x95: // FRAME: 8-byte length; the frame's opcodes follow inline
			if err := need(8); err != nil {
				return 0, err
			}
			n := binary.LittleEndian.Uint64(b[i:])
			i += 8
			if err := need(n); err != nil {
				return 0, err
			}
		case 'F', 'I', 'L', 'P', 'S', 'V', 'g', 'p': // newline-terminated argument
			j := bytes.IndexByte(b[i:], '\n')
			if j < 0 {
				return 0, fmt.Errorf("pickle: unterminated line at byte %d", i)
			}
			i += j + 1
		case 'c', 'i': // two newline-terminated arguments
			for range 2 {
				j := bytes.IndexByte(b[i:], '\n')
				if j < 0 {
					return 0, fmt.Errorf("pickle: unterminated line at byte %d", i)
				}
				i += j + 1
			}
		default:
			return 0, fmt.Errorf("pickle: unknown opcode 0x%02x at byte %d", op, i-1)
		}
	}
	return 0, fmt.Errorf("pickle: truncated (no STOP opcode)")
}

package model

import (
	"archive/zip"
	"bytes"
	"encoding/binary"
	"fmt"
	"math"
	"math/big"
	"os"
	"strconv"
	"testing"
)

// This file writes PyTorch checkpoints the way torch.save does, so that
// tests can make fixtures (every fp16 bit pattern, pickle protocol 1,
// wrapped state dicts) without PyTorch. The opcode sequences follow
// CPython's pickle module as torch.save drives it (see the disassembly of
// testdata/tiny_legacy.pth with pickletools).

// ptTensor is a contiguous tensor of a storage class ("HalfStorage", ...)
// with its raw little-endian bytes.
type ptTensor struct {
	class string
	shape []int
	data  []byte
}

// ptDict is a Python dict (insertion-ordered); ptOrderedDict an
// OrderedDict, as state_dict() returns.
type (
	ptKV          struct{ k, v any }
	ptDict        []ptKV
	ptOrderedDict []ptKV
)

type pickler struct {
	b        bytes.Buffer
	proto    int
	storages []*ptTensor
}

func (p *pickler) start() {
	if p.proto >= 2 {
		p.b.Write([]byte{0x80, byte(p.proto)})
	}
}

func (p *pickler) op(s string) { p.b.WriteString(s) }

func (p *pickler) str(s string) {
	p.op("X")
	p.b.Write(binary.LittleEndian.AppendUint32(nil, uint32(len(s))))
	p.op(s)
}

func (p *pickler) int(n int) {
	switch {
	case n >= 0 && n < 256:
		p.b.Write([]byte{'K', byte(n)})
	case n >= 0 && n < 65536:
		p.b.Write([]byte{'M', byte(n), byte(n >> 8)})
	case n >= math.MinInt32 && n <= math.MaxInt32:
		p.op("J")
		p.b.Write(binary.LittleEndian.AppendUint32(nil, uint32(int32(n))))
	default:
		p.op("L" + strconv.Itoa(n) + "L\n")
	}
}

func (p *pickler) bool(v bool) {
	switch {
	case p.proto >= 2 && v:
		p.op("\x88")
	case p.proto >= 2:
		p.op("\x89")
	case v:
		p.op("I01\n")
	default:
		p.op("I00\n")
	}
}

func (p *pickler) global(module, name string) { p.op("c" + module + "\n" + name + "\n") }

func (p *pickler) tuple(items ...func()) {
	if len(items) == 0 {
		p.op(")")
		return
	}
	p.op("(")
	for _, f := range items {
		f()
	}
	p.op("t")
}

func (p *pickler) ints(v []int) {
	fs := make([]func(), len(v))
	for i, n := range v {
		fs[i] = func() { p.int(n) }
	}
	p.tuple(fs...)
}

func (p *pickler) obj(v any) {
	switch x := v.(type) {
	case nil:
		p.op("N")
	case bool:
		p.bool(x)
	case int:
		p.int(x)
	case float64:
		p.op("G")
		p.b.Write(binary.BigEndian.AppendUint64(nil, math.Float64bits(x)))
	case string:
		p.str(x)
	case []any:
		p.op("]")
		if len(x) > 0 {
			p.op("(")
			for _, e := range x {
				p.obj(e)
			}
			p.op("e")
		}
	case ptDict:
		p.op("}")
		p.items(x)
	case ptOrderedDict:
		p.global("collections", "OrderedDict")
		p.tuple()
		p.op("R")
		p.items(x)
	case *ptTensor:
		p.tensor(x)
	default:
		panic(fmt.Sprintf("pickler: %T", v))
	}
}

func (p *pickler) items(kvs []ptKV) {
	if len(kvs) == 0 {
		return
	}
	p.op("(")
	for _, kv := range kvs {
		p.obj(kv.k)
		p.obj(kv.v)
	}
	p.op("u")
}

// tensor writes _rebuild_tensor_v2((storage pid), 0, size, stride, False,
// OrderedDict()).
func (p *pickler) tensor(t *ptTensor) {
	key := strconv.Itoa(len(p.storages))
	p.storages = append(p.storages, t)
	stride := make([]int, len(t.shape))
	s := 1
	for i := len(t.shape) - 1; i >= 0; i-- {
		stride[i] = s
		s *= t.shape[i]
	}
	p.global("torch._utils", "_rebuild_tensor_v2")
	p.tuple(
		func() {
			p.tuple(func() { p.str("storage") }, func() { p.global("torch", t.class) },
				func() { p.str(key) }, func() { p.str("cpu") }, func() { p.int(t.numel()) }, func() { p.op("N") })
			p.op("Q")
		},
		func() { p.int(0) },
		func() { p.ints(t.shape) },
		func() { p.ints(stride) },
		func() { p.bool(false) },
		func() { p.obj(ptOrderedDict{}) },
	)
	p.op("R")
}

func (t *ptTensor) numel() int {
	n := 1
	for _, d := range t.shape {
		n *= d
	}
	return n
}

func pickleOne(proto int, v any) ([]byte, []*ptTensor) {
	p := &pickler{proto: proto}
	p.start()
	p.obj(v)
	p.op(".")
	return p.b.Bytes(), p.storages
}

// torchLegacy returns v saved by torch.save(v, f,
// _use_new_zipfile_serialization=False, pickle_protocol=proto).
func torchLegacy(proto int, v any) []byte {
	var out bytes.Buffer
	p := &pickler{proto: proto}
	p.start()
	magic, _ := new(big.Int).SetString("1950a86a20f9469cfc6c", 16)
	if proto >= 2 {
		// LONG1: little-endian two's complement.
		b := magic.Bytes()
		for i, j := 0, len(b)-1; i < j; i, j = i+1, j-1 {
			b[i], b[j] = b[j], b[i]
		}
		p.b.Write([]byte{0x8a, byte(len(b))})
		p.b.Write(b)
	} else {
		p.op("L" + magic.String() + "L\n")
	}
	p.op(".")
	out.Write(p.b.Bytes())
	b, _ := pickleOne(proto, 1001)
	out.Write(b)
	b, _ = pickleOne(proto, ptDict{{"protocol_version", 1001}, {"little_endian", true},
		{"type_sizes", ptDict{{"short", 2}, {"int", 4}, {"long", 4}}}})
	out.Write(b)
	b, sts := pickleOne(proto, v)
	out.Write(b)
	keys := make([]any, len(sts))
	for i := range sts {
		keys[i] = strconv.Itoa(i)
	}
	b, _ = pickleOne(proto, keys)
	out.Write(b)
	for _, t := range sts {
		out.Write(binary.LittleEndian.AppendUint64(nil, uint64(t.numel())))
		out.Write(t.data)
	}
	return out.Bytes()
}

// torchZip returns v saved by torch.save(v, f) (zip format, protocol 2),
// with records under archive/.
func torchZip(v any) []byte {
	var out bytes.Buffer
	zw := zip.NewWriter(&out)
	pkl, sts := pickleOne(2, v)
	put := func(name string, b []byte) {
		w, err := zw.CreateHeader(&zip.FileHeader{Name: "archive/" + name, Method: zip.Store})
		if err != nil {
			panic(err)
		}
		w.Write(b)
	}
	put("data.pkl", pkl)
	put("byteorder", []byte("little"))
	for i, t := range sts {
		put("data/"+strconv.Itoa(i), t.data)
	}
	put("version", []byte("3\n"))
	if err := zw.Close(); err != nil {
		panic(err)
	}
	return out.Bytes()
}

func writeTemp(t testing.TB, name string, b []byte) string {
	t.Helper()
	f := t.TempDir() + "/" + name
	if err := os.WriteFile(f, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return f
}

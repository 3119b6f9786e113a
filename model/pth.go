package model

import (
	"archive/zip"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/big"
	"path"
	"slices"
	"strings"

	"github.com/nlpodyssey/gopickle/pickle"
	"github.com/nlpodyssey/gopickle/pytorch"
	"github.com/nlpodyssey/gopickle/types"

	"github.com/addergen/addergen/dataset"
)

// ReadPyTorch reads a state_dict from a PyTorch checkpoint written by
// torch.save, in the zip format (torch >= 1.6) or the legacy format. The
// file may hold a state_dict, a dict with a "state_dict" or "model" entry,
// or a whole pickled nn.Module (its parameters and buffers are collected
// recursively). Storages saved on a GPU ("cuda:0") are read as CPU data.
// Keys are returned as stored; ReadStateDict also strips a "module."
// prefix.
func ReadPyTorch(file string) (StateDict, error) {
	data, err := readFileLimited(file)
	if err != nil {
		return nil, err
	}
	var sd StateDict
	err = safely(func() (err error) {
		sd, err = readPyTorch(file, data)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("model: %s: %w", file, err)
	}
	return sd, nil
}

// readPyTorch loads file, whose content is data. gopickle reads the file
// itself; data is used to check the file first so that gopickle never
// sees a length or a storage size larger than the file (it would allocate
// it) nor a shape it cannot handle.
func readPyTorch(file string, data []byte) (StateDict, error) {
	f, err := DetectFormat(data)
	if err != nil {
		return nil, err
	}
	switch f {
	case FormatTorchZip:
		err = checkTorchZip(data)
	case FormatTorchLegacy:
		err = checkTorchLegacy(data)
	default:
		return nil, fmt.Errorf("not a PyTorch checkpoint (%s)", f)
	}
	if err != nil {
		return nil, err
	}
	obj, err := loadTorch(file)
	if err != nil {
		return nil, err
	}
	return stateDictFrom(obj, 0)
}

// loadTorch runs gopickle's loader. Callers recover from its panics
// (see safely).
func loadTorch(file string) (any, error) {
	obj, err := pytorch.LoadWithUnpickler(file, func(r io.Reader) pickle.Unpickler {
		u := pickle.NewUnpickler(r)
		u.FindClass = findClass
		return u
	})
	if err != nil {
		return nil, fmt.Errorf("unreadable checkpoint: %w", err)
	}
	return obj, nil
}

// findClass resolves the classes that gopickle's pytorch loader leaves to
// its fallback: parameters are unwrapped to their tensors, and any other
// class (a pickled nn.Module, say) becomes a pyObject that records its
// attributes.
func findClass(module, name string) (any, error) {
	switch module + "." + name {
	case "torch._utils._rebuild_parameter", "torch._utils._rebuild_parameter_with_state":
		return rebuildParameter{}, nil
	}
	return &pyClass{module: module, name: name}, nil
}

type rebuildParameter struct{}

func (rebuildParameter) Call(args ...any) (any, error) {
	if len(args) < 1 {
		return nil, errors.New("_rebuild_parameter: no arguments")
	}
	return args[0], nil
}

// pyClass stands for an arbitrary Python class; instances are pyObjects.
type pyClass struct{ module, name string }

func (c *pyClass) PyNew(args ...any) (any, error) { return c.Call(args...) }
func (c *pyClass) Call(...any) (any, error) {
	return &pyObject{class: c, dict: map[string]any{}}, nil
}

// pyObject is an instance of an arbitrary class; dict holds the attributes
// set by its pickled state.
type pyObject struct {
	class *pyClass
	dict  map[string]any
}

func (o *pyObject) PySetState(state any) error {
	switch s := state.(type) {
	case *types.Dict:
		for _, e := range *s {
			if k, ok := e.Key.(string); ok {
				o.dict[k] = e.Value
			}
		}
	case *types.Tuple:
		if s.Len() == 2 {
			return o.PySetState(s.Get(0))
		}
	}
	return nil
}

// stateDictFrom finds the state_dict in an unpickled checkpoint. depth
// bounds the unwrapping of nested dicts, which a pickle can make cyclic.
func stateDictFrom(obj any, depth int) (StateDict, error) {
	if depth > 8 {
		return nil, errors.New("no state_dict found: \"state_dict\"/\"model\" entries nested too deep")
	}
	sd := StateDict{}
	switch v := obj.(type) {
	case *types.OrderedDict, *types.Dict:
		entries := dictEntries(v)
		for _, wrap := range []string{"state_dict", "model"} {
			for _, e := range entries {
				if e.key == wrap {
					return stateDictFrom(e.value, depth+1)
				}
			}
		}
		for _, e := range entries {
			t, ok := e.value.(*pytorch.Tensor)
			if !ok {
				return nil, fmt.Errorf("no state_dict found: entry %q is a %s, not a tensor (top-level keys: %s)", e.key, pyTypeName(e.value), keyList(entries))
			}
			if err := addTensor(sd, e.key, t); err != nil {
				return nil, err
			}
		}
		return sd, nil
	case *pyObject:
		if err := collectModule(sd, v, "", 0, map[*pyObject]bool{}); err != nil {
			return nil, err
		}
		if len(sd) == 0 {
			return nil, fmt.Errorf("pickled object %s.%s has no parameters or buffers", v.class.module, v.class.name)
		}
		return sd, nil
	}
	return nil, fmt.Errorf("no state_dict found: the checkpoint holds a %s", pyTypeName(obj))
}

type dictEntry struct {
	key   string
	value any
}

func dictEntries(d any) []dictEntry {
	var es []dictEntry
	switch v := d.(type) {
	case *types.OrderedDict:
		for e := v.List.Front(); e != nil; e = e.Next() {
			oe := e.Value.(*types.OrderedDictEntry)
			k, _ := oe.Key.(string)
			es = append(es, dictEntry{k, oe.Value})
		}
	case *types.Dict:
		for _, e := range *v {
			k, _ := e.Key.(string)
			es = append(es, dictEntry{k, e.Value})
		}
	}
	return es
}

func keyList(es []dictEntry) string {
	var ks []string
	for i, e := range es {
		if i == 8 {
			ks = append(ks, "…")
			break
		}
		ks = append(ks, fmt.Sprintf("%q", e.key))
	}
	return strings.Join(ks, ", ")
}

func pyTypeName(v any) string {
	switch x := v.(type) {
	case nil:
		return "None"
	case *pyObject:
		return x.class.module + "." + x.class.name
	case *pytorch.Tensor:
		return "tensor"
	case *types.OrderedDict, *types.Dict:
		return "dict"
	}
	return fmt.Sprintf("%T", v)
}

// collectModule gathers an nn.Module's _parameters and _buffers and
// recurses into _modules, as Module.state_dict does.
func collectModule(sd StateDict, m *pyObject, prefix string, depth int, seen map[*pyObject]bool) error {
	if depth > 64 || seen[m] {
		return fmt.Errorf("module %q: nesting too deep or cyclic", prefix)
	}
	seen[m] = true
	for _, attr := range []string{"_parameters", "_buffers"} {
		for _, e := range dictEntries(m.dict[attr]) {
			if e.value == nil {
				continue
			}
			t, ok := e.value.(*pytorch.Tensor)
			if !ok {
				return fmt.Errorf("module %q: %s entry %q is a %s, not a tensor", prefix, attr, e.key, pyTypeName(e.value))
			}
			if err := addTensor(sd, prefix+e.key, t); err != nil {
				return err
			}
		}
	}
	for _, e := range dictEntries(m.dict["_modules"]) {
		sub, ok := e.value.(*pyObject)
		if !ok {
			continue // None
		}
		if err := collectModule(sd, sub, prefix+e.key+".", depth+1, seen); err != nil {
			return err
		}
	}
	return nil
}

func addTensor(sd StateDict, key string, t *pytorch.Tensor) error {
	if _, dup := sd[key]; dup {
		return fmt.Errorf("duplicate key %q", key)
	}
	dt, err := torchTensor(t)
	if err != nil {
		return fmt.Errorf("key %q: %w", key, err)
	}
	sd[key] = dt
	return nil
}

// torchTensor copies a (possibly strided) tensor view into a row-major
// float64 tensor.
func torchTensor(t *pytorch.Tensor) (dataset.Tensor, error) {
	var at func(int) float64
	var n int
	switch s := t.Source.(type) {
	case *pytorch.FloatStorage:
		n, at = len(s.Data), func(i int) float64 { return float64(s.Data[i]) }
	case *pytorch.DoubleStorage:
		n, at = len(s.Data), func(i int) float64 { return s.Data[i] }
	case *pytorch.HalfStorage:
		n, at = len(s.Data), func(i int) float64 { return float64(s.Data[i]) }
	case *pytorch.BFloat16Storage:
		n, at = len(s.Data), func(i int) float64 { return float64(s.Data[i]) }
	case *pytorch.LongStorage:
		n, at = len(s.Data), func(i int) float64 { return float64(s.Data[i]) }
	case *pytorch.IntStorage:
		n, at = len(s.Data), func(i int) float64 { return float64(s.Data[i]) }
	case *pytorch.ShortStorage:
		n, at = len(s.Data), func(i int) float64 { return float64(s.Data[i]) }
	case *pytorch.CharStorage:
		n, at = len(s.Data), func(i int) float64 { return float64(s.Data[i]) }
	case *pytorch.ByteStorage:
		n, at = len(s.Data), func(i int) float64 { return float64(s.Data[i]) }
	case *pytorch.BoolStorage:
		n, at = len(s.Data), func(i int) float64 {
			if s.Data[i] {
				return 1
			}
			return 0
		}
	default:
		return dataset.Tensor{}, fmt.Errorf("unsupported storage type %T", t.Source)
	}
	if len(t.Size) != len(t.Stride) {
		return dataset.Tensor{}, fmt.Errorf("size %v and stride %v differ in rank", t.Size, t.Stride)
	}
	total, last := 1, t.StorageOffset
	if last < 0 {
		return dataset.Tensor{}, fmt.Errorf("negative storage offset %d", last)
	}
	for i, d := range t.Size {
		if d < 0 || t.Stride[i] < 0 || d > maxElems || t.Stride[i] > maxElems {
			return dataset.Tensor{}, fmt.Errorf("invalid size %v or stride %v", t.Size, t.Stride)
		}
		total = numel([]int{total, d})
		if total > maxElems {
			return dataset.Tensor{}, fmt.Errorf("size %v is too large", t.Size)
		}
		if d > 0 {
			last += (d - 1) * t.Stride[i]
		}
	}
	if total > 0 && last >= n {
		return dataset.Tensor{}, fmt.Errorf("view (offset %d, size %v, stride %v) exceeds its storage of %d elements", t.StorageOffset, t.Size, t.Stride, n)
	}
	out := dataset.Tensor{Shape: slices.Clone(t.Size), Data: make([]float64, total)}
	if out.Shape == nil {
		out.Shape = []int{}
	}
	idx := make([]int, len(t.Size))
	for j := range out.Data {
		off := t.StorageOffset
		for d, v := range idx {
			off += v * t.Stride[d]
		}
		out.Data[j] = at(off)
		for d := len(idx) - 1; d >= 0; d-- {
			idx[d]++
			if idx[d] < t.Size[d] {
				break
			}
			idx[d] = 0
		}
	}
	return out, nil
}

// Element sizes of the storage classes gopickle knows.
var storageElemSize = map[string]uint64{
	"torch.HalfStorage": 2, "torch.FloatStorage": 4, "torch.DoubleStorage": 8,
	"torch.CharStorage": 1, "torch.ShortStorage": 2, "torch.IntStorage": 4,
	"torch.LongStorage": 8, "torch.ByteStorage": 1, "torch.BoolStorage": 1,
	"torch.BFloat16Storage": 2,
}

type storageClassStub struct{ elem uint64 }

type callStub struct{}

func (callStub) Call(...any) (any, error) { return nil, nil }

type storageRec struct {
	elem, size uint64
}

// prepass unpickles b without reading any storage, recording the type and
// declared size of every storage it references.
func prepass(b []byte, recs map[string]storageRec) error {
	if _, err := scanPickle(b); err != nil {
		return err
	}
	u := pickle.NewUnpickler(bytes.NewReader(b))
	u.FindClass = func(module, name string) (any, error) {
		if es, ok := storageElemSize[module+"."+name]; ok {
			return storageClassStub{es}, nil
		}
		if module+"."+name == "torch._utils._rebuild_tensor_v2" {
			return callStub{}, nil
		}
		return findClass(module, name)
	}
	u.PersistentLoad = func(id any) (any, error) {
		t, ok := id.(*types.Tuple)
		if !ok || t.Len() < 2 {
			return nil, fmt.Errorf("persistent id %v is not a tuple", id)
		}
		switch t.Get(0) {
		case "module":
			return t.Get(1), nil
		case "storage":
		default:
			return nil, fmt.Errorf("persistent id of unknown kind %v", t.Get(0))
		}
		if t.Len() < 5 {
			return nil, errors.New("short storage persistent id")
		}
		cls, ok1 := t.Get(1).(storageClassStub)
		key, ok2 := t.Get(2).(string)
		size, ok3 := t.Get(4).(int)
		if !ok1 || !ok2 || !ok3 || size < 0 {
			return nil, fmt.Errorf("unsupported storage persistent id %v", id)
		}
		if t.Len() >= 6 && t.Get(5) != nil {
			return nil, fmt.Errorf("storage %s: views of storages (legacy view metadata) are not supported", key)
		}
		r := recs[key]
		recs[key] = storageRec{elem: max(r.elem, cls.elem), size: max(r.size, uint64(size))}
		return nil, nil
	}
	_, err := u.Load()
	return err
}

const torchMagic = "1950a86a20f9469cfc6c"

// checkTorchLegacy checks the layout of a legacy checkpoint: magic number,
// protocol version and system info pickles, the object pickle, the list
// of storage keys, then for each key an 8-byte element count and the data.
func checkTorchLegacy(data []byte) error {
	off := 0
	next := func(what string) ([]byte, error) {
		n, err := scanPickle(data[off:])
		if err != nil {
			return nil, fmt.Errorf("legacy checkpoint: %s: %w", what, err)
		}
		b := data[off : off+n]
		off += n
		return b, nil
	}
	b, err := next("magic number")
	if err != nil {
		return err
	}
	u := pickle.NewUnpickler(bytes.NewReader(b))
	if m, err := u.Load(); err != nil {
		return fmt.Errorf("legacy checkpoint: magic number: %w", err)
	} else if bi, ok := m.(*big.Int); !ok || bi.Text(16) != torchMagic {
		return errors.New("not a PyTorch checkpoint (bad magic number)")
	}
	if _, err := next("protocol version"); err != nil {
		return err
	}
	if _, err := next("system info"); err != nil {
		return err
	}
	main, err := next("object")
	if err != nil {
		return err
	}
	recs := map[string]storageRec{}
	if err := prepass(main, recs); err != nil {
		return fmt.Errorf("legacy checkpoint: %w", err)
	}
	kb, err := next("storage keys")
	if err != nil {
		return err
	}
	u = pickle.NewUnpickler(bytes.NewReader(kb))
	kobj, err := u.Load()
	if err != nil {
		return fmt.Errorf("legacy checkpoint: storage keys: %w", err)
	}
	list, ok := kobj.(*types.List)
	if !ok {
		return errors.New("legacy checkpoint: storage keys are not a list")
	}
	for _, k := range *list {
		key, _ := k.(string)
		r, ok := recs[key]
		if !ok {
			return fmt.Errorf("legacy checkpoint: storage %v is not referenced", k)
		}
		if len(data)-off < 8 {
			return fmt.Errorf("legacy checkpoint: truncated before storage %s", key)
		}
		cnt := binary.LittleEndian.Uint64(data[off:])
		off += 8
		if cnt > uint64(len(data)-off)/r.elem {
			return fmt.Errorf("legacy checkpoint: storage %s: %d elements of %d bytes, only %d bytes left", key, cnt, r.elem, len(data)-off)
		}
		off += int(cnt * r.elem)
	}
	return nil
}

// checkTorchZip checks a zip checkpoint: data.pkl and, for every storage
// it references, a record large enough for the declared size.
func checkTorchZip(data []byte) error {
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		return err
	}
	// gopickle looks records up by base name; the last one wins.
	files := map[string]*zip.File{}
	for _, f := range zr.File {
		files[path.Base(f.Name)] = f
	}
	for _, f := range files {
		// Deflate expands at most ~1032:1; anything claiming more lies.
		if f.UncompressedSize64 > maxFileSize || (f.Method == zip.Store && f.UncompressedSize64 != f.CompressedSize64) ||
			f.UncompressedSize64 > 1100*f.CompressedSize64+1024 {
			return fmt.Errorf("zip record %s: implausible size %d", f.Name, f.UncompressedSize64)
		}
	}
	if _, ok := files["constants.pkl"]; ok {
		return errors.New("TorchScript archives are not supported; save the state_dict instead")
	}
	pf, ok := files["data.pkl"]
	if !ok {
		return errors.New("zip checkpoint without data.pkl")
	}
	rc, err := pf.Open()
	if err != nil {
		return fmt.Errorf("data.pkl: %w", err)
	}
	pkl, err := io.ReadAll(io.LimitReader(rc, int64(pf.UncompressedSize64)+1))
	rc.Close()
	if err != nil {
		return fmt.Errorf("data.pkl: %w", err)
	}
	recs := map[string]storageRec{}
	if err := prepass(pkl, recs); err != nil {
		return fmt.Errorf("data.pkl: %w", err)
	}
	for key, r := range recs {
		f, ok := files[key]
		if !ok {
			return fmt.Errorf("storage record %q is missing", key)
		}
		if r.size > f.UncompressedSize64/r.elem {
			return fmt.Errorf("storage record %q holds %d bytes, %d elements of %d bytes declared", key, f.UncompressedSize64, r.size, r.elem)
		}
	}
	return nil
}

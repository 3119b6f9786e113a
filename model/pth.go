package model

import (
	"archive/zip"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"math/big"
	"path"
	"slices"
	"strings"

	"github.com/nlpodyssey/gopickle/pickle"
	"github.com/nlpodyssey/gopickle/types"
	"github.com/x448/float16"

	"github.com/addergen/addergen/dataset"
)

// ReadPyTorch reads a state_dict from a PyTorch checkpoint written by
// torch.save, in the zip format (torch >= 1.6) or the legacy format
// (pickle protocol 1 to 5). The file may hold a state_dict, a dict that
// holds one state_dict among other entries (for example {"net": ...,
// "epoch": 3, "acc": 91.2}), or a whole pickled nn.Module (its parameters
// and buffers are collected recursively). Storages saved on a GPU
// ("cuda:0") are read as CPU data. Values are converted exactly to
// float64 (fp16 and bf16 included). Keys are returned as stored;
// ReadStateDict also strips a "module." prefix. Errors name the file.
func ReadPyTorch(file string) (StateDict, error) {
	return ReadPyTorchWith(file, LoadOptions{})
}

// ReadPyTorchWith is ReadPyTorch with options: opt.WeightsKey names the
// entry that holds the state_dict when the checkpoint holds several.
func ReadPyTorchWith(file string, opt LoadOptions) (StateDict, error) {
	data, err := readFileLimited(file)
	if err != nil {
		return nil, err
	}
	var sd StateDict
	err = safely(func() (err error) {
		sd, err = readPyTorch(data, opt)
		return err
	})
	if err != nil {
		return nil, oneLine(fmt.Errorf("model: %s: %w", file, err))
	}
	return sd, nil
}

// readPyTorch decodes a checkpoint held in data. Every pickle is checked
// by scanPickle before gopickle sees it, and storages are read by this
// package (never allocated beyond the bytes the file holds).
func readPyTorch(data []byte, opt LoadOptions) (StateDict, error) {
	f, err := DetectFormat(data)
	if err != nil {
		return nil, err
	}
	var obj any
	switch f {
	case FormatTorchZip:
		obj, err = loadTorchZip(data)
	case FormatTorchLegacy:
		obj, err = loadTorchLegacy(data)
	default:
		return nil, fmt.Errorf("not a PyTorch checkpoint (%s)", f)
	}
	if err != nil {
		return nil, err
	}
	return findStateDict(obj, opt.WeightsKey)
}

// torchStorage is one storage of a checkpoint: its element type and its
// raw little-endian bytes.
type torchStorage struct {
	key   string
	class string // "HalfStorage", "FloatStorage", ...
	elem  int    // bytes per element
	size  int    // declared number of elements
	data  []byte // size*elem bytes once loaded
}

// torchTensor is a strided view of a storage, as _rebuild_tensor_v2
// describes it (offset, size and stride in elements).
type torchTensor struct {
	storage *torchStorage
	offset  int
	size    []int
	stride  []int
}

// storageClasses maps the storage classes torch.save names to their
// element sizes.
var storageClasses = map[string]int{
	"HalfStorage": 2, "BFloat16Storage": 2, "FloatStorage": 4, "DoubleStorage": 8,
	"CharStorage": 1, "ByteStorage": 1, "BoolStorage": 1, "ShortStorage": 2,
	"IntStorage": 4, "LongStorage": 8,
}

type storageClass struct{ name string }

type rebuildTensor struct{}

// Call implements torch._utils._rebuild_tensor_v2(storage, offset, size,
// stride, requires_grad, backward_hooks, ...) and _rebuild_tensor(storage,
// offset, size, stride).
func (rebuildTensor) Call(args ...any) (any, error) {
	if len(args) < 4 {
		return nil, fmt.Errorf("_rebuild_tensor: %d arguments, want at least 4", len(args))
	}
	st, ok := args[0].(*torchStorage)
	if !ok {
		return nil, fmt.Errorf("_rebuild_tensor: storage is a %s", pyTypeName(args[0]))
	}
	off, ok := args[1].(int)
	if !ok {
		return nil, fmt.Errorf("_rebuild_tensor: storage offset is a %s", pyTypeName(args[1]))
	}
	size, err1 := intTuple(args[2])
	stride, err2 := intTuple(args[3])
	if err1 != nil || err2 != nil {
		return nil, fmt.Errorf("_rebuild_tensor: size %v or stride %v is not a tuple of ints", args[2], args[3])
	}
	return &torchTensor{storage: st, offset: off, size: size, stride: stride}, nil
}

func intTuple(v any) ([]int, error) {
	t, ok := v.(*types.Tuple)
	if !ok {
		return nil, errors.New("not a tuple")
	}
	out := make([]int, t.Len())
	for i := range out {
		n, ok := t.Get(i).(int)
		if !ok {
			return nil, errors.New("not an int")
		}
		out[i] = n
	}
	return out, nil
}

// findClass resolves the classes a checkpoint names: storages, tensor
// rebuilders, parameters (unwrapped to their tensors), and any other class
// (a pickled nn.Module, say) as a pyClass whose instances record their
// attributes.
func findClass(module, name string) (any, error) {
	switch module + "." + name {
	case "torch._utils._rebuild_tensor_v2", "torch._utils._rebuild_tensor":
		return rebuildTensor{}, nil
	case "torch._utils._rebuild_parameter", "torch._utils._rebuild_parameter_with_state":
		return rebuildParameter{}, nil
	}
	if module == "torch" {
		if _, ok := storageClasses[name]; ok {
			return storageClass{name}, nil
		}
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

// unpickle loads the single pickle b with the checkpoint's classes;
// persistent ids ("storage" and "module") are resolved by storage.
// gopickle panics on some malformed pickles; that is returned as an error.
func unpickle(b []byte, storage func(key, class string, size int) (*torchStorage, error)) (obj any, err error) {
	defer func() {
		if r := recover(); r != nil {
			obj, err = nil, fmt.Errorf("malformed pickle: %v", r)
		}
	}()
	if _, err := scanPickle(b); err != nil {
		return nil, err
	}
	u := pickle.NewUnpickler(bytes.NewReader(b))
	u.FindClass = findClass
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
		if storage == nil || t.Len() < 5 {
			return nil, fmt.Errorf("unexpected storage persistent id %v", id)
		}
		cls, ok1 := t.Get(1).(storageClass)
		key, ok2 := t.Get(2).(string)
		size, ok3 := t.Get(4).(int)
		if !ok1 || !ok2 || !ok3 || size < 0 {
			return nil, fmt.Errorf("unsupported storage persistent id %v", id)
		}
		if t.Len() >= 6 && t.Get(5) != nil {
			return nil, fmt.Errorf("storage %s: views of storages (legacy view metadata) are not supported", key)
		}
		return storage(key, cls.name, size)
	}
	return u.Load()
}

const torchMagic = "1950a86a20f9469cfc6c"

// legacyMagic reports whether the pickle b is the legacy format's magic
// number, 0x1950a86a20f9469cfc6c (in any pickle protocol).
func legacyMagic(b []byte) bool {
	m, err := unpickle(b, nil)
	bi, ok := m.(*big.Int)
	return err == nil && ok && bi.Text(16) == torchMagic
}

// loadTorchLegacy reads a legacy checkpoint: magic number, protocol
// version and system info pickles, the object pickle, the list of storage
// keys, then for each key an 8-byte element count and the data.
func loadTorchLegacy(data []byte) (any, error) {
	off := 0
	next := func(what string) ([]byte, error) {
		n, err := scanPickle(data[off:])
		if err != nil {
			return nil, fmt.Errorf("legacy checkpoint: %s at byte %d: %w", what, off, err)
		}
		b := data[off : off+n]
		off += n
		return b, nil
	}
	b, err := next("magic number")
	if err != nil {
		return nil, err
	}
	if !legacyMagic(b) {
		return nil, errors.New("not a PyTorch checkpoint (bad magic number)")
	}
	if b, err = next("protocol version"); err != nil {
		return nil, err
	}
	if v, err := unpickle(b, nil); err != nil || v != 1001 {
		return nil, fmt.Errorf("legacy checkpoint: protocol version %v (%v), want 1001", v, err)
	}
	if b, err = next("system info"); err != nil {
		return nil, err
	}
	info, err := unpickle(b, nil)
	if err != nil {
		return nil, fmt.Errorf("legacy checkpoint: system info: %w", err)
	}
	for _, e := range dictEntries(info) {
		if e.key == "little_endian" && e.value == false {
			return nil, errors.New("legacy checkpoint: written on a big-endian machine (not supported)")
		}
	}
	if b, err = next("object"); err != nil {
		return nil, err
	}
	storages := map[string]*torchStorage{}
	obj, err := unpickle(b, func(key, class string, size int) (*torchStorage, error) {
		if s, ok := storages[key]; ok {
			if s.class != class {
				return nil, fmt.Errorf("storage %s: %s and %s", key, s.class, class)
			}
			return s, nil
		}
		s := &torchStorage{key: key, class: class, elem: storageClasses[class], size: size}
		storages[key] = s
		return s, nil
	})
	if err != nil {
		return nil, fmt.Errorf("legacy checkpoint: object: %w", err)
	}
	if b, err = next("storage keys"); err != nil {
		return nil, err
	}
	kobj, err := unpickle(b, nil)
	if err != nil {
		return nil, fmt.Errorf("legacy checkpoint: storage keys: %w", err)
	}
	list, ok := kobj.(*types.List)
	if !ok {
		return nil, errors.New("legacy checkpoint: storage keys are not a list")
	}
	for _, k := range *list {
		key, _ := k.(string)
		s, ok := storages[key]
		if !ok {
			return nil, fmt.Errorf("legacy checkpoint: storage %v is not referenced", k)
		}
		if s.data != nil {
			return nil, fmt.Errorf("legacy checkpoint: storage %s listed twice", key)
		}
		if len(data)-off < 8 {
			return nil, fmt.Errorf("legacy checkpoint: truncated before storage %s", key)
		}
		cnt := binary.LittleEndian.Uint64(data[off:])
		off += 8
		if cnt > uint64(len(data)-off)/uint64(s.elem) {
			return nil, fmt.Errorf("legacy checkpoint: storage %s: %d elements of %d bytes, only %d bytes left", key, cnt, s.elem, len(data)-off)
		}
		if cnt < uint64(s.size) {
			return nil, fmt.Errorf("legacy checkpoint: storage %s holds %d elements, %d declared", key, cnt, s.size)
		}
		s.data = data[off : off+s.size*s.elem]
		off += int(cnt) * s.elem
	}
	for key, s := range storages {
		if s.data == nil {
			return nil, fmt.Errorf("legacy checkpoint: storage %s has no data", key)
		}
	}
	return obj, nil
}

// loadTorchZip reads a zip checkpoint: ARCHIVE/data.pkl and, for every
// storage it references, the record ARCHIVE/data/KEY.
func loadTorchZip(data []byte) (any, error) {
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		return nil, err
	}
	for _, f := range zr.File {
		// Deflate expands at most ~1032:1; anything claiming more lies.
		if f.UncompressedSize64 > maxFileSize || (f.Method == zip.Store && f.UncompressedSize64 != f.CompressedSize64) ||
			f.UncompressedSize64 > 1100*f.CompressedSize64+1024 {
			return nil, fmt.Errorf("zip record %s: implausible size %d", f.Name, f.UncompressedSize64)
		}
	}
	var pkl *zip.File
	byName := map[string]*zip.File{}
	for _, f := range zr.File {
		byName[f.Name] = f
		switch path.Base(f.Name) {
		case "constants.pkl":
			return nil, errors.New("TorchScript archives are not supported; save the state_dict instead")
		case "data.pkl":
			if pkl != nil {
				return nil, fmt.Errorf("zip checkpoint with two data.pkl records (%s, %s)", pkl.Name, f.Name)
			}
			pkl = f
		}
	}
	if pkl == nil {
		return nil, errors.New("zip checkpoint without data.pkl")
	}
	dir := path.Dir(pkl.Name)
	if dir == "." {
		dir = ""
	} else {
		dir += "/"
	}
	if bo, ok := byName[dir+"byteorder"]; ok {
		b, err := readZipFile(bo)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", bo.Name, err)
		}
		if s := strings.TrimSpace(string(b)); s != "little" {
			return nil, fmt.Errorf("%s: byte order %q (only little-endian checkpoints are supported)", bo.Name, s)
		}
	}
	b, err := readZipFile(pkl)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", pkl.Name, err)
	}
	storages := map[string]*torchStorage{}
	obj, err := unpickle(b, func(key, class string, size int) (*torchStorage, error) {
		if s, ok := storages[key]; ok {
			if s.class != class {
				return nil, fmt.Errorf("storage %s: %s and %s", key, s.class, class)
			}
			return s, nil
		}
		rec, ok := byName[dir+"data/"+key]
		if !ok {
			return nil, fmt.Errorf("storage record %q is missing", dir+"data/"+key)
		}
		elem := storageClasses[class]
		if uint64(size) > rec.UncompressedSize64/uint64(elem) {
			return nil, fmt.Errorf("storage record %q holds %d bytes, %d elements of %d bytes declared", rec.Name, rec.UncompressedSize64, size, elem)
		}
		raw, err := readZipFile(rec)
		if err != nil {
			return nil, fmt.Errorf("storage record %q: %w", rec.Name, err)
		}
		if len(raw) < size*elem {
			return nil, fmt.Errorf("storage record %q holds %d bytes, %d elements of %d bytes declared", rec.Name, len(raw), size, elem)
		}
		s := &torchStorage{key: key, class: class, elem: elem, size: size, data: raw[:size*elem]}
		storages[key] = s
		return s, nil
	})
	if err != nil {
		return nil, fmt.Errorf("%s: %w", pkl.Name, err)
	}
	return obj, nil
}

func readZipFile(f *zip.File) ([]byte, error) {
	rc, err := f.Open()
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	b, err := io.ReadAll(io.LimitReader(rc, int64(f.UncompressedSize64)+1))
	if err != nil {
		return nil, err
	}
	if uint64(len(b)) != f.UncompressedSize64 {
		return nil, fmt.Errorf("%d bytes, %d declared", len(b), f.UncompressedSize64)
	}
	return b, nil
}

// findStateDict finds the state_dict in an unpickled checkpoint: the
// object itself when it is a dict of tensors or a pickled module, else the
// one entry (searched a few levels down) that holds one, or the entry
// named key.
func findStateDict(obj any, key string) (StateDict, error) {
	if key != "" {
		es := dictEntries(obj)
		if es == nil {
			return nil, fmt.Errorf("weights key %q: the checkpoint holds a %s, not a dict", key, pyTypeName(obj))
		}
		for _, e := range es {
			if e.key == key {
				sd, err := findStateDict(e.value, "")
				if err != nil {
					return nil, fmt.Errorf("weights key %q: %w", key, err)
				}
				return sd, nil
			}
		}
		// A nested path found by the search ("checkpoint.model").
		var cands []string
		searchStateDicts(obj, "", 0, map[any]bool{}, &cands)
		for _, c := range cands {
			if c == key {
				return stateDictAt(obj, key)
			}
		}
		return nil, fmt.Errorf("weights key %q not found (top-level keys: %s; state dicts under: %s)", key, keyList(es), quoteList(cands))
	}
	if sd, ok, err := asStateDict(obj); ok || err != nil {
		return sd, err
	}
	var cands []string
	searchStateDicts(obj, "", 0, map[any]bool{}, &cands)
	switch len(cands) {
	case 1:
		return stateDictAt(obj, cands[0])
	case 0:
		es := dictEntries(obj)
		if es == nil {
			return nil, fmt.Errorf("no state_dict found: the checkpoint holds a %s", pyTypeName(obj))
		}
		for _, e := range es {
			if _, ok := e.value.(*torchTensor); !ok && hasTensor(es) {
				return nil, fmt.Errorf("no state_dict found: entry %q is a %s, not a tensor (top-level keys: %s)", e.key, pyTypeName(e.value), keyList(es))
			}
		}
		return nil, fmt.Errorf("no state_dict found: no entry holds tensors (top-level keys: %s)", keyList(es))
	}
	return nil, fmt.Errorf("ambiguous checkpoint: state dicts under %s; choose one with --weights-key", quoteList(cands))
}

func hasTensor(es []dictEntry) bool {
	for _, e := range es {
		if _, ok := e.value.(*torchTensor); ok {
			return true
		}
	}
	return false
}

// asStateDict converts obj when it is itself a state_dict: a non-empty
// dict whose values are all tensors, or a module with parameters.
func asStateDict(obj any) (StateDict, bool, error) {
	switch v := obj.(type) {
	case *types.OrderedDict, *types.Dict:
		es := dictEntries(v)
		if len(es) == 0 {
			return nil, false, nil
		}
		for _, e := range es {
			if _, ok := e.value.(*torchTensor); !ok || !e.str {
				return nil, false, nil
			}
		}
		sd := StateDict{}
		for _, e := range es {
			if err := addTensor(sd, e.key, e.value.(*torchTensor)); err != nil {
				return nil, true, err
			}
		}
		return sd, true, nil
	case *pyObject:
		sd := StateDict{}
		if err := collectModule(sd, v, "", 0, map[*pyObject]bool{}); err != nil {
			return nil, true, err
		}
		if len(sd) == 0 {
			return nil, false, nil
		}
		return sd, true, nil
	}
	return nil, false, nil
}

// searchStateDicts appends to cands the dotted paths of the entries below
// obj (not obj itself) that are state_dicts, down to a few levels.
func searchStateDicts(obj any, prefix string, depth int, seen map[any]bool, cands *[]string) {
	switch obj.(type) {
	case *types.OrderedDict, *types.Dict:
	default:
		return
	}
	if depth >= 4 || seen[obj] {
		return
	}
	seen[obj] = true
	for _, e := range dictEntries(obj) {
		switch e.value.(type) {
		case *types.OrderedDict, *types.Dict, *pyObject:
		default:
			continue
		}
		if !e.str {
			continue // optimizer state {0: {"momentum_buffer": ...}}: not weights
		}
		p := prefix + e.key
		if _, ok, _ := asStateDict(e.value); ok {
			*cands = append(*cands, p)
			continue
		}
		searchStateDicts(e.value, p+".", depth+1, seen, cands)
	}
}

// stateDictAt converts the state_dict at a path found by searchStateDicts.
func stateDictAt(obj any, p string) (StateDict, error) {
	cur := obj
	for rest := p; ; {
		var found bool
		for _, e := range dictEntries(cur) {
			if e.key == rest {
				sd, ok, err := asStateDict(e.value)
				if !ok && err == nil {
					err = errors.New("not a state_dict")
				}
				if err != nil {
					return nil, fmt.Errorf("entry %q: %w", p, err)
				}
				return sd, nil
			}
			if strings.HasPrefix(rest, e.key+".") {
				cur, rest, found = e.value, rest[len(e.key)+1:], true
				break
			}
		}
		if !found {
			return nil, fmt.Errorf("entry %q not found", p)
		}
	}
}

type dictEntry struct {
	key   string
	value any
	str   bool // the key is a string (optimizer states use ints)
}

// dictEntries lists a dict's entries with string keys (nil for a
// non-dict).
func dictEntries(d any) []dictEntry {
	es := []dictEntry{}
	switch v := d.(type) {
	case *types.OrderedDict:
		for e := v.List.Front(); e != nil; e = e.Next() {
			oe := e.Value.(*types.OrderedDictEntry)
			k, ok := oe.Key.(string)
			es = append(es, dictEntry{k, oe.Value, ok})
		}
	case *types.Dict:
		for _, e := range *v {
			k, ok := e.Key.(string)
			es = append(es, dictEntry{k, e.Value, ok})
		}
	default:
		return nil
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
	if len(ks) == 0 {
		return "none"
	}
	return strings.Join(ks, ", ")
}

func quoteList(ss []string) string {
	if len(ss) == 0 {
		return "none"
	}
	q := make([]string, len(ss))
	for i, s := range ss {
		q[i] = fmt.Sprintf("%q", s)
	}
	return strings.Join(q, ", ")
}

func pyTypeName(v any) string {
	switch x := v.(type) {
	case nil:
		return "None"
	case *pyObject:
		return x.class.module + "." + x.class.name
	case *torchTensor:
		return "tensor"
	case *types.OrderedDict, *types.Dict:
		return "dict"
	case *types.List:
		return "list"
	case *types.Tuple:
		return "tuple"
	case int, *big.Int:
		return "int"
	case float64:
		return "float"
	case string:
		return "str"
	case bool:
		return "bool"
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
			t, ok := e.value.(*torchTensor)
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

func addTensor(sd StateDict, key string, t *torchTensor) error {
	if _, dup := sd[key]; dup {
		return fmt.Errorf("duplicate key %q", key)
	}
	dt, err := t.float64s()
	if err != nil {
		return fmt.Errorf("key %q: %w", key, err)
	}
	sd[key] = dt
	return nil
}

// Half returns the exact value of the IEEE 754 binary16 number with bits h
// (subnormals, ±0, ±Inf and NaN included).
func Half(h uint16) float64 { return float64(float16.Frombits(h).Float32()) }

// BFloat16 returns the exact value of the bfloat16 number with bits b: the
// top 16 bits of a float32.
func BFloat16(b uint16) float64 { return float64(math.Float32frombits(uint32(b) << 16)) }

// elemDecoder returns the converter of one little-endian element of a
// storage class to float64 (exact for every class).
func elemDecoder(class string) func([]byte) float64 {
	le := binary.LittleEndian
	switch class {
	case "HalfStorage":
		return func(p []byte) float64 { return Half(le.Uint16(p)) }
	case "BFloat16Storage":
		return func(p []byte) float64 { return BFloat16(le.Uint16(p)) }
	case "FloatStorage":
		return func(p []byte) float64 { return float64(math.Float32frombits(le.Uint32(p))) }
	case "DoubleStorage":
		return func(p []byte) float64 { return math.Float64frombits(le.Uint64(p)) }
	case "LongStorage":
		return func(p []byte) float64 { return float64(int64(le.Uint64(p))) }
	case "IntStorage":
		return func(p []byte) float64 { return float64(int32(le.Uint32(p))) }
	case "ShortStorage":
		return func(p []byte) float64 { return float64(int16(le.Uint16(p))) }
	case "CharStorage":
		return func(p []byte) float64 { return float64(int8(p[0])) }
	case "ByteStorage":
		return func(p []byte) float64 { return float64(p[0]) }
	case "BoolStorage":
		return func(p []byte) float64 {
			if p[0] != 0 {
				return 1
			}
			return 0
		}
	}
	return nil
}

// float64s copies a (possibly strided) tensor view into a row-major
// float64 tensor.
func (t *torchTensor) float64s() (dataset.Tensor, error) {
	s := t.storage
	at := elemDecoder(s.class)
	if at == nil || s.elem == 0 {
		return dataset.Tensor{}, fmt.Errorf("unsupported storage type %s", s.class)
	}
	n := len(s.data) / s.elem
	if len(t.size) != len(t.stride) {
		return dataset.Tensor{}, fmt.Errorf("size %v and stride %v differ in rank", t.size, t.stride)
	}
	total, last := 1, t.offset
	if last < 0 {
		return dataset.Tensor{}, fmt.Errorf("negative storage offset %d", last)
	}
	for i, d := range t.size {
		if d < 0 || t.stride[i] < 0 || d > maxElems || t.stride[i] > maxElems {
			return dataset.Tensor{}, fmt.Errorf("invalid size %v or stride %v", t.size, t.stride)
		}
		total = numel([]int{total, d})
		if total > maxElems {
			return dataset.Tensor{}, fmt.Errorf("size %v is too large", t.size)
		}
		if d > 0 {
			last += (d - 1) * t.stride[i]
		}
	}
	if total > 0 && last >= n {
		return dataset.Tensor{}, fmt.Errorf("view (offset %d, size %v, stride %v) exceeds its storage of %d elements", t.offset, t.size, t.stride, n)
	}
	out := dataset.Tensor{Shape: slices.Clone(t.size), Data: make([]float64, total)}
	if out.Shape == nil {
		out.Shape = []int{}
	}
	idx := make([]int, len(t.size))
	for j := range out.Data {
		off := t.offset
		for d, v := range idx {
			off += v * t.stride[d]
		}
		out.Data[j] = at(s.data[off*s.elem:])
		for d := len(idx) - 1; d >= 0; d-- {
			idx[d]++
			if idx[d] < t.size[d] {
				break
			}
			idx[d] = 0
		}
	}
	return out, nil
}

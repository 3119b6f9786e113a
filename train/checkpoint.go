package train

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"sort"
	"strconv"

	"github.com/nlpodyssey/safetensors"

	"github.com/addergen/addergen/dataset"
	"github.com/addergen/addergen/model"
)

// Weight dtypes accepted by EncodeWeights.
const (
	DTypeF32 = "f32"
	DTypeF64 = "f64"
)

// EncodeWeights returns the net's state_dict as a .safetensors file with
// PyTorch's key names (model.Layer params) and dtypes: dtype ("f32" or
// "f64") tensors, plus each batch norm's num_batches_tracked as an I64
// scalar holding steps. The metadata holds format "pt", the spec JSON
// under "spec" and extra entries.
func EncodeWeights(n *model.Net, dtype string, steps int64, extra map[string]string) ([]byte, error) {
	var dt safetensors.DType
	switch dtype {
	case DTypeF32:
		dt = safetensors.F32
	case DTypeF64:
		dt = safetensors.F64
	default:
		return nil, fmt.Errorf("train: unknown weight dtype %q (want f32 or f64)", dtype)
	}
	views := map[string]rawView{}
	for _, p := range n.Params() {
		views[p.Key] = tensorView(p.Value, dt)
	}
	for _, l := range n.Layers {
		if l.NumBatchesKey == "" {
			continue
		}
		// A scalar, as PyTorch stores it.
		views[l.NumBatchesKey] = rawView{dt: safetensors.I64, shape: []uint64{},
			data: binary.LittleEndian.AppendUint64(nil, uint64(steps))}
	}
	meta := map[string]string{"format": "pt", "spec": string(n.Spec.JSON())}
	for k, v := range extra {
		meta[k] = v
	}
	return safetensors.Serialize(views, meta)
}

// rawView is a safetensors.View; unlike safetensors.TensorView it allows
// scalars (shape []).
type rawView struct {
	dt    safetensors.DType
	shape []uint64
	data  []byte
}

func (v rawView) DType() safetensors.DType { return v.dt }
func (v rawView) Shape() []uint64          { return v.shape }
func (v rawView) Data() []byte             { return v.data }
func (v rawView) DataLen() uint64          { return uint64(len(v.data)) }

func tensorView(t dataset.Tensor, dt safetensors.DType) rawView {
	shape := make([]uint64, len(t.Shape))
	for i, d := range t.Shape {
		shape[i] = uint64(d)
	}
	var raw []byte
	switch dt {
	case safetensors.F32:
		raw = make([]byte, 4*len(t.Data))
		for i, v := range t.Data {
			binary.LittleEndian.PutUint32(raw[4*i:], math.Float32bits(float32(v)))
		}
	default:
		raw = make([]byte, 8*len(t.Data))
		for i, v := range t.Data {
			binary.LittleEndian.PutUint64(raw[8*i:], math.Float64bits(v))
		}
	}
	return rawView{dt: dt, shape: shape, data: raw}
}

// checkpointVersion is the format version of EncodeCheckpoint.
const checkpointVersion = 1

// momentumPrefix prefixes the momentum buffers' keys in a checkpoint.
const momentumPrefix = "optimizer.momentum_buffer."

// checkpointMeta is the JSON metadata of a checkpoint.
type checkpointMeta struct {
	Version int             `json:"version"`
	Done    int             `json:"epochs_done"`
	Options Options         `json:"options"`
	Log     []EpochLog      `json:"log"`
	Spec    json.RawMessage `json:"spec"`
}

// EncodeCheckpoint returns the run's state after its completed epochs as
// a .safetensors file: every state_dict tensor and SGD momentum buffer in
// F64, and the options, progress and spec in the metadata, so that
// Resume continues exactly where the run stopped.
func (r *Run) EncodeCheckpoint() ([]byte, error) {
	views := map[string]rawView{}
	for _, p := range r.T.Net.Params() {
		views[p.Key] = tensorView(p.Value, safetensors.F64)
	}
	for _, ps := range r.T.params {
		views[momentumPrefix+ps.p.Key] = tensorView(dataset.Tensor{Shape: ps.p.Value.Shape, Data: ps.vel}, safetensors.F64)
	}
	meta, err := json.Marshal(checkpointMeta{Version: checkpointVersion, Done: r.Done, Options: r.Opts,
		Log: r.Log, Spec: json.RawMessage(r.T.Net.Spec.JSON())})
	if err != nil {
		return nil, err
	}
	return safetensors.Serialize(views, map[string]string{"addergen_checkpoint": string(meta),
		"epochs_done": strconv.Itoa(r.Done)})
}

// Checkpoint is a decoded checkpoint.
type Checkpoint struct {
	// Net holds the weights and batch-norm statistics.
	Net *model.Net
	// Options are those of the run that wrote it.
	Options Options
	// Done is the number of completed epochs.
	Done int
	// Log holds the records of the completed epochs.
	Log      []EpochLog
	momentum map[string][]float64
}

// DecodeCheckpoint reads a checkpoint written by EncodeCheckpoint.
func DecodeCheckpoint(data []byte) (*Checkpoint, error) {
	st, err := safetensors.Deserialize(data)
	if err != nil {
		return nil, fmt.Errorf("not a safetensors file: %w", err)
	}
	_, md, err := safetensors.ReadMetadata(data)
	if err != nil {
		return nil, fmt.Errorf("not a safetensors file: %w", err)
	}
	raw, ok := md.Metadata()["addergen_checkpoint"]
	if !ok {
		return nil, errors.New("not an addergen training checkpoint (no addergen_checkpoint metadata)")
	}
	var m checkpointMeta
	if err := json.Unmarshal([]byte(raw), &m); err != nil {
		return nil, fmt.Errorf("checkpoint metadata: %w", err)
	}
	if m.Version != checkpointVersion {
		return nil, fmt.Errorf("checkpoint format version %d, want %d", m.Version, checkpointVersion)
	}
	spec, err := model.ParseSpec(m.Spec, "checkpoint spec")
	if err != nil {
		return nil, err
	}
	net, err := model.Build(spec)
	if err != nil {
		return nil, err
	}
	sd := model.StateDict{}
	mom := map[string][]float64{}
	for _, nt := range st.Tensors() {
		tv := nt.TensorView
		if tv.DType() != safetensors.F64 {
			return nil, fmt.Errorf("checkpoint tensor %q has dtype %s, want F64", nt.Name, tv.DType())
		}
		shape := make([]int, len(tv.Shape()))
		for i, d := range tv.Shape() {
			shape[i] = int(d)
		}
		b := tv.Data()
		vals := make([]float64, len(b)/8)
		if numel(shape) != len(vals) {
			return nil, fmt.Errorf("checkpoint tensor %q: shape %v but %d values", nt.Name, shape, len(vals))
		}
		for i := range vals {
			vals[i] = math.Float64frombits(binary.LittleEndian.Uint64(b[8*i:]))
		}
		if len(nt.Name) > len(momentumPrefix) && nt.Name[:len(momentumPrefix)] == momentumPrefix {
			mom[nt.Name[len(momentumPrefix):]] = vals
		} else {
			sd[nt.Name] = dataset.Tensor{Shape: shape, Data: vals}
		}
	}
	if err := net.SetStateDict(sd, "checkpoint"); err != nil {
		return nil, err
	}
	return &Checkpoint{Net: net, Options: m.Options, Done: m.Done, Log: m.Log, momentum: mom}, nil
}

// Resume makes a run that continues the checkpoint with opts, which must
// equal the checkpoint's options except for Epochs (at least the epochs
// done; a different count changes the cosine schedule of the remaining
// epochs) and Workers.
func Resume(ck *Checkpoint, opts Options, trainSet, testSet *dataset.Set) (*Run, error) {
	a, b := ck.Options, opts
	a.Epochs, b.Epochs = 0, 0
	a.Workers, b.Workers = 0, 0
	for _, o := range []*Options{&a, &b} {
		if o.Chunk <= 0 {
			o.Chunk = DefaultChunk
		}
	}
	if a != b {
		ja, _ := json.Marshal(a)
		jb, _ := json.Marshal(b)
		return nil, fmt.Errorf("train: resume: options %s differ from the checkpoint's %s", jb, ja)
	}
	if opts.Epochs < ck.Done {
		return nil, fmt.Errorf("train: resume: %d epochs requested but the checkpoint has %d done", opts.Epochs, ck.Done)
	}
	r, err := NewRun(ck.Net, opts, trainSet, testSet)
	if err != nil {
		return nil, err
	}
	keys := make([]string, 0, len(ck.momentum))
	for k := range ck.momentum {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	if len(keys) != len(r.T.params) {
		return nil, fmt.Errorf("train: resume: checkpoint has %d momentum buffers, the net %d parameters", len(keys), len(r.T.params))
	}
	for _, ps := range r.T.params {
		v, ok := ck.momentum[ps.p.Key]
		if !ok || len(v) != len(ps.vel) {
			return nil, fmt.Errorf("train: resume: checkpoint lacks the momentum buffer of %q", ps.p.Key)
		}
		copy(ps.vel, v)
	}
	r.Done = ck.Done
	r.Log = append([]EpochLog(nil), ck.Log...)
	return r, nil
}

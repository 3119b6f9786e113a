package rtl

import (
	"fmt"
	"strings"
)

// The network top's AXI4-Lite register map (byte addresses; 32-bit words).
// templates/prim/axil_status.v implements it; README.md documents it.
const (
	RegID        = 0x00 // TopID
	RegVersion   = 0x04 // TopVersion
	RegError     = 0x08 // sticky error flags (ErrShortFrame, ErrLongFrame), write 1 to clear
	RegImagesIn  = 0x0C // input frames passed on to the network
	RegImagesOut = 0x10 // images whose last output beat left m_axis
	RegCyclesLo  = 0x14 // cycles since reset, bits 31:0 (reading latches RegCyclesHi)
	RegCyclesHi  = 0x18 // cycles since reset, bits 63:32, latched by the last RegCyclesLo read
	RegPeriod    = 0x1C // cycles between the last two output images
	RegPixels    = 0x20 // input beats per image
	RegClasses   = 0x24 // output beats per image
	RegWeights   = 0x28 // bit 0 weights loaded, bits 15:8 loads abandoned, 31:16 loads completed (runtime weights)
)

// Error flags of RegError.
const (
	ErrShortFrame = 1 << 0 // s_axis_tlast before an image's last pixel
	ErrLongFrame  = 1 << 1 // no s_axis_tlast on an image's last pixel
)

// TopID is the value of RegID: "ADNT" in ASCII.
const TopID uint32 = 0x41444E54

// TopVersion is the value of RegVersion: the version of the top's
// interface and register map, major in bits 31:16, minor in 15:0.
const TopVersion uint32 = 0x0001_0001 // 1.1: the WEIGHTS register

// TopAXILAddrBits is the width of the top's s_axi_awaddr and s_axi_araddr.
const TopAXILAddrBits = 6

// DefaultWeightsDir is the default of the top's WEIGHTS_DIR parameter: the
// folder the ROM files are read from, relative to the simulator's or
// synthesis tool's working directory.
const DefaultWeightsDir = "."

// InTData is the width of the top's s_axis_tdata: the input pixel
// (channels times bits) rounded up to whole bytes. The pixel is in the
// low InBits bits, the bits above are padding and ignored.
func (n *Net) InTData() int { return ceilDiv(n.InBits, 8) * 8 }

// Pixels is the number of s_axis beats per image (one per input pixel).
func (n *Net) Pixels() int { return n.Model.Input.Shape[1] * n.Model.Input.Shape[2] }

// ResetPort is the name of the top's reset input: rst_i (active high) or
// aresetn (active low, NetConfig.AResetN).
func (n *Net) ResetPort() string {
	if n.AResetN {
		return "aresetn"
	}
	return "rst_i"
}

// HasROM reports whether the engine reads ROM files with $readmemh (and so
// has a WEIGHTS_DIR parameter).
func (e *Engine) HasROM() bool { return len(e.roms) > 0 && !e.Runtime }

// WeightsDir is the default of the engine's WEIGHTS_DIR parameter
// (DefaultWeightsDir).
func (e *Engine) WeightsDir() string { return DefaultWeightsDir }

// HasROMs reports whether any engine reads ROM files (and so the top has a
// WEIGHTS_DIR parameter).
func (n *Net) HasROMs() bool {
	for _, e := range n.Engines {
		if e.HasROM() {
			return true
		}
	}
	return false
}

// topView is what templates/net_top.v.tmpl prints.
type topView struct {
	*Net
	InTData, InTMsb int
	Pad             bool // s_axis_tdata[InTMsb:InBits] is padding
	Pixels          int
	ResetPort       string
	ResetPolarity   string // X_INTERFACE_PARAMETER POLARITY
	HasROMs         bool
	WeightsDir      string
	AW, AWMsb       int
	IDLit, VerLit   string
	PixLit, ClsLit  string
	Ports           []TopPort
	WL              *weightLoader // runtime weights' loader (nil: ROMs)
}

func (n *Net) topView() (*topView, error) {
	v := &topView{Net: n, InTData: n.InTData(), Pixels: n.Pixels(), ResetPort: n.ResetPort(),
		ResetPolarity: "ACTIVE_HIGH", HasROMs: n.HasROMs(), WeightsDir: DefaultWeightsDir,
		AW: TopAXILAddrBits, AWMsb: TopAXILAddrBits - 1, Ports: n.TopPorts(), WL: n.loader()}
	v.InTMsb = v.InTData - 1
	v.Pad = v.InTData > n.InBits
	if n.AResetN {
		v.ResetPolarity = "ACTIVE_LOW"
	}
	if v.Pixels < 1 || uint64(v.Pixels) > 1<<31 || n.OutCount < 1 {
		return nil, fmt.Errorf("top: %d pixels and %d classes per image: both must be 1..2^31", v.Pixels, n.OutCount)
	}
	lit := func(x uint32) string { return fmt.Sprintf("32'h%08x", x) }
	v.IDLit, v.VerLit = lit(TopID), lit(TopVersion)
	v.PixLit, v.ClsLit = lit(uint32(v.Pixels)), lit(uint32(n.OutCount))
	return v, nil
}

// TopPort is one port of the network top, in declaration order.
type TopPort struct {
	Name  string
	Dir   string // "in" or "out" (IP-XACT's spelling)
	Width int
	// Bus is the interface the port belongs to (TopBus.Name), Logical its
	// port in the interface's abstraction (TDATA, CLK, RST, ...).
	Bus, Logical string
	// For templates/net_top.v.tmpl: the attributes (Vivado's
	// X_INTERFACE_INFO and X_INTERFACE_PARAMETER), the declaration's
	// keyword and range, and the separator after it.
	Attrs       []string
	Keyword     string // "input " or "output"
	Range, Sep  string
	Left, Right int // the vector's bounds (Width > 1)
	Vector      bool
}

// TopBus is one interface of the network top, named as in Vivado:
// Vendor:Library:Type:1.0 is its bus type, Type_rtl its abstraction.
type TopBus struct {
	Name    string
	Vendor  string // "xilinx.com"
	Library string // "interface" or "signal"
	Type    string // axis, aximm, clock, reset
	Mode    string // "slave" or "master"
	Params  []TopParam
	MemMap  bool // an AXI4-Lite slave with the register map
}

// TopParam is a name and a value (a bus parameter, or an HDL parameter
// of the top).
type TopParam struct {
	Name, Value string
}

// TopRegister is one register of the AXI4-Lite map, for the IP-XACT memory map.
type TopRegister struct {
	Name, Access, Description string
	Offset                    int
	W1C                       bool // bits [1:0] are write-1-to-clear flags
}

// TopRegisters is the AXI4-Lite register map of templates/prim/axil_status.v.
var TopRegisters = []TopRegister{
	{"ID", "read-only", "design identifier, 0x41444E54 (ADNT)", RegID, false},
	{"VERSION", "read-only", "interface and register map version, major in bits 31:16", RegVersion, false},
	{"ERROR", "read-write", "sticky framing errors: bit 0 short frame, bit 1 long frame; write 1 to clear", RegError, true},
	{"IMAGES_IN", "read-only", "input frames passed to the network", RegImagesIn, false},
	{"IMAGES_OUT", "read-only", "images whose last class left m_axis", RegImagesOut, false},
	{"CYCLES_LO", "read-only", "cycles since reset, bits 31:0; reading latches bits 63:32", RegCyclesLo, false},
	{"CYCLES_HI", "read-only", "cycles since reset, bits 63:32, latched by the last CYCLES_LO read", RegCyclesHi, false},
	{"PERIOD", "read-only", "cycles between the last two output images", RegPeriod, false},
	{"PIXELS", "read-only", "input beats per image", RegPixels, false},
	{"CLASSES", "read-only", "output beats per image", RegClasses, false},
	{"WEIGHTS", "read-only", "bit 0 the weights are loaded (always with ROM weights); bits 15:8 weight loads abandoned; bits 31:16 weight loads completed", RegWeights, false},
}

// TopBuses lists the top's interfaces: clock, reset, s_axis, m_axis, s_axi.
func (n *Net) TopBuses() []TopBus {
	rst := n.ResetPort()
	pol := "ACTIVE_HIGH"
	if n.AResetN {
		pol = "ACTIVE_LOW"
	}
	busif := "s_axis:m_axis:s_axi"
	if n.Runtime {
		busif += ":s_axis_w"
	}
	bs := []TopBus{
		{Name: "clk_i", Vendor: "xilinx.com", Library: "signal", Type: "clock", Mode: "slave",
			Params: []TopParam{{"ASSOCIATED_BUSIF", busif}, {"ASSOCIATED_RESET", rst}}},
		{Name: rst, Vendor: "xilinx.com", Library: "signal", Type: "reset", Mode: "slave",
			Params: []TopParam{{"POLARITY", pol}}},
		{Name: "s_axis", Vendor: "xilinx.com", Library: "interface", Type: "axis", Mode: "slave",
			Params: []TopParam{{"TDATA_NUM_BYTES", fmt.Sprint(n.InTData() / 8)}, {"HAS_TLAST", "1"}, {"HAS_TREADY", "1"}}},
		{Name: "m_axis", Vendor: "xilinx.com", Library: "interface", Type: "axis", Mode: "master",
			Params: []TopParam{{"TDATA_NUM_BYTES", fmt.Sprint(n.OutTData / 8)}, {"HAS_TLAST", "1"}, {"HAS_TREADY", "1"}}},
		{Name: "s_axi", Vendor: "xilinx.com", Library: "interface", Type: "aximm", Mode: "slave", MemMap: true,
			Params: []TopParam{{"PROTOCOL", "AXI4LITE"}, {"DATA_WIDTH", "32"}, {"ADDR_WIDTH", fmt.Sprint(TopAXILAddrBits)}}},
	}
	if n.Runtime {
		bs = append(bs, TopBus{Name: "s_axis_w", Vendor: "xilinx.com", Library: "interface", Type: "axis", Mode: "slave",
			Params: []TopParam{{"TDATA_NUM_BYTES", fmt.Sprint(WeightBeatBits / 8)}, {"HAS_TLAST", "1"}, {"HAS_TREADY", "1"}}})
	}
	return bs
}

// TopPorts lists the top's ports in declaration order, each with its
// interface and its Verilog declaration.
func (n *Net) TopPorts() []TopPort {
	rst := n.ResetPort()
	ps := []TopPort{
		{Name: "clk_i", Dir: "in", Width: 1, Bus: "clk_i", Logical: "CLK"},
		{Name: rst, Dir: "in", Width: 1, Bus: rst, Logical: "RST"},
		{Name: "s_axis_tdata", Dir: "in", Width: n.InTData(), Bus: "s_axis", Logical: "TDATA"},
		{Name: "s_axis_tvalid", Dir: "in", Width: 1, Bus: "s_axis", Logical: "TVALID"},
		{Name: "s_axis_tready", Dir: "out", Width: 1, Bus: "s_axis", Logical: "TREADY"},
		{Name: "s_axis_tlast", Dir: "in", Width: 1, Bus: "s_axis", Logical: "TLAST"},
		{Name: "m_axis_tdata", Dir: "out", Width: n.OutTData, Bus: "m_axis", Logical: "TDATA"},
		{Name: "m_axis_tvalid", Dir: "out", Width: 1, Bus: "m_axis", Logical: "TVALID"},
		{Name: "m_axis_tready", Dir: "in", Width: 1, Bus: "m_axis", Logical: "TREADY"},
		{Name: "m_axis_tlast", Dir: "out", Width: 1, Bus: "m_axis", Logical: "TLAST"},
	}
	for _, p := range []struct {
		logical, dir string
		width        int
	}{
		{"AWADDR", "in", TopAXILAddrBits}, {"AWVALID", "in", 1}, {"AWREADY", "out", 1},
		{"WDATA", "in", 32}, {"WSTRB", "in", 4}, {"WVALID", "in", 1}, {"WREADY", "out", 1},
		{"BRESP", "out", 2}, {"BVALID", "out", 1}, {"BREADY", "in", 1},
		{"ARADDR", "in", TopAXILAddrBits}, {"ARVALID", "in", 1}, {"ARREADY", "out", 1},
		{"RDATA", "out", 32}, {"RRESP", "out", 2}, {"RVALID", "out", 1}, {"RREADY", "in", 1},
	} {
		ps = append(ps, TopPort{Name: "s_axi_" + strings.ToLower(p.logical), Dir: p.dir, Width: p.width, Bus: "s_axi", Logical: p.logical})
	}
	if n.Runtime {
		ps = append(ps,
			TopPort{Name: "s_axis_w_tdata", Dir: "in", Width: WeightBeatBits, Bus: "s_axis_w", Logical: "TDATA"},
			TopPort{Name: "s_axis_w_tvalid", Dir: "in", Width: 1, Bus: "s_axis_w", Logical: "TVALID"},
			TopPort{Name: "s_axis_w_tready", Dir: "out", Width: 1, Bus: "s_axis_w", Logical: "TREADY"},
			TopPort{Name: "s_axis_w_tlast", Dir: "in", Width: 1, Bus: "s_axis_w", Logical: "TLAST"})
	}
	buses := map[string]TopBus{}
	for _, b := range n.TopBuses() {
		buses[b.Name] = b
	}
	first := map[string]bool{}
	for i := range ps {
		p := &ps[i]
		b := buses[p.Bus]
		p.Attrs = []string{fmt.Sprintf(`X_INTERFACE_INFO = "%s:%s:%s:1.0 %s %s"`, b.Vendor, b.Library, b.Type, b.Name, p.Logical)}
		if !first[p.Bus] {
			first[p.Bus] = true
			kv := make([]string, len(b.Params))
			for j, q := range b.Params {
				kv[j] = q.Name + " " + q.Value
			}
			if b.Type == "axis" {
				kv = nil // Vivado infers TDATA_NUM_BYTES, HAS_TLAST and HAS_TREADY from the ports
			}
			if len(kv) > 0 {
				p.Attrs = append(p.Attrs, fmt.Sprintf(`X_INTERFACE_PARAMETER = "%s"`, strings.Join(kv, ", ")))
			}
		}
		p.Keyword = "input "
		if p.Dir == "out" {
			p.Keyword = "output"
		}
		if p.Width > 1 {
			p.Vector, p.Left = true, p.Width-1
			p.Range = fmt.Sprintf("[%d:0] ", p.Width-1)
		}
		p.Sep = ","
	}
	ps[len(ps)-1].Sep = ""
	return ps
}

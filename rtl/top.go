package rtl

import "fmt"

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
const TopVersion uint32 = 0x0001_0000

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
func (e *Engine) HasROM() bool { return len(e.roms) > 0 }

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
}

func (n *Net) topView() (*topView, error) {
	v := &topView{Net: n, InTData: n.InTData(), Pixels: n.Pixels(), ResetPort: n.ResetPort(),
		ResetPolarity: "ACTIVE_HIGH", HasROMs: n.HasROMs(), WeightsDir: DefaultWeightsDir,
		AW: TopAXILAddrBits, AWMsb: TopAXILAddrBits - 1}
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

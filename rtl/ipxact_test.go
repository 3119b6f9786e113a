package rtl

import (
	"encoding/xml"
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
)

const spiritNS = "http://www.spiritconsortium.org/XMLSchema/SPIRIT/1685-2009"

// The parts of an IP-XACT 1685-2009 component the test reads.
type xComponent struct {
	XMLName xml.Name `xml:"http://www.spiritconsortium.org/XMLSchema/SPIRIT/1685-2009 component"`
	Vendor  string   `xml:"http://www.spiritconsortium.org/XMLSchema/SPIRIT/1685-2009 vendor"`
	Library string   `xml:"http://www.spiritconsortium.org/XMLSchema/SPIRIT/1685-2009 library"`
	Name    string   `xml:"http://www.spiritconsortium.org/XMLSchema/SPIRIT/1685-2009 name"`
	Version string   `xml:"http://www.spiritconsortium.org/XMLSchema/SPIRIT/1685-2009 version"`
	Buses   []xBus   `xml:"http://www.spiritconsortium.org/XMLSchema/SPIRIT/1685-2009 busInterfaces>busInterface"`
	MemMaps []struct {
		Name   string `xml:"http://www.spiritconsortium.org/XMLSchema/SPIRIT/1685-2009 name"`
		Blocks []struct {
			Range     string `xml:"http://www.spiritconsortium.org/XMLSchema/SPIRIT/1685-2009 range"`
			Registers []struct {
				Name   string `xml:"http://www.spiritconsortium.org/XMLSchema/SPIRIT/1685-2009 name"`
				Offset string `xml:"http://www.spiritconsortium.org/XMLSchema/SPIRIT/1685-2009 addressOffset"`
				Access string `xml:"http://www.spiritconsortium.org/XMLSchema/SPIRIT/1685-2009 access"`
			} `xml:"http://www.spiritconsortium.org/XMLSchema/SPIRIT/1685-2009 register"`
		} `xml:"http://www.spiritconsortium.org/XMLSchema/SPIRIT/1685-2009 addressBlock"`
	} `xml:"http://www.spiritconsortium.org/XMLSchema/SPIRIT/1685-2009 memoryMaps>memoryMap"`
	Views []struct {
		Name      string `xml:"http://www.spiritconsortium.org/XMLSchema/SPIRIT/1685-2009 name"`
		ModelName string `xml:"http://www.spiritconsortium.org/XMLSchema/SPIRIT/1685-2009 modelName"`
		FileSet   string `xml:"http://www.spiritconsortium.org/XMLSchema/SPIRIT/1685-2009 fileSetRef>localName"`
	} `xml:"http://www.spiritconsortium.org/XMLSchema/SPIRIT/1685-2009 model>views>view"`
	Ports []struct {
		Name  string `xml:"http://www.spiritconsortium.org/XMLSchema/SPIRIT/1685-2009 name"`
		Dir   string `xml:"http://www.spiritconsortium.org/XMLSchema/SPIRIT/1685-2009 wire>direction"`
		Left  *int   `xml:"http://www.spiritconsortium.org/XMLSchema/SPIRIT/1685-2009 wire>vector>left"`
		Right *int   `xml:"http://www.spiritconsortium.org/XMLSchema/SPIRIT/1685-2009 wire>vector>right"`
	} `xml:"http://www.spiritconsortium.org/XMLSchema/SPIRIT/1685-2009 model>ports>port"`
	ModelParams []xParam `xml:"http://www.spiritconsortium.org/XMLSchema/SPIRIT/1685-2009 model>modelParameters>modelParameter"`
	FileSets    []struct {
		Name  string `xml:"http://www.spiritconsortium.org/XMLSchema/SPIRIT/1685-2009 name"`
		Files []struct {
			Name     string `xml:"http://www.spiritconsortium.org/XMLSchema/SPIRIT/1685-2009 name"`
			Type     string `xml:"http://www.spiritconsortium.org/XMLSchema/SPIRIT/1685-2009 fileType"`
			UserType string `xml:"http://www.spiritconsortium.org/XMLSchema/SPIRIT/1685-2009 userFileType"`
		} `xml:"http://www.spiritconsortium.org/XMLSchema/SPIRIT/1685-2009 file"`
	} `xml:"http://www.spiritconsortium.org/XMLSchema/SPIRIT/1685-2009 fileSets>fileSet"`
	Params []xParam `xml:"http://www.spiritconsortium.org/XMLSchema/SPIRIT/1685-2009 parameters>parameter"`
}

type xBus struct {
	Name    string `xml:"http://www.spiritconsortium.org/XMLSchema/SPIRIT/1685-2009 name"`
	BusType struct {
		Vendor  string `xml:"http://www.spiritconsortium.org/XMLSchema/SPIRIT/1685-2009 vendor,attr"`
		Library string `xml:"http://www.spiritconsortium.org/XMLSchema/SPIRIT/1685-2009 library,attr"`
		Name    string `xml:"http://www.spiritconsortium.org/XMLSchema/SPIRIT/1685-2009 name,attr"`
		Version string `xml:"http://www.spiritconsortium.org/XMLSchema/SPIRIT/1685-2009 version,attr"`
	} `xml:"http://www.spiritconsortium.org/XMLSchema/SPIRIT/1685-2009 busType"`
	Abstraction struct {
		Name string `xml:"http://www.spiritconsortium.org/XMLSchema/SPIRIT/1685-2009 name,attr"`
	} `xml:"http://www.spiritconsortium.org/XMLSchema/SPIRIT/1685-2009 abstractionType"`
	Master *struct{} `xml:"http://www.spiritconsortium.org/XMLSchema/SPIRIT/1685-2009 master"`
	Slave  *struct {
		MemMap *struct {
			Ref string `xml:"http://www.spiritconsortium.org/XMLSchema/SPIRIT/1685-2009 memoryMapRef,attr"`
		} `xml:"http://www.spiritconsortium.org/XMLSchema/SPIRIT/1685-2009 memoryMapRef"`
	} `xml:"http://www.spiritconsortium.org/XMLSchema/SPIRIT/1685-2009 slave"`
	PortMaps []struct {
		Logical  string `xml:"http://www.spiritconsortium.org/XMLSchema/SPIRIT/1685-2009 logicalPort>name"`
		Physical string `xml:"http://www.spiritconsortium.org/XMLSchema/SPIRIT/1685-2009 physicalPort>name"`
	} `xml:"http://www.spiritconsortium.org/XMLSchema/SPIRIT/1685-2009 portMaps>portMap"`
	Params []xParam `xml:"http://www.spiritconsortium.org/XMLSchema/SPIRIT/1685-2009 parameters>parameter"`
}

type xParam struct {
	Name  string `xml:"http://www.spiritconsortium.org/XMLSchema/SPIRIT/1685-2009 name"`
	Value string `xml:"http://www.spiritconsortium.org/XMLSchema/SPIRIT/1685-2009 value"`
}

// vPort is a port as declared in the emitted Verilog.
type vPort struct {
	Name, Dir  string // dir: in or out
	Width      int
	Bus, Logic string // from its X_INTERFACE_INFO attribute
}

var (
	vPortRe  = regexp.MustCompile(`^\s*(input|output)\s+wire\s+(?:\[(\d+):(\d+)\]\s+)?(\w+)\s*,?\s*$`)
	vInfoRe  = regexp.MustCompile(`^\s*\(\* X_INTERFACE_INFO = "xilinx\.com:(\w+):(\w+):1\.0 (\w+) (\w+)" \*\)\s*$`)
	vParamRe = regexp.MustCompile(`parameter\s+(\w+)\s*=\s*"([^"]*)"`)
)

// parseTop reads the port list and string parameters of module top from
// Verilog source, independently of the generator's own port table.
func parseTop(t *testing.T, src, top string) ([]vPort, map[string]string) {
	t.Helper()
	i := strings.Index(src, "module "+top+" ")
	if i < 0 {
		t.Fatalf("no module %s", top)
	}
	hdr := src[i:]
	hdr = hdr[:strings.Index(hdr, ");")]
	params := map[string]string{}
	for _, m := range vParamRe.FindAllStringSubmatch(hdr, -1) {
		params[m[1]] = m[2]
	}
	var ports []vPort
	var bus, logic string
	for _, line := range strings.Split(hdr, "\n") {
		if m := vInfoRe.FindStringSubmatch(line); m != nil {
			bus, logic = m[3], m[4]
			continue
		}
		m := vPortRe.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		w := 1
		if m[2] != "" {
			l, _ := strconv.Atoi(m[2])
			r, _ := strconv.Atoi(m[3])
			w = l - r + 1
		}
		dir := "in"
		if m[1] == "output" {
			dir = "out"
		}
		ports = append(ports, vPort{Name: m[4], Dir: dir, Width: w, Bus: bus, Logic: logic})
		bus, logic = "", ""
	}
	return ports, params
}

// TestIPXACT parses component.xml with encoding/xml and checks it against
// the emitted RTL: every port of the top (name, direction, width, in
// order), the bus interfaces (types, modes, port maps, against the ports'
// X_INTERFACE_INFO attributes), the parameters against the top's, the
// register map, and the file sets against filelist.f and the ROM files.
// The FuseSoC core's file sets and top are checked too.
func TestIPXACT(t *testing.T) {
	q := goldenNetModel(t)
	for _, v := range []struct {
		resetN bool
		mode   string
	}{{false, ""}, {true, ""}, {false, WeightsRuntime}} {
		resetN := v.resetN
		t.Run(fmt.Sprintf("aresetn=%v/weights=%s", resetN, v.mode), func(t *testing.T) {
			c := NetConfig{Top: "ipx_top", Parallel: 2, Lanes: 2, AResetN: resetN, WeightsMode: v.mode}
			files, n, err := EmitNet(q, c)
			if err != nil {
				t.Fatal(err)
			}
			raw, ok := files[IPXACTFile]
			if !ok {
				t.Fatalf("no %s among the emitted files", IPXACTFile)
			}
			var comp xComponent
			if err := xml.Unmarshal(raw, &comp); err != nil {
				t.Fatalf("%s: %v", IPXACTFile, err)
			}
			if comp.Vendor != IPVendor || comp.Library != IPLibrary || comp.Name != c.Top || comp.Version != IPVersion {
				t.Errorf("VLNV %s:%s:%s:%s", comp.Vendor, comp.Library, comp.Name, comp.Version)
			}
			vports, vparams := parseTop(t, string(files[c.Top+".v"]), c.Top)
			if len(vports) < 10 {
				t.Fatalf("parsed only %d ports from the Verilog", len(vports))
			}
			// Ports: the same, in the same order.
			if len(comp.Ports) != len(vports) {
				t.Errorf("%d ports in %s, %d in the Verilog", len(comp.Ports), IPXACTFile, len(vports))
			}
			byName := map[string]vPort{}
			for i, vp := range vports {
				byName[vp.Name] = vp
				if i >= len(comp.Ports) {
					break
				}
				xp := comp.Ports[i]
				w := 1
				if xp.Left != nil && xp.Right != nil {
					w = *xp.Left - *xp.Right + 1
				}
				if xp.Name != vp.Name || xp.Dir != vp.Dir || w != vp.Width {
					t.Errorf("port %d: %s is %s %s [%d], the Verilog has %s %s [%d]", i, IPXACTFile, xp.Name, xp.Dir, w, vp.Name, vp.Dir, vp.Width)
				}
			}
			if byName["s_axis_tdata"].Width != n.InTData() || byName["s_axis_tdata"].Width%8 != 0 || byName["m_axis_tdata"].Width%8 != 0 {
				t.Errorf("TDATA widths %d and %d: not whole bytes or not the plan's", byName["s_axis_tdata"].Width, byName["m_axis_tdata"].Width)
			}
			// Bus interfaces: each as expected, port maps matching the
			// ports' X_INTERFACE_INFO, every port in exactly one.
			rst := n.ResetPort()
			want := map[string]struct{ lib, typ, mode string }{
				"clk_i": {"signal", "clock", "slave"}, rst: {"signal", "reset", "slave"},
				"s_axis": {"interface", "axis", "slave"}, "m_axis": {"interface", "axis", "master"},
				"s_axi": {"interface", "aximm", "slave"},
			}
			busif := "s_axis:m_axis:s_axi"
			if v.mode == WeightsRuntime {
				want["s_axis_w"] = struct{ lib, typ, mode string }{"interface", "axis", "slave"}
				busif += ":s_axis_w"
			}
			mapped := map[string]int{}
			for _, b := range comp.Buses {
				w, ok := want[b.Name]
				if !ok {
					t.Errorf("unexpected bus interface %s", b.Name)
					continue
				}
				delete(want, b.Name)
				mode := "slave"
				if b.Master != nil {
					mode = "master"
				}
				if b.BusType.Vendor != "xilinx.com" || b.BusType.Library != w.lib || b.BusType.Name != w.typ || b.BusType.Version != "1.0" ||
					b.Abstraction.Name != w.typ+"_rtl" || mode != w.mode || (b.Master == nil) == (b.Slave == nil) {
					t.Errorf("bus %s: type %+v abstraction %s mode %s, want xilinx.com:%s:%s:1.0 %s", b.Name, b.BusType, b.Abstraction.Name, mode, w.lib, w.typ, w.mode)
				}
				for _, pm := range b.PortMaps {
					vp, ok := byName[pm.Physical]
					if !ok {
						t.Errorf("bus %s maps %s to %s, not a port of the top", b.Name, pm.Logical, pm.Physical)
						continue
					}
					mapped[pm.Physical]++
					if vp.Bus != b.Name || vp.Logic != pm.Logical {
						t.Errorf("bus %s maps %s to %s, whose X_INTERFACE_INFO says %s %s", b.Name, pm.Logical, pm.Physical, vp.Bus, vp.Logic)
					}
				}
				params := map[string]string{}
				for _, p := range b.Params {
					params[p.Name] = p.Value
				}
				switch w.typ {
				case "axis":
					if params["TDATA_NUM_BYTES"] != strconv.Itoa(byName[b.Name+"_tdata"].Width/8) {
						t.Errorf("bus %s: TDATA_NUM_BYTES %q, the port is %d bits", b.Name, params["TDATA_NUM_BYTES"], byName[b.Name+"_tdata"].Width)
					}
				case "aximm":
					if params["PROTOCOL"] != "AXI4LITE" || params["ADDR_WIDTH"] != strconv.Itoa(byName["s_axi_awaddr"].Width) || params["DATA_WIDTH"] != "32" ||
						b.Slave == nil || b.Slave.MemMap == nil || b.Slave.MemMap.Ref != "s_axi" {
						t.Errorf("bus s_axi: parameters %v, memory map %+v", params, b.Slave)
					}
				case "reset":
					pol := map[bool]string{false: "ACTIVE_HIGH", true: "ACTIVE_LOW"}[resetN]
					if params["POLARITY"] != pol {
						t.Errorf("reset polarity %q, want %s", params["POLARITY"], pol)
					}
				case "clock":
					if params["ASSOCIATED_RESET"] != rst || params["ASSOCIATED_BUSIF"] != busif {
						t.Errorf("clock parameters %v", params)
					}
				}
			}
			for name := range want {
				t.Errorf("no bus interface %s", name)
			}
			for _, vp := range vports {
				if mapped[vp.Name] != 1 {
					t.Errorf("port %s is in %d bus interfaces, want 1", vp.Name, mapped[vp.Name])
				}
			}
			// Parameters: the top's string parameters, with their defaults.
			if v.mode == WeightsRuntime {
				if len(vparams) != 0 || strings.Contains(string(raw), ".hex") {
					t.Errorf("runtime weights: parameters %v, or ROM files in %s", vparams, IPXACTFile)
				}
				return
			}
			if len(vparams) == 0 {
				t.Fatal("the top has no parameter (WEIGHTS_DIR expected: the design has ROMs)")
			}
			for _, set := range [][]xParam{comp.ModelParams, comp.Params} {
				got := map[string]string{}
				for _, p := range set {
					if p.Name != "Component_Name" {
						got[p.Name] = p.Value
					}
				}
				if fmt.Sprint(got) != fmt.Sprint(vparams) {
					t.Errorf("parameters %v, the Verilog top has %v", got, vparams)
				}
			}
			// Register map.
			if len(comp.MemMaps) != 1 || len(comp.MemMaps[0].Blocks) != 1 || comp.MemMaps[0].Name != "s_axi" {
				t.Fatalf("memory maps: %+v", comp.MemMaps)
			}
			blk := comp.MemMaps[0].Blocks[0]
			if blk.Range != strconv.Itoa(1<<byName["s_axi_araddr"].Width) || len(blk.Registers) != len(TopRegisters) {
				t.Errorf("address block of range %s with %d registers", blk.Range, len(blk.Registers))
			}
			for i, r := range blk.Registers {
				off, err := strconv.ParseInt(r.Offset, 0, 32)
				if i < len(TopRegisters) && (err != nil || r.Name != TopRegisters[i].Name || int(off) != TopRegisters[i].Offset) {
					t.Errorf("register %d: %s at %s, want %s at 0x%X", i, r.Name, r.Offset, TopRegisters[i].Name, TopRegisters[i].Offset)
				}
			}
			// File sets: the sources in compile order, then the ROMs;
			// every view's file set exists and every file was emitted.
			srcs := strings.Fields(string(files["filelist.f"]))
			var roms []string
			for f := range files {
				if strings.HasSuffix(f, ".hex") {
					roms = append(roms, f)
				}
			}
			sort.Strings(roms)
			wantFiles := append(append([]string(nil), srcs...), roms...)
			sets := map[string]bool{}
			for _, fs := range comp.FileSets {
				sets[fs.Name] = true
				var got []string
				for _, f := range fs.Files {
					got = append(got, f.Name)
					if _, ok := files[f.Name]; !ok {
						t.Errorf("file set %s lists %s, which was not emitted", fs.Name, f.Name)
					}
					if strings.HasSuffix(f.Name, ".v") != (f.Type == "verilogSource") || (f.Type == "") == (f.UserType == "") {
						t.Errorf("file %s: type %q, user type %q", f.Name, f.Type, f.UserType)
					}
				}
				if !slices.Equal(got, wantFiles) {
					t.Errorf("file set %s: %v, want %v", fs.Name, got, wantFiles)
				}
			}
			if len(comp.Views) != 2 {
				t.Errorf("%d views, want synthesis and simulation", len(comp.Views))
			}
			for _, v := range comp.Views {
				if v.ModelName != c.Top || !sets[v.FileSet] {
					t.Errorf("view %s: model %s, file set %s", v.Name, v.ModelName, v.FileSet)
				}
			}
			// FuseSoC: the same files and top.
			core := string(files[c.Top+".core"])
			if !strings.HasPrefix(core, "CAPI=2:\n") || !strings.Contains(core, "\n    toplevel: "+c.Top+"\n") ||
				!strings.Contains(core, "\nname: "+IPVendor+":"+IPLibrary+":"+c.Top+":") {
				t.Errorf("%s.core: no CAPI=2 header, VLNV or toplevel %s", c.Top, c.Top)
			}
			var coreFiles []string
			for _, line := range strings.Split(core, "\n") {
				if f, ok := strings.CutPrefix(line, "      - "); ok {
					name, _, _ := strings.Cut(f, ":")
					coreFiles = append(coreFiles, name)
				}
			}
			if !slices.Equal(coreFiles, wantFiles) {
				t.Errorf("%s.core files %v, want %v", c.Top, coreFiles, wantFiles)
			}
		})
	}
}

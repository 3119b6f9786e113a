package prove

import (
	"context"
	"strings"
	"testing"

	"github.com/addergen/addergen/rtl"
)

func TestProbe(t *testing.T) {
	for _, c := range []rtl.PEConfig{{Lanes: 3, Width: 4, Signed: true}, {Lanes: 3, Width: 4, Signed: true, Pipeline: rtl.PipelineAuto}} {
		r, err := PE(context.Background(), c, Options{WorkDir: "/tmp/probe/w"})
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("%+v", r)
		c.Name = "dut_pe"
		files, _, _ := rtl.EmitPE(c)
		bad := strings.Replace(string(files["dut_pe.v"]), " + {3'd0, s_2}", "", 1)
		r, err = PEVerilog(context.Background(), c, []byte(bad), Options{WorkDir: "/tmp/probe/w2"})
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("%+v %v", r, r.Counterexample)
	}
}

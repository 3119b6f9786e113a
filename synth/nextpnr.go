package synth

import (
	"bufio"
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// PnR is a parsed nextpnr-ice40 log.
type PnR struct {
	FmaxMHz   float64 // the final (post-route) estimate for the clock
	Clock     string  // the clock net's name
	TargetMHz float64 // the --freq the run aimed at
	Pass      bool    // FmaxMHz >= TargetMHz
	LCs       int     // ICESTORM_LC used (packed logic cells: LUT+FF+carry)
	LCsAvail  int     // ICESTORM_LC on the device
	RAMs      int     // ICESTORM_RAM used
	RAMsAvail int     // ICESTORM_RAM on the device
	IOs       int     // SB_IO used
	GBs       int     // SB_GB (global buffers) used
}

var (
	fmaxRe = regexp.MustCompile(`Max frequency for clock '([^']*)': ([0-9.]+) MHz \((PASS|FAIL) at ([0-9.]+) MHz\)`)
	utilRe = regexp.MustCompile(`^\s*(ICESTORM_LC|ICESTORM_RAM|SB_IO|SB_GB):\s*(\d+)/\s*(\d+)`)
)

// ParseNextpnrLog extracts Fmax and utilisation from a nextpnr-ice40 log
// (--log FILE). nextpnr prints "Max frequency for clock" after placement
// and again after routing; the last line for the clock whose name starts
// with clock (the first clock when clock is empty) is the result. A log
// with an "ERROR:" line, or without an Fmax line, is an error that quotes
// nextpnr's message.
func ParseNextpnrLog(log, clock string) (*PnR, error) {
	p := &PnR{}
	var firstErr string
	found := false
	sc := bufio.NewScanner(strings.NewReader(log))
	sc.Buffer(make([]byte, 1<<20), 1<<24)
	for sc.Scan() {
		line := sc.Text()
		rest := strings.TrimPrefix(strings.TrimPrefix(strings.TrimPrefix(line, "Info:"), "Warning:"), "ERROR:")
		if m := fmaxRe.FindStringSubmatch(line); m != nil {
			if clock != "" && !strings.HasPrefix(m[1], clock) {
				continue
			}
			if found && p.Clock != m[1] {
				continue // another clock
			}
			found = true
			p.Clock = m[1]
			p.FmaxMHz, _ = strconv.ParseFloat(m[2], 64)
			p.Pass = m[3] == "PASS"
			p.TargetMHz, _ = strconv.ParseFloat(m[4], 64)
			continue
		}
		if m := utilRe.FindStringSubmatch(rest); m != nil {
			used, _ := strconv.Atoi(m[2])
			avail, _ := strconv.Atoi(m[3])
			switch m[1] {
			case "ICESTORM_LC":
				p.LCs, p.LCsAvail = used, avail
			case "ICESTORM_RAM":
				p.RAMs, p.RAMsAvail = used, avail
			case "SB_IO":
				p.IOs = used
			case "SB_GB":
				p.GBs = used
			}
			continue
		}
		if strings.HasPrefix(line, "ERROR:") && firstErr == "" {
			firstErr = strings.TrimSpace(strings.TrimPrefix(line, "ERROR:"))
		}
	}
	if firstErr != "" && !fmaxRe.MatchString("ERROR:"+firstErr) {
		if p.LCsAvail > 0 && p.LCs > p.LCsAvail {
			return p, fmt.Errorf("nextpnr-ice40: the design needs %d logic cells, the device has %d: %s", p.LCs, p.LCsAvail, firstErr)
		}
		return p, fmt.Errorf("nextpnr-ice40: %s", firstErr)
	}
	if !found {
		if clock != "" {
			return p, fmt.Errorf("nextpnr-ice40: no Max frequency line for clock %s* in the log", clock)
		}
		return p, fmt.Errorf("nextpnr-ice40: no Max frequency line in the log")
	}
	return p, nil
}

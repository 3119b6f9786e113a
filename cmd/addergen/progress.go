package main

import (
	"io"
	"sync"
	"time"

	"github.com/addergen/addergen/flow"
	"github.com/schollz/progressbar/v3"
)

// progressBar shows a flow step's progress on stderr as a progress bar
// with a count, or nothing with -q or when stderr is not a terminal (a
// log file gets the summary, not animation frames). A step of unknown
// length is a spinner with the elapsed time.
var _ flow.Progress = (*progressBar)(nil)

type progressBar struct {
	g      *globalOpts
	stderr io.Writer
	its    string // the unit of a counted step ("img"), shown with a rate
	bar    *progressbar.ProgressBar
	done   chan struct{} // stops a spinner's ticker
	ticker sync.WaitGroup
}

func (p *progressBar) Start(desc string, n int) {
	if p.g.quiet || !isTerminal(p.stderr) {
		return
	}
	opts := []progressbar.Option{
		progressbar.OptionSetWriter(p.stderr),
		progressbar.OptionSetDescription(desc),
		progressbar.OptionSetWidth(25),
		progressbar.OptionThrottle(200 * time.Millisecond),
		progressbar.OptionSpinnerType(14),
		progressbar.OptionSetElapsedTime(true),
		progressbar.OptionClearOnFinish(),
	}
	if n >= 0 {
		opts = append(opts, progressbar.OptionShowCount())
		if p.its != "" {
			opts = append(opts, progressbar.OptionSetItsString(p.its), progressbar.OptionShowIts())
		}
	}
	p.bar = progressbar.NewOptions(n, opts...)
	if n >= 0 {
		return
	}
	p.done = make(chan struct{})
	p.ticker.Add(1)
	go func() {
		defer p.ticker.Done()
		t := time.NewTicker(250 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-p.done:
				return
			case <-t.C:
				_ = p.bar.Add(1)
			}
		}
	}()
}

func (p *progressBar) Add(k int) {
	if p.bar != nil {
		_ = p.bar.Add(k)
	}
}

func (p *progressBar) Finish() {
	if p.bar == nil {
		return
	}
	if p.done != nil {
		close(p.done)
		p.ticker.Wait()
		p.done = nil
	}
	_ = p.bar.Finish()
	p.bar = nil
}

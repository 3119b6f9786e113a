package flow

// Progress receives the progress of a long step, for a progress bar. A
// nil Progress in an options struct shows nothing.
type Progress interface {
	// Start begins a step described by desc, of n units (n < 0: of
	// unknown length, a spinner).
	Start(desc string, n int)
	// Add reports k more units done.
	Add(k int)
	// Finish ends the step.
	Finish()
}

type noProgress struct{}

func (noProgress) Start(string, int) {}
func (noProgress) Add(int)           {}
func (noProgress) Finish()           {}

func progressOr(p Progress) Progress {
	if p == nil {
		return noProgress{}
	}
	return p
}

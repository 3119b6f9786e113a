// Package flow holds the steps users chain across addergen's commands,
// each a function that takes typed options and returns structs and file
// maps: Quantize (float IR → integer IR), Compare (float reference against
// the bit-exact simulator), Emit (the network's Verilog and manifest),
// Verify (the RTL against the simulator in Icarus or Verilator), Cost and
// Measure (a design's estimated or synthesized resources), CostPE (one L1
// PE against its MAC twin), Sweep (accuracy against cost over widths and
// parallelism) and Demo (the whole flow on the built-in LeNet-5). The
// commands of cmd/addergen parse flags, call one of these and print.
//
// Conventions: nothing here prints to stdout, parses flags or exits;
// progress, logs and warnings go to the Progress and io.Writer values the
// options carry (nil: none). Generators (Emit, CompareFiles, SweepFiles,
// Demo) return files as name → contents and never write them: the caller
// writes a folder as one set (internal/outdir). Verify and VerifyPE write
// only their work folders. Accuracies in reports are percent (0..100)
// unless a field says fraction; cycle counts are clock cycles.
//
// Sharding: a command's work can run in shards on many machines
// (--shard i/n, Shard) and the shards' reports merge into the report one
// unsharded run gives (ReadShards, MergeVerify, MergeCompare,
// MergeSweep). Nothing here schedules work: any batch system (GNU
// parallel, a Slurm job array) runs the shards, each an ordinary addergen
// process.
package flow

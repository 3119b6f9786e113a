// Hand-written addergen primitive.
//
// sum_tree: pipelined two's-complement adder tree.
//
// Purpose
//   Sums N words of W bits, x_i[k*W +: W], in a binary tree with a
//   register after every R levels and after the last, so that no path
//   holds more than R W-bit adders. The sum is taken modulo 2^W: the caller
//   sizes W to hold the exact sum (interval arithmetic in Go), and then it
//   is exact.
// Parameters
//   N  number of words (>= 1)
//   W  word width, of the inputs and of the sum (>= 1)
//   R  adder levels per register stage (>= 1; 2 for narrow words, where
//      two carry chains still make a short path)
//   L  latency in cycles: 0 means the tree's own ceil(ceil(log2 N) / R)
//      register stages; a larger L adds registers after the tree, so that
//      trees of different sizes can line up (no zero words to pad with)
// Latency and handshake
//   sum_o holds the sum of the x_i presented LATENCY = max(L,
//   ceil(ceil(log2 N) / R)) rising edges earlier (0 for N = 1 and L = 0:
//   a wire). A new input may come every cycle
//   (II = 1). No valid or stall: the caller delays its own tags by
//   LATENCY. The registers are not reset (datapath only).
`resetall
`timescale 1ns / 1ps
`default_nettype none

module sum_tree #(
    parameter integer N = 2,  // words to sum
    parameter integer W = 16, // width of every word and of the sum
    parameter integer R = 1,  // adder levels per register stage
    parameter integer L = 0   // latency (0: the tree's own); see the header
) (
    input  wire           clk_i,
    input  wire [N*W-1:0] x_i,
    output wire [W-1:0]   sum_o
);
    localparam integer LEVELS = (N <= 1) ? 0 : $clog2(N);
    localparam integer STAGES = (LEVELS + R - 1) / R;  // registered levels
    localparam integer EXTRA  = (L > STAGES) ? L - STAGES : 0;

    initial begin
        if (N < 1 || W < 1 || R < 1 || (L != 0 && L < STAGES)) begin
            $display("sum_tree %m: N %0d, W %0d and R %0d must be >= 1, L %0d 0 or >= %0d", N, W, R, L, STAGES);
            $finish;
        end
    end

    wire [W-1:0] tree_o;
    genvar l, i;
    generate
        if (LEVELS == 0) begin : g_wire
            assign tree_o = x_i[W-1:0];
        end else begin : g_tree
            for (l = 0; l < LEVELS; l = l + 1) begin : g_lvl
                localparam integer NIN  = ((N - 1) >> l) + 1;        // ceil(N / 2^l)
                localparam integer NOUT = ((N - 1) >> (l + 1)) + 1;  // ceil(N / 2^(l+1))
                wire [NIN*W-1:0]  in_w;
                wire [NOUT*W-1:0] out_w;
                if (l == 0) begin : g_first
                    assign in_w = x_i;
                end else begin : g_next
                    assign in_w = g_lvl[l-1].out_w;
                end
                for (i = 0; i < NOUT; i = i + 1) begin : g_node
                    wire [W-1:0] s_w;
                    if (2*i + 1 < NIN) begin : g_add
                        assign s_w = in_w[2*i*W +: W] + in_w[(2*i+1)*W +: W];
                    end else begin : g_carry
                        assign s_w = in_w[2*i*W +: W];
                    end
                    if ((l + 1) % R == 0 || l == LEVELS - 1) begin : g_reg
                        reg [W-1:0] s_q;
                        always @(posedge clk_i) begin
                            s_q <= s_w;
                        end
                        assign out_w[i*W +: W] = s_q;
                    end else begin : g_comb
                        assign out_w[i*W +: W] = s_w;
                    end
                end
            end
            assign tree_o = g_lvl[LEVELS-1].out_w[W-1:0];
        end
        if (EXTRA == 0) begin : g_out
            assign sum_o = tree_o;
            if (LEVELS == 0) begin : g_noclk
                wire unused_clk = clk_i;
            end
        end else begin : g_delay
            // EXTRA registers after the tree (parameter L).
            for (l = 0; l < EXTRA; l = l + 1) begin : g_d
                reg [W-1:0] d_q;
                if (l == 0) begin : g_first
                    always @(posedge clk_i) begin
                        d_q <= tree_o;
                    end
                end else begin : g_next
                    always @(posedge clk_i) begin
                        d_q <= g_d[l-1].d_q;
                    end
                end
            end
            assign sum_o = g_d[EXTRA-1].d_q;
        end
    endgenerate
endmodule

`resetall

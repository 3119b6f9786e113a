// Hand-written addergen primitive.
//
// stream_serialize: turns one wide beat of N codes into N AXI-Stream beats.
//
// Purpose
//   The network's last layer produces one beat holding every class code;
//   the output port carries one class per beat, code i of the wide word
//   (bits [i*W +: W]) in beat i, with tlast on the last.
// Parameters
//   N       codes per wide beat (>= 1)
//   W       bits per code (>= 1)
//   TW      tdata width (>= W); the code is sign-extended when SIGNED = 1,
//           zero-extended otherwise
//   SIGNED  1 if the codes are two's complement
// Latency and handshake
//   s_ready_o is high when no word is held; a word is accepted in one cycle
//   and its N beats leave on the following cycles, one per cycle while
//   m_tready_i is high. rst_i is synchronous, active high, and drops the
//   held word; data registers are not reset.
`resetall
`timescale 1ns / 1ps
`default_nettype none

module stream_serialize #(
    parameter integer N      = 10, // codes per wide beat
    parameter integer W      = 16, // bits per code
    parameter integer TW     = 16, // tdata width, >= W
    parameter integer SIGNED = 1   // codes are two's complement
) (
    input  wire            clk_i,
    input  wire            rst_i,
    input  wire            s_valid_i,
    output wire            s_ready_o,
    input  wire [N*W-1:0]  s_data_i,
    output wire            m_tvalid_o,
    input  wire            m_tready_i,
    output wire [TW-1:0]   m_tdata_o,
    output wire            m_tlast_o
);
    localparam integer CW = (N > 1) ? $clog2(N) : 1;

    reg           full_q;
    reg [CW-1:0]  idx_q;
    reg [N*W-1:0] word_q;

    assign s_ready_o  = !full_q;
    assign m_tvalid_o = full_q;
    assign m_tlast_o  = full_q && (idx_q == N[CW-1:0] - 1'b1);

    wire [W-1:0] code = word_q[idx_q*W +: W];
    generate
        if (TW > W) begin : g_ext
            assign m_tdata_o = {{(TW-W){(SIGNED != 0) & code[W-1]}}, code};
        end else begin : g_same
            assign m_tdata_o = code;
        end
    endgenerate

    always @(posedge clk_i) begin
        if (s_valid_i && !full_q) begin
            word_q <= s_data_i;
        end
    end

    always @(posedge clk_i) begin
        if (rst_i) begin
            full_q <= 1'b0;
            idx_q  <= {CW{1'b0}};
        end else if (!full_q) begin
            if (s_valid_i) begin
                full_q <= 1'b1;
                idx_q  <= {CW{1'b0}};
            end
        end else if (m_tready_i) begin
            if (m_tlast_o) begin
                full_q <= 1'b0;
            end
            idx_q <= idx_q + 1'b1;
        end
    end
endmodule

`resetall

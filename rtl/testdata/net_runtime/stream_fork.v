// Hand-written addergen primitive.
//
// stream_fork: broadcasts one valid/ready stream to two consumers.
//
// Purpose
//   A layer output read by two layers (a residual block's input feeds the
//   main path and the skip path).
// Parameters
//   DATA_W  width of the data word (>= 1)
// Latency and handshake
//   Combinational (latency 0). Each beat is offered to both outputs and
//   leaves the input once both have taken it; an output that has taken the
//   current beat sees valid low until the next one. No beat is lost or
//   duplicated. rst_i is synchronous, active high, and clears the taken
//   flags.
`resetall
`timescale 1ns / 1ps
`default_nettype none

module stream_fork #(
    parameter integer DATA_W = 8  // data word width
) (
    input  wire              clk_i,
    input  wire              rst_i,
    input  wire              s_valid_i,
    output wire              s_ready_o,
    input  wire [DATA_W-1:0] s_data_i,
    output wire              m0_valid_o,
    input  wire              m0_ready_i,
    output wire [DATA_W-1:0] m0_data_o,
    output wire              m1_valid_o,
    input  wire              m1_ready_i,
    output wire [DATA_W-1:0] m1_data_o
);
    reg taken0_q;
    reg taken1_q;

    assign m0_valid_o = s_valid_i && !taken0_q;
    assign m1_valid_o = s_valid_i && !taken1_q;
    assign m0_data_o  = s_data_i;
    assign m1_data_o  = s_data_i;
    wire done0 = taken0_q || m0_ready_i;
    wire done1 = taken1_q || m1_ready_i;
    assign s_ready_o = done0 && done1;

    always @(posedge clk_i) begin
        if (rst_i) begin
            taken0_q <= 1'b0;
            taken1_q <= 1'b0;
        end else if (s_valid_i && s_ready_o) begin
            taken0_q <= 1'b0;
            taken1_q <= 1'b0;
        end else begin
            taken0_q <= taken0_q || (m0_valid_o && m0_ready_i);
            taken1_q <= taken1_q || (m1_valid_o && m1_ready_i);
        end
    end
endmodule

`resetall

// Hand-written addergen primitive.
//
// pipe_delay: fixed-latency delay line for the tags that travel beside a
// pipelined datapath (first/last flags, group index).
//
// Purpose
//   data_o is data_i delayed by DEPTH clock cycles; valid_o is valid_i
//   delayed the same. Xilinx synthesis maps the data part to SRLs.
// Parameters
//   DATA_W  width of the tag word (>= 1)
//   DEPTH   delay in cycles (>= 0; 0 is a wire)
// Latency and handshake
//   Latency DEPTH, II = 1, no stall (the datapath it shadows never stalls).
//   rst_i is synchronous, active high, and clears the valid bits only.
`resetall
`timescale 1ns / 1ps
`default_nettype none

module pipe_delay #(
    parameter integer DATA_W = 1,  // tag width
    parameter integer DEPTH  = 1   // delay in cycles
) (
    input  wire              clk_i,
    input  wire              rst_i,
    input  wire              valid_i,
    input  wire [DATA_W-1:0] data_i,
    output wire              valid_o,
    output wire [DATA_W-1:0] data_o
);
    initial begin
        if (DATA_W < 1 || DEPTH < 0) begin
            $display("pipe_delay %m: DATA_W %0d must be >= 1 and DEPTH %0d >= 0", DATA_W, DEPTH);
            $finish;
        end
    end

    genvar i;
    generate
        if (DEPTH == 0) begin : g_wire
            assign valid_o = valid_i;
            assign data_o  = data_i;
            wire unused_ctl = clk_i ^ rst_i;
        end else begin : g_line
            for (i = 0; i < DEPTH; i = i + 1) begin : g_stage
                reg              v_q;
                reg [DATA_W-1:0] d_q;
                wire             v_d;
                wire [DATA_W-1:0] d_d;
                if (i == 0) begin : g_first
                    assign v_d = valid_i;
                    assign d_d = data_i;
                end else begin : g_next
                    assign v_d = g_stage[i-1].v_q;
                    assign d_d = g_stage[i-1].d_q;
                end
                always @(posedge clk_i) begin
                    if (rst_i) begin
                        v_q <= 1'b0;
                    end else begin
                        v_q <= v_d;
                    end
                end
                always @(posedge clk_i) begin
                    d_q <= d_d;
                end
            end
            assign valid_o = g_stage[DEPTH-1].v_q;
            assign data_o  = g_stage[DEPTH-1].d_q;
        end
    endgenerate
endmodule

`resetall

// Hand-written addergen primitive.
//
// stream_skid: valid/ready skid buffer (pipeline register with a skid slot).
//
// Purpose
//   Breaks the combinational path on both valid/data and ready between two
//   stream stages, at full throughput.
// Parameters
//   DATA_W  width of the data word (>= 1)
// Latency and handshake
//   A beat is transferred on a port when valid and ready are both high at a
//   rising edge. Latency is 1 cycle from s_* to m_*; one beat per cycle is
//   sustained. s_ready_o is registered (it depends only on state), so it
//   does not combinationally depend on m_ready_i. Beats leave in order,
//   none is lost or duplicated under any pattern of backpressure.
//   rst_i is synchronous, active high, and empties the buffer; data
//   registers are not reset.
`resetall
`timescale 1ns / 1ps
`default_nettype none

module stream_skid #(
    parameter integer DATA_W = 8  // data word width
) (
    input  wire              clk_i,
    input  wire              rst_i,
    input  wire              s_valid_i,
    output wire              s_ready_o,
    input  wire [DATA_W-1:0] s_data_i,
    output wire              m_valid_o,
    input  wire              m_ready_i,
    output wire [DATA_W-1:0] m_data_o
);
    reg              out_valid_q;
    reg [DATA_W-1:0] out_data_q;
    reg              skid_valid_q;
    reg [DATA_W-1:0] skid_data_q;

    assign s_ready_o = !skid_valid_q;
    assign m_valid_o = out_valid_q;
    assign m_data_o  = out_data_q;

    wire s_fire = s_valid_i && !skid_valid_q;
    wire m_free = m_ready_i || !out_valid_q;

    always @(posedge clk_i) begin
        if (rst_i) begin
            out_valid_q  <= 1'b0;
            skid_valid_q <= 1'b0;
        end else if (m_free) begin
            // The output register is free: fill it from the skid slot first.
            out_valid_q  <= skid_valid_q || s_fire;
            skid_valid_q <= 1'b0;
        end else if (s_fire) begin
            // Output stalled and a beat arrives: park it in the skid slot.
            skid_valid_q <= 1'b1;
        end
    end

    always @(posedge clk_i) begin
        if (m_free) begin
            out_data_q <= skid_valid_q ? skid_data_q : s_data_i;
        end
        if (!m_free && s_fire) begin
            skid_data_q <= s_data_i;
        end
    end
endmodule

`resetall

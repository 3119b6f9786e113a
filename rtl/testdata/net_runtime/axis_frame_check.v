// Hand-written addergen primitive.
//
// axis_frame_check: checks the framing of an AXI-Stream input against a
// fixed frame length and keeps the stream behind it aligned to frames.
//
// Purpose
//   The network consumes exactly PIX beats per image. This unit passes an
//   AXI-Stream (s_t*) through to a valid/ready stream (m_*) and compares
//   s_tlast_i with the beat count:
//   - tlast on beat k < PIX of a frame (a short frame): short_o pulses,
//     and the unit completes the frame itself with PIX-k all-zero beats
//     (s_tready_o low meanwhile), so the next beat starts a new frame;
//   - no tlast on beat PIX (a long frame): long_o pulses, the PIX beats
//     already passed stand as the frame, and the following beats are
//     accepted and dropped up to and including the next beat with tlast.
//   Either way the stream behind is in step again from the beat after the
//   next tlast: one image goes out for every frame that comes in.
// Parameters
//   W    data width passed through (>= 1)
//   PIX  beats per frame (>= 1)
// Latency and handshake
//   Combinational pass-through (latency 0): while passing, m_valid_o is
//   s_tvalid_i, m_data_o is s_tdata_i and s_tready_o is m_ready_i. While
//   completing a short frame m_valid_o is high with zero data and
//   s_tready_o is low; while dropping s_tready_o is high and m_valid_o low.
//   short_o, long_o and frame_o (a frame's last beat left on m_*) are
//   registered one-cycle pulses, the cycle after the beat that caused them.
//   rst_i is synchronous, active high, and restarts at a frame's first beat.
`resetall
`timescale 1ns / 1ps
`default_nettype none

module axis_frame_check #(
    parameter integer W   = 8,  // data width
    parameter integer PIX = 16  // beats per frame, >= 1
) (
    input  wire         clk_i,
    input  wire         rst_i,
    input  wire         s_tvalid_i,
    output wire         s_tready_o,
    input  wire [W-1:0] s_tdata_i,
    input  wire         s_tlast_i,
    output wire         m_valid_o,
    input  wire         m_ready_i,
    output wire [W-1:0] m_data_o,
    output reg          short_o,
    output reg          long_o,
    output reg          frame_o
);
    initial begin
        if (PIX < 1 || W < 1) begin
            $display("axis_frame_check %m: PIX %0d and W %0d must be >= 1", PIX, W);
            $finish;
        end
    end

    localparam integer CW = (PIX > 1) ? $clog2(PIX) : 1;
    localparam [1:0] PASS = 2'd0;  // beats go through
    localparam [1:0] FILL = 2'd1;  // completing a short frame with zeros
    localparam [1:0] DROP = 2'd2;  // dropping a long frame's extra beats

    reg [1:0]    mode_q;
    reg [CW-1:0] pix_q;   // beat of the frame on m_*, 0..PIX-1

    wire pass     = (mode_q == PASS);
    wire last_pix = (pix_q == PIX[CW-1:0] - 1'b1);

    assign m_valid_o  = pass ? s_tvalid_i : (mode_q == FILL);
    assign m_data_o   = pass ? s_tdata_i : {W{1'b0}};
    assign s_tready_o = pass ? m_ready_i : (mode_q == DROP);

    wire m_fire = m_valid_o && m_ready_i;
    wire s_fire = s_tvalid_i && s_tready_o;

    always @(posedge clk_i) begin
        if (rst_i) begin
            mode_q  <= PASS;
            pix_q   <= {CW{1'b0}};
            short_o <= 1'b0;
            long_o  <= 1'b0;
            frame_o <= 1'b0;
        end else begin
            short_o <= 1'b0;
            long_o  <= 1'b0;
            frame_o <= m_fire && last_pix;
            if (m_fire) begin
                pix_q <= last_pix ? {CW{1'b0}} : pix_q + 1'b1;
            end
            case (mode_q)
                PASS: begin
                    if (s_fire && last_pix && !s_tlast_i) begin
                        long_o <= 1'b1;
                        mode_q <= DROP;
                    end else if (s_fire && !last_pix && s_tlast_i) begin
                        short_o <= 1'b1;
                        mode_q  <= FILL;
                    end
                end
                FILL: begin
                    if (m_fire && last_pix) begin
                        mode_q <= PASS;
                    end
                end
                DROP: begin
                    if (s_fire && s_tlast_i) begin
                        mode_q <= PASS;
                    end
                end
                default: begin
                    mode_q <= PASS;
                end
            endcase
        end
    end
endmodule

`resetall

// Hand-written addergen primitive.
//
// stream_fifo: synchronous first-word-fall-through FIFO for valid/ready
// streams.
//
// Purpose
//   Buffers up to DEPTH beats between a producer and a consumer, e.g. the
//   skip path of a residual block.
// Parameters
//   DATA_W  width of the data word (>= 1)
//   DEPTH   capacity in beats, >= 1 (any value: the pointers wrap at DEPTH;
//           1 is a single register, a beat every other cycle at most)
// Latency and handshake
//   A beat written at a rising edge is visible on m_* in the next cycle
//   (latency 1). s_ready_o is high while fewer than DEPTH beats are held;
//   m_valid_o is high while at least one is. Both depend only on state.
//   One beat per cycle in and out is sustained (DEPTH >= 2). rst_i is synchronous,
//   active high, and empties the FIFO; the storage is not reset.
`resetall
`timescale 1ns / 1ps
`default_nettype none

module stream_fifo #(
    parameter integer DATA_W = 8,  // data word width
    parameter integer DEPTH  = 16  // capacity in beats, >= 1
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
    initial begin
        if (DEPTH < 1) begin
            $display("stream_fifo %m: DEPTH %0d must be >= 1", DEPTH);
            $finish;
        end
    end

    generate
        if (DEPTH == 1) begin : g_one
            // One beat: a full flag and a data register (a beat every
            // other cycle at most).
            reg              full_q;
            reg [DATA_W-1:0] data_q;
            assign s_ready_o = !full_q;
            assign m_valid_o = full_q;
            assign m_data_o  = data_q;
            always @(posedge clk_i) begin
                if (s_valid_i && !full_q) begin
                    data_q <= s_data_i;
                end
            end
            always @(posedge clk_i) begin
                if (rst_i) begin
                    full_q <= 1'b0;
                end else if (!full_q) begin
                    full_q <= s_valid_i;
                end else if (m_ready_i) begin
                    full_q <= 1'b0;
                end
            end
        end else begin : g_ram
            localparam integer AW = $clog2(DEPTH);
            localparam integer CW = $clog2(DEPTH + 1);
            localparam integer LAST_I = DEPTH - 1;
            localparam [AW-1:0] LAST = LAST_I[AW-1:0];
            localparam [CW-1:0] FULL = DEPTH[CW-1:0];

            reg [DATA_W-1:0] mem [0:DEPTH-1];
            reg [AW-1:0]     wr_q;
            reg [AW-1:0]     rd_q;
            reg [CW-1:0]     cnt_q;

            wire empty = (cnt_q == {CW{1'b0}});
            wire full  = (cnt_q == FULL);
            wire push  = s_valid_i && !full;
            wire pop   = m_ready_i && !empty;

            assign s_ready_o = !full;
            assign m_valid_o = !empty;
            assign m_data_o  = mem[rd_q];

            always @(posedge clk_i) begin
                if (push) begin
                    mem[wr_q] <= s_data_i;
                end
            end

            always @(posedge clk_i) begin
                if (rst_i) begin
                    wr_q  <= {AW{1'b0}};
                    rd_q  <= {AW{1'b0}};
                    cnt_q <= {CW{1'b0}};
                end else begin
                    if (push) begin
                        wr_q <= (wr_q == LAST) ? {AW{1'b0}} : wr_q + 1'b1;
                    end
                    if (pop) begin
                        rd_q <= (rd_q == LAST) ? {AW{1'b0}} : rd_q + 1'b1;
                    end
                    if (push && !pop) begin
                        cnt_q <= cnt_q + 1'b1;
                    end else if (pop && !push) begin
                        cnt_q <= cnt_q - 1'b1;
                    end
                end
            end
        end
    endgenerate
endmodule

`resetall

// Hand-written addergen primitive.
//
// axil_status: AXI4-Lite slave with the network top's identification,
// sticky error flags and counters.
//
// Purpose
//   Lets a host identify the design, see and clear framing errors, and
//   count images and cycles. Register map (32-bit words, byte addresses;
//   reads of other addresses return 0, writes to them are ignored; every
//   response is OKAY):
//     0x00 ID          RO    ID parameter
//     0x04 VERSION     RO    VERSION parameter
//     0x08 ERROR       R/W1C bit 0: a short input frame (tlast early),
//                            bit 1: a long input frame (tlast missing on
//                            the last beat); sticky, a 1 written (byte
//                            lane 0) clears the bit; an error arriving in
//                            the cycle of the write stays set
//     0x0C IMAGES_IN   RO    input frames passed on to the network
//     0x10 IMAGES_OUT  RO    images whose last output beat left
//     0x14 CYCLES_LO   RO    clock cycles since reset, bits 31:0; reading
//                            it latches bits 63:32 into CYCLES_HI
//     0x18 CYCLES_HI   RO    the latched bits 63:32
//     0x1C PERIOD      RO    cycles between the last two IMAGES_OUT
//                            increments (0 before the second)
//     0x20 PIXELS      RO    PIXELS parameter (input beats per image)
//     0x24 CLASSES     RO    CLASSES parameter (output beats per image)
//     0x28 WEIGHTS     RO    bit 0: the weights are loaded (wloaded_i;
//                            always 1 with ROM weights); bits 15:8:
//                            weight loads abandoned (wabort_i); bits
//                            31:16: weight loads completed (wload_i)
//   Counters wrap; all counters and flags clear on reset.
// Parameters
//   AW       address width, >= 6 (the low two bits are ignored)
//   ID, VERSION, PIXELS, CLASSES   constant register values
// Latency and handshake
//   Write: AWREADY and WREADY rise together, for one cycle, when AWVALID
//   and WVALID are both high and no write response is pending; BVALID
//   follows a cycle later and holds until BREADY. Read: ARREADY is high
//   while no read data is pending; RVALID and RDATA follow a cycle after
//   the address and hold until RREADY. short_i, long_i, image_in_i,
//   image_out_i, wload_i and wabort_i are one-cycle event pulses;
//   wloaded_i is a level. rst_i is synchronous, active
//   high; the read data register is not reset.
`resetall
`timescale 1ns / 1ps
`default_nettype none

module axil_status #(
    parameter integer AW      = 6,           // address width, >= 6
    parameter [31:0]  ID      = 32'h0,       // ID register
    parameter [31:0]  VERSION = 32'h0,       // VERSION register
    parameter [31:0]  PIXELS  = 32'h0,       // PIXELS register
    parameter [31:0]  CLASSES = 32'h0        // CLASSES register
) (
    input  wire          clk_i,
    input  wire          rst_i,
    input  wire [AW-1:0] s_axi_awaddr,
    input  wire          s_axi_awvalid,
    output wire          s_axi_awready,
    input  wire [31:0]   s_axi_wdata,
    input  wire [3:0]    s_axi_wstrb,
    input  wire          s_axi_wvalid,
    output wire          s_axi_wready,
    output wire [1:0]    s_axi_bresp,
    output wire          s_axi_bvalid,
    input  wire          s_axi_bready,
    input  wire [AW-1:0] s_axi_araddr,
    input  wire          s_axi_arvalid,
    output wire          s_axi_arready,
    output wire [31:0]   s_axi_rdata,
    output wire [1:0]    s_axi_rresp,
    output wire          s_axi_rvalid,
    input  wire          s_axi_rready,
    input  wire          short_i,
    input  wire          long_i,
    input  wire          image_in_i,
    input  wire          image_out_i,
    input  wire          wloaded_i,
    input  wire          wload_i,
    input  wire          wabort_i
);
    initial begin
        if (AW < 6) begin
            $display("axil_status %m: AW %0d must be >= 6", AW);
            $finish;
        end
    end

    localparam [3:0] R_ID = 4'd0, R_VERSION = 4'd1, R_ERROR = 4'd2, R_IMAGES_IN = 4'd3;
    localparam [3:0] R_IMAGES_OUT = 4'd4, R_CYCLES_LO = 4'd5, R_CYCLES_HI = 4'd6;
    localparam [3:0] R_PERIOD = 4'd7, R_PIXELS = 4'd8, R_CLASSES = 4'd9, R_WEIGHTS = 4'd10;

    reg        bvalid_q;
    reg        rvalid_q;
    reg [31:0] rdata_q;
    reg [1:0]  err_q;
    reg [31:0] img_in_q;
    reg [31:0] img_out_q;
    // The 64-bit cycle count is {cyc_hi_q + wrap_q, cyc_lo_q}: the high
    // word takes the low word's carry a cycle late (two 32-bit carry
    // chains instead of one of 64 bits).
    reg [31:0] cyc_lo_q;
    reg [31:0] cyc_hi_q;
    reg        wrap_q;
    reg [31:0] cyc_latch_q;  // CYCLES_HI as latched by a CYCLES_LO read
    // Cycles since the last image out, counted (not a subtraction of
    // cycle stamps: that 32-bit subtraction was the iCE40 small net's
    // longest path, 9.8 ns); seen_q: an image has left.
    reg [31:0] since_q;
    reg        seen_q;
    reg [31:0] period_q;
    reg [15:0] wloads_q;    // weight loads completed
    reg [7:0]  waborts_q;   // weight loads abandoned

    wire wr = s_axi_awvalid && s_axi_wvalid && !bvalid_q;
    wire rd = s_axi_arvalid && !rvalid_q;
    // Word index; addresses past the map (any higher bit set) read 0.
    wire [3:0] widx = s_axi_awaddr[5:2];
    wire [3:0] ridx = s_axi_araddr[5:2];
    wire whi;
    wire rhi;
    generate
        if (AW > 6) begin : g_hi
            assign whi = |s_axi_awaddr[AW-1:6];
            assign rhi = |s_axi_araddr[AW-1:6];
        end else begin : g_nohi
            assign whi = 1'b0;
            assign rhi = 1'b0;
        end
    endgenerate
    wire clear_err = wr && !whi && (widx == R_ERROR) && s_axi_wstrb[0];
    wire unused_axi = ^{s_axi_awaddr[1:0], s_axi_araddr[1:0], s_axi_wdata[31:2], s_axi_wstrb[3:1]};

    assign s_axi_awready = wr;
    assign s_axi_wready  = wr;
    assign s_axi_bvalid  = bvalid_q;
    assign s_axi_bresp   = 2'b00;
    assign s_axi_arready = !rvalid_q;
    assign s_axi_rvalid  = rvalid_q;
    assign s_axi_rdata   = rdata_q;
    assign s_axi_rresp   = 2'b00;

    always @(posedge clk_i) begin
        if (rst_i) begin
            bvalid_q   <= 1'b0;
            rvalid_q   <= 1'b0;
            err_q      <= 2'b00;
            img_in_q   <= 32'd0;
            img_out_q  <= 32'd0;
            cyc_lo_q   <= 32'd0;
            cyc_hi_q   <= 32'd0;
            wrap_q     <= 1'b0;
            cyc_latch_q <= 32'd0;
            since_q    <= 32'd0;
            seen_q     <= 1'b0;
            period_q   <= 32'd0;
            wloads_q   <= 16'd0;
            waborts_q  <= 8'd0;
        end else begin
            if (wload_i) begin
                wloads_q <= wloads_q + 16'd1;
            end
            if (wabort_i) begin
                waborts_q <= waborts_q + 8'd1;
            end
            if (wr) begin
                bvalid_q <= 1'b1;
            end else if (s_axi_bready) begin
                bvalid_q <= 1'b0;
            end
            if (rd) begin
                rvalid_q <= 1'b1;
            end else if (s_axi_rready) begin
                rvalid_q <= 1'b0;
            end
            err_q <= (clear_err ? (err_q & ~s_axi_wdata[1:0]) : err_q) | {long_i, short_i};
            cyc_lo_q <= cyc_lo_q + 32'd1;
            wrap_q   <= &cyc_lo_q;
            cyc_hi_q <= cyc_hi_q + {31'd0, wrap_q};
            if (image_in_i) begin
                img_in_q <= img_in_q + 32'd1;
            end
            since_q <= image_out_i ? 32'd1 : since_q + 32'd1;
            if (image_out_i) begin
                img_out_q <= img_out_q + 32'd1;
                seen_q    <= 1'b1;
                period_q  <= seen_q ? since_q : 32'd0;
            end
            if (rd && !rhi && ridx == R_CYCLES_LO) begin
                cyc_latch_q <= cyc_hi_q + {31'd0, wrap_q};
            end
        end
    end

    always @(posedge clk_i) begin
        if (rd) begin
            if (rhi) begin
                rdata_q <= 32'd0;
            end else begin
                case (ridx)
                    R_ID:         rdata_q <= ID;
                    R_VERSION:    rdata_q <= VERSION;
                    R_ERROR:      rdata_q <= {30'd0, err_q};
                    R_IMAGES_IN:  rdata_q <= img_in_q;
                    R_IMAGES_OUT: rdata_q <= img_out_q;
                    R_CYCLES_LO:  rdata_q <= cyc_lo_q;
                    R_CYCLES_HI:  rdata_q <= cyc_latch_q;
                    R_PERIOD:     rdata_q <= period_q;
                    R_PIXELS:     rdata_q <= PIXELS;
                    R_CLASSES:    rdata_q <= CLASSES;
                    R_WEIGHTS:    rdata_q <= {wloads_q, waborts_q, 7'd0, wloaded_i};
                    default:      rdata_q <= 32'd0;
                endcase
            end
        end
    end
endmodule

`resetall

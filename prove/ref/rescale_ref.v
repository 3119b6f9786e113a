// Behavioural reference of the rescale, written by hand for package prove
// from quant/FORMAT.md (NOT rendered from templates/):
//
//   y = sat(round_r(acc*M + B, SH)),  round_r(p, 0) = p,
//   sat clamping to [LO, HI] (when SAT is 1).
//
// Every intermediate is R bits wide; the caller picks R so that acc*M + B
// and the rounding term cannot overflow over the proven accumulator range
// (prove/rescale.go, refWidth: computed from the range and M, B alone;
// any wider R gives the same exact values). The rounding modes are written from their
// definitions, not from the generator's formulas: floor is the flooring
// division by 2^SH; half-up adds one when the remainder is at least half;
// half-even when it is more than half, or exactly half and the floor is
// odd; toward-zero divides the magnitude and restores the sign.
`default_nettype none
module rescale_ref #(
    parameter ACCW = 8,                   // bits of acc_i, signed
    parameter R    = 64,                  // bits of every intermediate (at most 128)
    parameter signed [127:0] M  = 128'sd1, // multiplier
    parameter signed [127:0] B  = 128'sd0, // offset
    parameter SH   = 0,                   // right shift, 0..R-2
    parameter MODE = 0,                   // 0 half-up, 1 floor, 2 half-even, 3 toward-zero
    parameter SAT  = 1,                   // 1: clamp to [LO, HI]; 0: no clamp
    parameter signed [127:0] LO = 128'sd0, // saturation bounds
    parameter signed [127:0] HI = 128'sd0
) (
    input  wire signed [ACCW-1:0] acc_i,
    output wire signed [127:0]    y_o
);
    wire signed [R-1:0] m  = M;
    wire signed [R-1:0] b  = B;
    wire signed [R-1:0] lo = LO;
    wire signed [R-1:0] hi = HI;
    wire signed [R-1:0] a  = acc_i;
    wire signed [R-1:0] p  = a * m + b;

    // floor(p / 2^SH) and the remainder p - floor * 2^SH, in [0, 2^SH).
    wire signed [R-1:0] fl   = p >>> SH;
    wire signed [R-1:0] rem  = p - (fl <<< SH);
    wire signed [R-1:0] half = (SH == 0) ? {R{1'b0}} : ({{(R-1){1'b0}}, 1'b1} <<< (SH - 1));
    wire signed [R-1:0] mag  = (p < 0) ? -p : p;
    wire signed [R-1:0] tz   = (p < 0) ? -(mag >>> SH) : (mag >>> SH);

    reg signed [R-1:0] r;
    always @* begin
        if (SH == 0)
            r = p;
        else case (MODE)
            0:       r = fl + ((rem >= half) ? 1 : 0);
            1:       r = fl;
            2:       r = fl + (((rem > half) || ((rem == half) && fl[0])) ? 1 : 0);
            default: r = tz;
        endcase
    end
    wire signed [R-1:0] y = (SAT == 0) ? r : ((r > hi) ? hi : ((r < lo) ? lo : r));
    assign y_o = y;
endmodule
`default_nettype wire

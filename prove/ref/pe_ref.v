// Behavioural reference of the L1 processing element, written by hand for
// package prove (NOT rendered from templates/): sum over k of |x_k - w_k|
// in 32-bit integers, then the result and valid_i delayed by LAT cycles.
//
// The lanes are summed pairwise (stride 1, 2, 4, ...): the same exact
// integer as a left-to-right loop, but an order the equivalence checker
// matches faster (measured in prove/README.md). No carry-in folding, no
// operand sizing: every lane computes its full |x - w|.
`default_nettype none
module pe_ref #(
    parameter K      = 1,  // lanes
    parameter W      = 2,  // bits per lane operand
    parameter SIGNED = 1,  // lanes are two's complement
    parameter LAT    = 0   // cycles from valid_i to valid_o
) (
    input  wire           clk_i,
    input  wire           rst_i,
    input  wire           valid_i,
    input  wire [K*W-1:0] x_i,
    input  wire [K*W-1:0] w_i,
    output wire           valid_o,
    output wire [31:0]    sum_o   // the whole 32-bit sum: the miter checks the PE's width too
);
    integer k, step, xv, wv, d;
    integer v [0:K-1];
    always @* begin
        for (k = 0; k < K; k = k + 1) begin
            xv = x_i[k*W +: W];
            wv = w_i[k*W +: W];
            if (SIGNED && x_i[k*W + W - 1]) xv = xv - (1 << W);
            if (SIGNED && w_i[k*W + W - 1]) wv = wv - (1 << W);
            d = xv - wv;
            v[k] = (d < 0) ? -d : d;
        end
        for (step = 1; step < K; step = step * 2)
            for (k = 0; k + step < K; k = k + 2 * step)
                v[k] = v[k] + v[k + step];
    end
    wire [31:0] total = v[0];

    reg [31:0] sum_d [0:LAT];
    reg         valid_d [0:LAT];
    always @* begin
        sum_d[0]   = total;
        valid_d[0] = valid_i;
    end
    genvar i;
    generate
        for (i = 1; i <= LAT; i = i + 1) begin : g_delay
            always @(posedge clk_i) begin
                sum_d[i]   <= sum_d[i-1];
                valid_d[i] <= rst_i ? 1'b0 : valid_d[i-1];
            end
        end
    endgenerate
    assign sum_o   = sum_d[LAT];
    assign valid_o = valid_d[LAT];
endmodule
`default_nettype wire

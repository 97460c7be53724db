// siam_int8.h — the int8 kernels: convolution and depth-wise cross-correlation on uint8 activations and int8
// weights with int32 accumulation and a float32 epilogue. Like the fp32 kernels (siam_kernels.h): planar CHW
// activations, batch 1, row (or channel) ranges per call for threading, weights packed once per tier, caller-owned
// workspaces, one table of function pointers per ISA tier, each fast tier tested against a scalar reference twin.
//
// ============================================ THE SPECIFICATION ============================================
// Every tier produces the same bytes as the reference tier for every input (bit for bit, f32 and u8 outputs).
//
// Quantisation. Activations: uint8 per tensor, real x = sx * (q - zx), zero point zx in [0, 255].
// Weights: int8 symmetric per output channel, real w = sw[o] * q, q in [-127, 127]. A weight of -128 is outside
// the scheme; the pack functions of every tier store it as -127 (so that all tiers still agree).
//
// Accumulation, exact in int32:
//     acc[o, p] = sum_k qw[o, k] * (qx[k, p] - zx)  =  sum_k qw[o, k] * qx[k, p]  -  zx * sum_k qw[o, k]
// over every tap k = (c, ky, kx) of the kernel. Zero padding of the input means padded taps read q = zx (a real
// zero), so they contribute nothing. The second term is computed per output channel when the weights are packed
// (so the input zero point is a property of the packed weights: pack takes it, run reads it from there).
// No overflow for K = C*KH*KW <= 66,000 (|terms| <= 255 * 127).
//
// Epilogue, float32, in exactly this order, each operation rounded to nearest even, never fused (no FMA):
//     y = (float)acc * scale[o]                         scale[o] = sx * sw[o] (precomputed by the caller)
//     y = y + bias[o]                                   only when bias != NULL
//     y = y + residual[o, p]                            residual float32, or
//     y = y + ((float)(r[o, p] - zr) * sr)              residual uint8 r with its own scale sr and zero point zr
//     y = (y > 0) ? y : +0                              only when relu (NaN and -0 become +0)
//   then either the float32 output y, or the uint8 output
//     t = y * inv_sy                                    inv_sy = 1 / sy, a float32 precomputed by the caller
//     t = (t > -512) ? t : -512;  t = (t < 512) ? t : 512      (NaN becomes -512; cannot change any other result)
//     q = clamp(round_half_to_even(t) + zy, 0, 255)     (cvtps2dq / vcvtnq_s32_f32 / nearbyintf, default rounding)
// (float)acc is the int32 -> float conversion in the default rounding mode (to nearest even).
// The depth-wise cross-correlation follows the same scheme with "output channel" = channel (see below).
//
// Winograd-domain convolution ("wd23"; a layer kind of its own, chosen by the model file, not by the tier). A 3x3
// stride-1 convolution whose layer carries 16 input multipliers m[xi] in [1, 32767] (calibrated by the quantiser)
// computes F(2x2, 3x3) with its transformed input and weights requantised to 8 bits: 16 products per 2x2 outputs
// instead of 36, at a small, measured loss (siammask drift). Every tier computes exactly this:
//   tiles      as int8/int8_winograd23_x86.h: a dilated 3x3 is a plain 3x3 on each of the dh x dw interleaved
//              sub-grids; a tile is 2x2 outputs of one sub-grid, tile (i, j) of sub-grid (a, b) has its top-left
//              output at (a + 2 i dh, b + 2 j dw); outputs outside the image are not stored.
//   input      d[r][q] = qx[c, oy0 - pad_top + dh r, ox0 - pad_left + dw q] - zx (0 outside the input), r, q < 4;
//              V = B^T d B (exact integers, |V| <= 1020), B^T = [[1,0,-1,0],[0,1,1,0],[0,-1,1,0],[0,1,0,-1]];
//              Vq[xi] = clamp((V[xi] * m[xi] + 16384) >> 15, -128, 127)   (arithmetic shift: vpmulhrsw)
//   weights    per output channel o, from the int8 weights g (clamped to [-127, 127]) with G' = 2G =
//              [[2,0,0],[1,1,1],[1,-1,1],[0,0,2]]: U' = G' g G'^T (integers, |U'| <= 1143); in double,
//              r[xi] = 32768.0 / m[xi], amax = max over xi of (max_c |U'[xi][c]|) * r[xi], k = 127.0 / amax,
//              Uq[xi][c] = nearbyint(U'[xi][c] * (r[xi] * k)) in [-127, 127] and fscale[o] = (float)(amax / 508.0)
//              (all zero when amax = 0): sm_i8_wd23_quantize_channel, shared by every tier
//   sums       M[xi][o] = sum_c Vq[xi][c] * Uq[xi][o][c] (int32), acc = A^T M A, A^T = [[1,1,1,0],[0,1,-1,-1]]
//   epilogue   the convolution's, with scale[o] replaced by the float32 product scale[o] * fscale[o] and no
//              channel term (the zero point is subtracted before the transform).
// The real output is then sx sw[o] (A^T (U . V) A) / 4 up to the rounding of Vq and Uq.
// ==========================================================================================================
//
// Tiers (which instructions, and how unsigned activations and int16 saturation are handled):
//   reference   plain C: acc += (qx - zx) * qw, tap by tap, skipping padded taps.
//   avx2        AVX2 without VNNI: activations zero-extended to int16 pairs and multiplied with int16 weight pairs
//               by vpmaddwd (int16 x int16 -> int32, exact). vpmaddubsw only for layers whose weights fit 7 bits:
//               u8 x s8 pairs saturate int16 otherwise (2 * 255 * 127 > 32767). 3x3 stride-1 convolutions (<= 1024 input channels, enough tiles) run as
//               Winograd F(2x2, 3x3) with integer transforms on the same int16 products (16 instead of 36 per 2x2
//               outputs): the transforms are exact, so the sums are the direct path's (int8/int8_winograd23_x86.h).
//               SIAMMASK_WINOGRAD=0 turns it off, as for float32.
//   avxvnni     AVX-VNNI: 256-bit vpdpbusd with VEX encoding (u8 x s8, 4 products summed into int32, exact).
//   avx512vnni  AVX-512 VNNI: 512-bit vpdpbusd (needs AVX-512 F/BW/VL too).
//   neon        Armv8-A NEON: activations flipped to s8 (q ^ 0x80 = q - 128), smull/smlal of two s8 x s8
//               products into int16 (|sum| <= 2 * 128 * 127 = 32512: no saturation because weights stop at -127),
//               sadalp into int32; the -128 shift is compensated by packing zx - 128 into the channel term.
//   neondot     Armv8.2-A dot product: the same s8 flip, then sdot (vdotq_laneq_s32); i8mm's usdot is not used
//               so that every Armv8.2+ core with the dot product runs it.
// wd23 layers: AVX-512 VNNI and AVX-VNNI multiply Vq + 128 (u8) by Uq with vpdpbusd (the +128 taken off per position
// and channel), AVX2 multiplies Vq and Uq as int16 pairs (vpmaddwd), NEON and NEON dot-product take Vq as signed
// bytes (smull / sdot; |Vq Uq| <= 128 * 127 keeps the int16 pair sums exact).
// Convolution layout (int8/int8_gemm_driver.h): K padded with zero weights to the k-group; B built per pixel block
// by im2col from the input (or a zero-point-padded copy of its rows) and an interleave of G rows, so one vector
// lane holds G consecutive k of one pixel; weights packed once in panels of MR channels, G k per 32-bit broadcast.
//   tier         register tile (channels x pixels)   G, B element        K padded to
//   avx2         6 x 16   (12 ymm)                   2, int16 (zero-ext)  4
//   avxvnni      6 x 16   (12 ymm)                   4, uint8             4
//   avx512vnni   8 x 48   (24 zmm)                   4, uint8             4
//   neon         4 x 8    (16 q, half-sums)          4, q ^ 0x80          8
//   neondot      8 x 12   (24 q)                     4, q ^ 0x80          4
// The sources turn floating-point contraction off for clang (#pragma clang fp contract(off)); gcc ignores the
// STDC pragma and fuses by default: build with -ffp-contract=off when compiling these files with gcc.
//
// Dispatch: sm_int8_active_tier() is the highest tier this build has and this CPU supports, capped by the same
// environment variable as the fp32 kernels, SIAMMASK_MAX_TIER. Tiers have a level (reference 0; avx2 and neon 1;
// avxvnni and neondot 2; avx512vnni 3); the cap names a level: the fp32 names reference (0), avx2 (1) and
// avx512 (3), and the int8 names neon (1), avxvnni and neondot (2), avx512vnni (3). The chosen tier is the
// highest-level tier available whose level is <= the cap's.
#ifndef SIAM_INT8_H
#define SIAM_INT8_H

#include <stddef.h>
#include <stdint.h>

#include "siam_kernels.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum sm_int8_tier {
    SM_INT8_TIER_REFERENCE = 0,
    SM_INT8_TIER_AVX2 = 1,
    SM_INT8_TIER_AVXVNNI = 2,
    SM_INT8_TIER_AVX512VNNI = 3,
    SM_INT8_TIER_NEON = 4,
    SM_INT8_TIER_NEONDOT = 5,
    SM_INT8_TIER_COUNT = 6
} sm_int8_tier;

typedef enum sm_int8_residual_type {
    SM_INT8_RESIDUAL_NONE = 0,
    SM_INT8_RESIDUAL_F32 = 1,   // const float *
    SM_INT8_RESIDUAL_U8 = 2     // const uint8_t *, real value sr * (r - zr)
} sm_int8_residual_type;

typedef enum sm_int8_output_type {
    SM_INT8_OUTPUT_F32 = 0,   // float *: y (dequantised)
    SM_INT8_OUTPUT_U8 = 1     // uint8_t *: quantised with (inv_sy, zy)
} sm_int8_output_type;

// The epilogue of one call (see the specification above). scale is required; everything else is optional.
// The residual has the output's shape (planar CHW) and may be the output buffer itself when it has the output's
// type (in-place residual add); otherwise it must not overlap the output.
typedef struct sm_int8_epilogue {
    const float *scale;            // per output channel: sx * sw[o]
    const float *bias;             // per output channel, or NULL (no addition at all)
    const void *residual;          // NULL, or float / uint8 per residual_type
    int32_t residual_type;         // sm_int8_residual_type
    float residual_scale;          // sr (uint8 residual)
    int32_t residual_zero_point;   // zr (uint8 residual)
    int32_t relu;                  // 1: y = (y > 0) ? y : 0
    int32_t output_type;           // sm_int8_output_type
    float output_inv_scale;        // inv_sy (uint8 output)
    int32_t output_zero_point;     // zy (uint8 output)
} sm_int8_epilogue;

// The kernel table of one int8 tier. Packed weights and workspaces are tier-specific: pack with the table you run
// with. Packed buffers and workspaces are 64-byte aligned and owned by the caller; a workspace is private to the
// caller's thread; workspace sizes never decrease with `rows`, and 0 means none is needed (may be NULL).
typedef struct sm_int8_kernel_table {
    sm_int8_tier tier;
    const char *name;

    // Convolution (sm_conv2d_shape of siam_kernels.h: groups = 1, zero padding, any stride and dilation).
    // weights_oihw: int8 OIHW. pack stores the weights in the tier's layout (K = C*KH*KW padded to the tier's
    // k-group) with the per-channel term input_zero_point * sum_k qw[o, k]. run computes output rows
    // [row_begin, row_end) of every output channel from the uint8 CHW input (whose zero point is the packed one)
    // into the output (float or uint8 CHW per epilogue->output_type). The input must not alias the output.
    size_t (*conv2d_u8s8_packed_bytes)(const sm_conv2d_shape *shape);
    void (*conv2d_u8s8_pack)(const sm_conv2d_shape *shape, const int8_t *weights_oihw, int32_t input_zero_point,
                             void *packed);
    size_t (*conv2d_u8s8_workspace_bytes)(const sm_conv2d_shape *shape, int32_t rows);
    void (*conv2d_u8s8)(const sm_conv2d_shape *shape, const uint8_t *input, const void *packed,
                        const sm_int8_epilogue *epilogue, void *output, int32_t row_begin, int32_t row_end,
                        void *workspace);

    // Winograd-domain 3x3 stride-1 convolution (the specification above): the same contract as conv2d_u8s8 with
    // the layer's 16 input multipliers given to pack. Any 3x3 stride-1 shape with at most 8192 input channels.
    size_t (*conv2d_wd23_packed_bytes)(const sm_conv2d_shape *shape);
    void (*conv2d_wd23_pack)(const sm_conv2d_shape *shape, const int8_t *weights_oihw, int32_t input_zero_point,
                             const int16_t *multipliers, void *packed);
    size_t (*conv2d_wd23_workspace_bytes)(const sm_conv2d_shape *shape, int32_t rows);
    void (*conv2d_wd23)(const sm_conv2d_shape *shape, const uint8_t *input, const void *packed,
                        const sm_int8_epilogue *epilogue, void *output, int32_t row_begin, int32_t row_end,
                        void *workspace);

    // Depth-wise valid cross-correlation, per channel c of channels [channel_begin, channel_end):
    //     acc[c, i, j] = sum_{u, v} qk[c, u, v] * (qs[c, i + u, j + v] - zs)
    // search: uint8 CHW (channels x search_h x search_w) with zero point zs; kernel: int8 (channels x kernel_h x
    // kernel_w), symmetric per channel (the caller quantises the template features per channel once per target:
    // scale[c] = ss * sk[c]). The output is channels x (search_h - kernel_h + 1) x (search_w - kernel_w + 1);
    // the epilogue is the convolution's with o = c (scale, bias per channel; residual, relu, f32 or u8 output).
    // pack stores the kernel in the tier's layout with the per-channel term zs * sum qk[c].
    size_t (*xcorr_u8s8_packed_bytes)(int32_t channels, int32_t kernel_h, int32_t kernel_w);
    void (*xcorr_u8s8_pack)(const int8_t *kernel, int32_t channels, int32_t kernel_h, int32_t kernel_w,
                            int32_t search_zero_point, void *packed);
    size_t (*xcorr_u8s8_workspace_bytes)(int32_t search_h, int32_t search_w, int32_t kernel_h, int32_t kernel_w);
    void (*depthwise_xcorr_u8s8)(const uint8_t *search, int32_t channels, int32_t search_h, int32_t search_w,
                                 const void *packed_kernel, int32_t kernel_h, int32_t kernel_w,
                                 const sm_int8_epilogue *epilogue, void *output, int32_t channel_begin,
                                 int32_t channel_end, void *workspace);
} sm_int8_kernel_table;

// Whether a convolution of this shape can run as wd23 (3x3, stride 1, 1..8192 input channels, any dilation and
// padding, a non-empty output).
int sm_int8_wd23_supports(const sm_conv2d_shape *shape);
// Whether this CPU can run `tier` (ignores the cap; 0 for tiers of another architecture).
int sm_int8_tier_supported(sm_int8_tier tier);
// The table of a tier, or NULL when this build has no such tier (x86 tiers on arm64 and the reverse).
const sm_int8_kernel_table *sm_int8_kernels_for_tier(sm_int8_tier tier);
// Parses an int8 tier name (reference, avx2, avxvnni, avx512vnni, neon, neondot; case-insensitive); -1 if unknown.
int sm_int8_tier_from_name(const char *name);
// The level of a SIAMMASK_MAX_TIER name (see the top of this file), or -1 when unknown.
int sm_int8_cap_level(const char *name);
// The tier sm_int8_active_tier() picks when SIAMMASK_MAX_TIER is `cap` (NULL: unset). An unknown cap prints one
// line on stderr and is ignored. Pure, for tests.
sm_int8_tier sm_int8_tier_for_cap(const char *cap);
// The highest supported int8 tier under SIAMMASK_MAX_TIER, chosen once per process.
sm_int8_tier sm_int8_active_tier(void);
// The table of sm_int8_active_tier().
const sm_int8_kernel_table *sm_int8_kernels(void);

// Glue of mixed int8/fp32 graphs (int8/int8_convert.c; portable C, no tiers).
// Quantise with the epilogue's rule: t = x * inv_scale, clamped to [-512, 512] (NaN -> -512),
// q = clamp(round_half_to_even(t) + zero_point, 0, 255).
void sm_quantize_f32_u8(const float *input, size_t count, float inv_scale, int32_t zero_point, uint8_t *output);
// x = (float)(q - zero_point) * scale.
void sm_dequantize_u8_f32(const uint8_t *input, size_t count, float scale, int32_t zero_point, float *output);
// Max-pool of uint8 CHW (padded taps left out), output rows [row_begin, row_end); exact under any affine encoding
// with a positive scale, so the output keeps the input's encoding.
void sm_max_pool2d_u8(const uint8_t *input, int32_t channels, int32_t in_height, int32_t in_width, int32_t kernel,
                      int32_t stride, int32_t padding, uint8_t *output, int32_t out_height, int32_t out_width,
                      int32_t row_begin, int32_t row_end);
// out[c, y, x] = in[c, y + top, x + left], pad_value (the encoding's zero point: a real zero) outside.
void sm_window_u8(const uint8_t *input, int32_t channels, int32_t in_height, int32_t in_width, int32_t top,
                  int32_t left, uint8_t pad_value, uint8_t *output, int32_t out_height, int32_t out_width);

#ifdef __cplusplus
}
#endif
#endif

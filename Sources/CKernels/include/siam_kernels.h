// siam_kernels.h — the C kernels of the runtime. Every kernel has a scalar reference twin; fast versions exist per
// ISA tier and are chosen once at start-up through a table of function pointers. Activations are planar CHW
// float32 (batch 1), contiguous. Each call computes a range of output rows so callers can split work across threads.
#ifndef SIAM_KERNELS_H
#define SIAM_KERNELS_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

// ISA tiers, lowest first. A tier is usable when the CPU supports it and it is <= the cap.
typedef enum sm_tier {
    SM_TIER_REFERENCE = 0,   // plain C loops: the reference twins
    SM_TIER_AVX2 = 1,        // AVX2 + FMA
    SM_TIER_AVX512 = 2,      // AVX-512 F/BW/VL (+ VNNI for int8 in a later tier)
    SM_TIER_COUNT = 3
} sm_tier;

// Geometry of a 2-D convolution (batch 1, planar CHW in and out, groups = 1).
typedef struct sm_conv2d_shape {
    int32_t in_channels, in_height, in_width;
    int32_t out_channels, out_height, out_width;
    int32_t kernel_h, kernel_w;
    int32_t stride_h, stride_w;
    int32_t pad_top, pad_left;   // zero padding; bottom/right padding is implied by out_height/out_width
    int32_t dilation_h, dilation_w;
} sm_conv2d_shape;

// Epilogue fused into the convolution: out = act(conv(x) + bias[o] + residual), residual optional (NULL).
typedef struct sm_conv2d_epilogue {
    const float *bias;       // out_channels values, may be NULL (= 0)
    const float *residual;   // same shape as the output, may be NULL; added before the activation; may alias output
    int32_t relu;            // 1: max(0, .)
    // Output channels [channel_begin, channel_end) only, when channel_end > 0 (thread splits by channel): honoured by
    // the Winograd path (shapes whose row granule is > 1), where every worker then runs all the tiles against its
    // share of the transformed weights; channel_begin a multiple of 24 (whole weight panels on every tier). Other
    // paths compute every channel: split them by rows.
    int32_t channel_begin, channel_end;
} sm_conv2d_epilogue;

// The kernel table of one tier. Packed weights and workspaces are tier-specific: pack with the table you run with.
typedef struct sm_kernel_table {
    sm_tier tier;
    const char *name;

    // Convolution. Weights OIHW float32 are packed once into `packed` (packed_floats(shape) floats, 64-byte
    // aligned by the caller). run computes output rows [row_begin, row_end) of every output channel;
    // `workspace` is workspace_bytes(shape, row_end - row_begin) bytes, 64-byte aligned, private to the caller's thread
    // (0 bytes: none is needed and it may be NULL). workspace_bytes never decreases with `rows`, so a workspace sized
    // for the largest range serves any smaller one. The input must not alias the output.
    size_t (*conv2d_f32_packed_floats)(const sm_conv2d_shape *shape);
    void (*conv2d_f32_pack)(const sm_conv2d_shape *shape, const float *weights_oihw, float *packed);
    size_t (*conv2d_f32_workspace_bytes)(const sm_conv2d_shape *shape, int32_t rows);
    void (*conv2d_f32)(const sm_conv2d_shape *shape, const float *input, const float *packed,
                       const sm_conv2d_epilogue *epilogue, float *output, int32_t row_begin, int32_t row_end,
                       void *workspace);

    // Winograd F(4x4, 3x3) for 3x3 stride-1 convolutions of any dilation and padding (winograd_applies), with the
    // same contract as conv2d_f32 (own packed layout and workspace). conv2d_f32_* route qualifying shapes here on the
    // fast tiers unless SIAMMASK_WINOGRAD=0; the reference table's entries are the scalar twin and its conv2d_f32
    // stays direct. Results differ from the direct convolution by rounding only (see the Winograd tolerance in tests).
    int (*winograd_applies)(const sm_conv2d_shape *shape);
    // Row ranges given to conv2d_f32 should start at multiples of this (4 x dilation for Winograd-routed shapes:
    // whole tiles; 1 otherwise): any split is correct, an aligned one computes no tile twice.
    int32_t (*conv2d_f32_row_granule)(const sm_conv2d_shape *shape);
    // Which layout conv2d_f32_pack writes for this shape: 0 the GEMM panels, 1 Winograd's transformed weights.
    // Neither depends on the spatial size, stride, padding or dilation, so weights packed for one shape serve every
    // shape of the same tier and packing (the template and the search branch share them).
    int32_t (*conv2d_f32_packing)(const sm_conv2d_shape *shape);
    size_t (*winograd_f32_packed_floats)(const sm_conv2d_shape *shape);
    void (*winograd_f32_pack)(const sm_conv2d_shape *shape, const float *weights_oihw, float *packed);
    size_t (*winograd_f32_workspace_bytes)(const sm_conv2d_shape *shape, int32_t rows);
    void (*winograd_f32)(const sm_conv2d_shape *shape, const float *input, const float *packed,
                         const sm_conv2d_epilogue *epilogue, float *output, int32_t row_begin, int32_t row_end,
                         void *workspace);

    // Transposed convolution with stride == kernel and no padding (non-overlapping), e.g. the refine deconv
    // (256 -> 32, 15x15, stride 15 on a 1x1 input). weights (in, out, k, k); bias per output channel (may be NULL).
    // output is out x (in_h*k) x (in_w*k); the call writes output channels [out_begin, out_end) (thread splits).
    void (*conv_transpose2d_f32)(const float *input, int32_t in_channels, int32_t in_height, int32_t in_width,
                                 const float *weights_iokk, const float *bias, int32_t out_channels, int32_t kernel,
                                 float *output, int32_t out_begin, int32_t out_end);

    // Max-pool, PyTorch semantics (-inf padding, floor mode). Rows [row_begin, row_end) of the output.
    void (*max_pool2d_f32)(const float *input, int32_t channels, int32_t in_height, int32_t in_width, int32_t kernel,
                           int32_t stride, int32_t pad, float *output, int32_t out_height, int32_t out_width,
                           int32_t row_begin, int32_t row_end);

    // Depth-wise valid cross-correlation: out[c,i,j] = sum_{u,v} search[c,i+u,j+v] * kernel[c,u,v].
    // Channels [channel_begin, channel_end).
    void (*depthwise_xcorr_f32)(const float *search, int32_t channels, int32_t search_h, int32_t search_w,
                                const float *kernel, int32_t kernel_h, int32_t kernel_w, float *output,
                                int32_t channel_begin, int32_t channel_end);

    // Nearest resize with floor mapping: src = floor(dst * in / out) (PyTorch legacy 'nearest').
    void (*resize_nearest_f32)(const float *input, int32_t channels, int32_t in_height, int32_t in_width, float *output,
                               int32_t out_height, int32_t out_width);

    // Window with zero fill: out[c,y,x] = in[c, y + top, x + left] when inside, else 0. top/left may be negative
    // (pad) or positive (crop). This is pad + crop in one pass.
    void (*window_f32)(const float *input, int32_t channels, int32_t in_height, int32_t in_width, int32_t top,
                       int32_t left, float *output, int32_t out_height, int32_t out_width);

    // Element-wise: out = a + b; optional relu after (n values).
    void (*add_f32)(const float *a, const float *b, float *out, size_t n, int32_t relu);
    // out = 1 / (1 + exp(-x)).
    void (*sigmoid_f32)(const float *x, float *out, size_t n);
    // Two-way softmax, second class: out[i] = exp(fg[i]) / (exp(bg[i]) + exp(fg[i])).
    void (*softmax2_f32)(const float *bg, const float *fg, float *out, size_t n);
} sm_kernel_table;

// Whether the fast tiers route 3x3 stride-1 convolutions through Winograd: on unless SIAMMASK_WINOGRAD=0 (read once).
int sm_winograd_enabled(void);

// Highest tier the CPU supports, capped by the environment variable SIAMMASK_MAX_TIER
// (reference | avx2 | avx512, case-insensitive; unknown values are ignored with a message on stderr).
sm_tier sm_active_tier(void);
// Whether this CPU can run `tier` (ignores the cap).
int sm_tier_supported(sm_tier tier);
// The table of a tier, or NULL when this build has no such tier (e.g. x86 tiers on arm64).
const sm_kernel_table *sm_kernels_for_tier(sm_tier tier);
// The table of sm_active_tier(), chosen once.
const sm_kernel_table *sm_kernels(void);
// Parses a tier name; returns -1 when unknown.
int sm_tier_from_name(const char *name);
// The tier sm_active_tier() picks when SIAMMASK_MAX_TIER is `cap` (NULL: unset): the highest tier that this build
// has, the CPU supports, and is <= the cap. An unknown cap prints one line on stderr and is ignored. Pure, for tests.
sm_tier sm_tier_for_cap(const char *cap);

#ifdef __cplusplus
}
#endif
#endif

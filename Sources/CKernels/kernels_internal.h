// kernels_internal.h — private to CKernels: the per-tier tables and helpers shared between tiers.
#ifndef SIAM_KERNELS_INTERNAL_H
#define SIAM_KERNELS_INTERNAL_H

#include "siam_kernels.h"

#include <string.h>

// Window of planar CHW elements of any size: out[c, y, x] = in[c, y + top, x + left], every byte of an element outside
// the input set to pad_byte (0: a float zero; a uint8 encoding's zero point: its real zero). Rows move by memcpy.
static inline void sm_window_elements(const void *input, int32_t channels, int32_t in_height, int32_t in_width,
                                      int32_t top, int32_t left, size_t element_size, unsigned char pad_byte,
                                      void *output, int32_t out_height, int32_t out_width) {
    // Output columns [x_lo, x_hi) read input columns [x_lo + left, x_hi + left); the rest are padding.
    int32_t x_lo = left < 0 ? -left : 0;
    int32_t x_hi = in_width - left;
    if (x_hi > out_width) x_hi = out_width;
    if (x_lo > out_width) x_lo = out_width;
    if (x_hi < x_lo) x_hi = x_lo;
    const size_t e = element_size;
    for (int32_t c = 0; c < channels; c++) {
        for (int32_t y = 0; y < out_height; y++) {
            unsigned char *dst = (unsigned char *)output + ((size_t)c * out_height + y) * out_width * e;
            const int32_t sy = y + top;
            if (sy < 0 || sy >= in_height || x_hi == x_lo) {
                memset(dst, pad_byte, (size_t)out_width * e);
                continue;
            }
            const unsigned char *src = (const unsigned char *)input + ((size_t)c * in_height + sy) * in_width * e;
            if (x_lo > 0) memset(dst, pad_byte, (size_t)x_lo * e);
            memcpy(dst + x_lo * e, src + (size_t)(x_lo + left) * e, (size_t)(x_hi - x_lo) * e);
            if (x_hi < out_width) memset(dst + x_hi * e, pad_byte, (size_t)(out_width - x_hi) * e);
        }
    }
}


#ifdef __cplusplus
extern "C" {
#endif

// The CPU's features, probed once (cpu_features.c); every family's dispatch reads them from here.
typedef struct sm_cpu_features {
    int avx2, fma, avx512, avx512vnni, avxvnni;   // avx512: F + BW + VL
    int neon, neondot;
    size_t l2_bytes;   // one core's L2 (0: unknown)
} sm_cpu_features;
const sm_cpu_features *sm_cpu(void);

// Bytes a kernel may keep resident in one core's L2 for a block it reuses: half the L2 (the other half holds what
// streams past it), `fallback` when the size is unknown, at most 1 MiB.
size_t sm_l2_block_budget(size_t fallback);

// One scale of levels for SIAMMASK_MAX_TIER, whatever the family: a cap allows every tier at or below its level.
enum {
    SM_LEVEL_REFERENCE = 0,   // reference
    SM_LEVEL_BASE = 1,        // avx2, neon
    SM_LEVEL_DOT = 2,         // avxvnni, neondot
    SM_LEVEL_WIDE = 3,        // avx512, avx512vnni
};
// The level of a tier name (any family, case-insensitive); -1 when unknown.
int sm_cap_level(const char *name);
// The level a cap allows: SM_LEVEL_WIDE for NULL, and for an unknown name (with one line on stderr).
int sm_cap_level_or_any(const char *cap);
// sm_cap_level_or_any(getenv("SIAMMASK_MAX_TIER")), read once for the process.
int sm_environment_cap_level(void);

// The external convolution entry points of an x86 tier (x86/conv_entry_points.h), and their place in its table.
#define SM_DECLARE_CONV_F32_ENTRIES(prefix)                                                                           \
    int32_t prefix##_conv2d_f32_row_granule(const sm_conv2d_shape *s);                                                \
    int32_t prefix##_conv2d_f32_packing(const sm_conv2d_shape *s);                                                    \
    size_t prefix##_winograd_f32_packed_floats(const sm_conv2d_shape *s);                                             \
    void prefix##_winograd_f32_pack(const sm_conv2d_shape *s, const float *w, float *packed);                         \
    size_t prefix##_winograd_f32_workspace_bytes(const sm_conv2d_shape *s, int32_t rows);                             \
    void prefix##_winograd_f32(const sm_conv2d_shape *s, const float *input, const float *packed,                     \
                               const sm_conv2d_epilogue *epilogue, float *output, int32_t row_begin, int32_t row_end, \
                               void *workspace);                                                                      \
    size_t prefix##_conv2d_f32_packed_floats(const sm_conv2d_shape *s);                                               \
    void prefix##_conv2d_f32_pack(const sm_conv2d_shape *s, const float *w, float *packed);                           \
    size_t prefix##_conv2d_f32_workspace_bytes(const sm_conv2d_shape *s, int32_t rows);                               \
    void prefix##_conv2d_f32(const sm_conv2d_shape *s, const float *input, const float *packed,                       \
                             const sm_conv2d_epilogue *epilogue, float *output, int32_t row_begin, int32_t row_end,   \
                             void *workspace);
#define SM_CONV_F32_TABLE_ENTRIES(prefix)                                                                       \
    .conv2d_f32_packed_floats = prefix##_conv2d_f32_packed_floats, .conv2d_f32_pack = prefix##_conv2d_f32_pack, \
    .conv2d_f32_workspace_bytes = prefix##_conv2d_f32_workspace_bytes, .conv2d_f32 = prefix##_conv2d_f32,       \
    .winograd_applies = sm_winograd_applies_f32, .conv2d_f32_row_granule = prefix##_conv2d_f32_row_granule,     \
    .conv2d_f32_packing = prefix##_conv2d_f32_packing,                                                          \
    .winograd_f32_packed_floats = prefix##_winograd_f32_packed_floats,                                          \
    .winograd_f32_pack = prefix##_winograd_f32_pack,                                                            \
    .winograd_f32_workspace_bytes = prefix##_winograd_f32_workspace_bytes, .winograd_f32 = prefix##_winograd_f32

extern const sm_kernel_table sm_reference_table;
#if defined(__x86_64__)
extern const sm_kernel_table sm_avx2_table;
extern const sm_kernel_table sm_avx512_table;
#endif

// Copy kernels without arithmetic, shared by the fast tiers (memcpy/memset do the vector work).
void sm_fast_resize_nearest_f32(const float *input, int32_t channels, int32_t in_height, int32_t in_width,
                                float *output, int32_t out_height, int32_t out_width);
void sm_fast_window_f32(const float *input, int32_t channels, int32_t in_height, int32_t in_width, int32_t top,
                        int32_t left, float *output, int32_t out_height, int32_t out_width);

// What the convolution micro-kernels need to finish a tile (see x86/conv_gemm_driver.h).
typedef struct sm_tile_epilogue {
    const float *bias;       // bias of the tile's first row, or NULL
    const float *residual;   // residual at the tile's origin (same strides as the output), or NULL
    int32_t relu;            // apply ReLU (only when `last`)
    int32_t first;           // first k block: start from bias + residual instead of the stored partial sums
    int32_t last;            // last k block: apply the activation
    int32_t rows;            // valid rows (output channels) of the tile, <= MR
    int32_t stream_a;        // A streams from memory (Winograd's large transformed weights): prefetch it ahead
} sm_tile_epilogue;

// floor(a / b) for b > 0 and any sign of a.
static inline int32_t sm_floor_div(int32_t a, int32_t b) {
    int32_t q = a / b;
    return (a % b != 0 && a < 0) ? q - 1 : q;
}
// ceil(a / b) for b > 0 and any sign of a.
static inline int32_t sm_ceil_div(int32_t a, int32_t b) { return -sm_floor_div(-a, b); }

// The step of blocks of equal size, each a multiple of `multiple` and at most `max_block` (>= multiple unless it is
// `total`), covering `total`: full blocks and a remainder of a few elements would stream every weight once more for
// those few (961 pixels = 480 + 480 + 1). Shared by the fp32 and int8 GEMM drivers' pixel blocks.
static inline size_t sm_equal_block(size_t total, size_t max_block, size_t multiple) {
    const size_t blocks = (total + max_block - 1) / max_block;
    size_t step = ((total + blocks - 1) / blocks + multiple - 1) / multiple * multiple;
    return step > max_block ? max_block : step;
}

#ifdef __cplusplus
}
#endif
#endif

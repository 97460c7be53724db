// copy_kernels.c — resize and window for the fast tiers. They only move data: rows go through memcpy/memset
// (which libc vectorises), repeated rows are copied whole, and column maps are computed once per call chunk.
#include "../kernels_internal.h"

#include <string.h>

enum { SM_RESIZE_CHUNK = 512 };   // columns whose source index is precomputed on the stack at a time

void sm_fast_resize_nearest_f32(const float *input, int32_t channels, int32_t in_height, int32_t in_width,
                                float *output, int32_t out_height, int32_t out_width) {
    int32_t xmap[SM_RESIZE_CHUNK];
    const size_t in_plane = (size_t)in_height * in_width, out_plane = (size_t)out_height * out_width;
    const int identity_x = (in_width == out_width);
    for (int32_t x0 = 0; x0 < out_width; x0 += SM_RESIZE_CHUNK) {
        const int32_t nx = out_width - x0 < SM_RESIZE_CHUNK ? out_width - x0 : SM_RESIZE_CHUNK;
        for (int32_t x = 0; x < nx; x++) xmap[x] = (int32_t)(((int64_t)(x0 + x) * in_width) / out_width);
        for (int32_t c = 0; c < channels; c++) {
            const float *src_plane = input + (size_t)c * in_plane;
            float *dst_plane = output + (size_t)c * out_plane;
            int32_t previous_sy = -1;
            for (int32_t y = 0; y < out_height; y++) {
                const int32_t sy = (int32_t)(((int64_t)y * in_height) / out_height);
                float *dst = dst_plane + (size_t)y * out_width + x0;
                if (sy == previous_sy) {
                    memcpy(dst, dst - out_width, (size_t)nx * sizeof(float));
                    continue;
                }
                previous_sy = sy;
                const float *src = src_plane + (size_t)sy * in_width;
                if (identity_x) {
                    memcpy(dst, src + x0, (size_t)nx * sizeof(float));
                } else {
                    for (int32_t x = 0; x < nx; x++) dst[x] = src[xmap[x]];
                }
            }
        }
    }
}

void sm_fast_window_f32(const float *input, int32_t channels, int32_t in_height, int32_t in_width, int32_t top,
                        int32_t left, float *output, int32_t out_height, int32_t out_width) {
    sm_window_elements(input, channels, in_height, in_width, top, left, sizeof(float), 0, output, out_height,
                       out_width);
}

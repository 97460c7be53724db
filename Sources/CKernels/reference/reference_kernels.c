// reference_kernels.c — the scalar reference twins: plain loops that are obviously correct. The fast tiers are
// tested against these; SIAMMASK_MAX_TIER=reference runs the whole network on them.
#include "../winograd/winograd_internal.h"

#include <math.h>
#include <string.h>

// ---- convolution: weights stay OIHW; a direct 7-deep loop ----

static size_t ref_conv2d_packed_floats(const sm_conv2d_shape *s) {
    return (size_t)s->out_channels * (size_t)s->in_channels * (size_t)s->kernel_h * (size_t)s->kernel_w;
}

static void ref_conv2d_pack(const sm_conv2d_shape *s, const float *weights_oihw, float *packed) {
    memcpy(packed, weights_oihw, ref_conv2d_packed_floats(s) * sizeof(float));
}

static size_t ref_conv2d_workspace_bytes(const sm_conv2d_shape *s, int32_t rows) {
    (void)s;
    (void)rows;
    return 0;
}

static void ref_conv2d(const sm_conv2d_shape *s, const float *input, const float *weights,
                       const sm_conv2d_epilogue *epilogue, float *output, int32_t row_begin, int32_t row_end,
                       void *workspace) {
    (void)workspace;
    const int32_t C = s->in_channels, H = s->in_height, W = s->in_width;
    const int32_t OH = s->out_height, OW = s->out_width, KH = s->kernel_h, KW = s->kernel_w;
    for (int32_t o = 0; o < s->out_channels; o++) {
        for (int32_t oy = row_begin; oy < row_end; oy++) {
            for (int32_t ox = 0; ox < OW; ox++) {
                float sum = 0.0f;
                for (int32_t c = 0; c < C; c++) {
                    for (int32_t ky = 0; ky < KH; ky++) {
                        int32_t iy = oy * s->stride_h - s->pad_top + ky * s->dilation_h;
                        if (iy < 0 || iy >= H) continue;   // zero padding
                        for (int32_t kx = 0; kx < KW; kx++) {
                            int32_t ix = ox * s->stride_w - s->pad_left + kx * s->dilation_w;
                            if (ix < 0 || ix >= W) continue;
                            float x = input[((size_t)c * H + iy) * W + ix];
                            float w = weights[(((size_t)o * C + c) * KH + ky) * KW + kx];
                            sum += x * w;
                        }
                    }
                }
                size_t at = ((size_t)o * OH + oy) * OW + ox;
                if (epilogue) {
                    if (epilogue->bias) sum += epilogue->bias[o];
                    if (epilogue->residual) sum += epilogue->residual[at];
                    if (epilogue->relu && sum < 0.0f) sum = 0.0f;
                }
                output[at] = sum;
            }
        }
    }
}

// ---- transposed convolution, stride == kernel, no padding ----

static void ref_conv_transpose2d(const float *input, int32_t in_channels, int32_t in_height, int32_t in_width,
                                 const float *weights, const float *bias, int32_t out_channels, int32_t kernel,
                                 float *output, int32_t out_begin, int32_t out_end) {
    const int32_t OH = in_height * kernel, OW = in_width * kernel;
    for (int32_t o = out_begin; o < out_end; o++) {
        for (int32_t y = 0; y < OH; y++) {
            for (int32_t x = 0; x < OW; x++) {
                int32_t iy = y / kernel, ky = y % kernel, ix = x / kernel, kx = x % kernel;
                float sum = bias ? bias[o] : 0.0f;
                for (int32_t c = 0; c < in_channels; c++) {
                    float v = input[((size_t)c * in_height + iy) * in_width + ix];
                    float w = weights[(((size_t)c * out_channels + o) * kernel + ky) * kernel + kx];
                    sum += v * w;
                }
                output[((size_t)o * OH + y) * OW + x] = sum;
            }
        }
    }
}

// ---- max-pool ----

static void ref_max_pool2d(const float *input, int32_t channels, int32_t in_height, int32_t in_width, int32_t kernel,
                           int32_t stride, int32_t pad, float *output, int32_t out_height, int32_t out_width,
                           int32_t row_begin, int32_t row_end) {
    for (int32_t c = 0; c < channels; c++) {
        for (int32_t oy = row_begin; oy < row_end; oy++) {
            for (int32_t ox = 0; ox < out_width; ox++) {
                float m = -INFINITY;
                for (int32_t ky = 0; ky < kernel; ky++) {
                    for (int32_t kx = 0; kx < kernel; kx++) {
                        int32_t iy = oy * stride - pad + ky, ix = ox * stride - pad + kx;
                        if (iy < 0 || iy >= in_height || ix < 0 || ix >= in_width) continue;
                        float v = input[((size_t)c * in_height + iy) * in_width + ix];
                        if (v > m) m = v;
                    }
                }
                output[((size_t)c * out_height + oy) * out_width + ox] = m;
            }
        }
    }
}

// ---- depth-wise cross-correlation ----

static void ref_depthwise_xcorr(const float *search, int32_t channels, int32_t search_h, int32_t search_w,
                                const float *kernel, int32_t kernel_h, int32_t kernel_w, float *output,
                                int32_t channel_begin, int32_t channel_end) {
    (void)channels;
    const int32_t OH = search_h - kernel_h + 1, OW = search_w - kernel_w + 1;
    for (int32_t c = channel_begin; c < channel_end; c++) {
        for (int32_t i = 0; i < OH; i++) {
            for (int32_t j = 0; j < OW; j++) {
                float sum = 0.0f;
                for (int32_t u = 0; u < kernel_h; u++) {
                    for (int32_t v = 0; v < kernel_w; v++) {
                        sum += search[((size_t)c * search_h + i + u) * search_w + j + v] *
                               kernel[((size_t)c * kernel_h + u) * kernel_w + v];
                    }
                }
                output[((size_t)c * OH + i) * OW + j] = sum;
            }
        }
    }
}

// ---- nearest resize, src = floor(dst * in / out) ----

static void ref_resize_nearest(const float *input, int32_t channels, int32_t in_height, int32_t in_width, float *output,
                               int32_t out_height, int32_t out_width) {
    for (int32_t c = 0; c < channels; c++) {
        for (int32_t y = 0; y < out_height; y++) {
            int32_t sy = (int32_t)(((int64_t)y * in_height) / out_height);
            for (int32_t x = 0; x < out_width; x++) {
                int32_t sx = (int32_t)(((int64_t)x * in_width) / out_width);
                output[((size_t)c * out_height + y) * out_width + x] =
                    input[((size_t)c * in_height + sy) * in_width + sx];
            }
        }
    }
}

// ---- window (pad + crop) ----

static void ref_window(const float *input, int32_t channels, int32_t in_height, int32_t in_width, int32_t top,
                       int32_t left, float *output, int32_t out_height, int32_t out_width) {
    for (int32_t c = 0; c < channels; c++) {
        for (int32_t y = 0; y < out_height; y++) {
            for (int32_t x = 0; x < out_width; x++) {
                int32_t sy = y + top, sx = x + left;
                float v = 0.0f;
                if (sy >= 0 && sy < in_height && sx >= 0 && sx < in_width)
                    v = input[((size_t)c * in_height + sy) * in_width + sx];
                output[((size_t)c * out_height + y) * out_width + x] = v;
            }
        }
    }
}

// ---- element-wise ----

static void ref_add(const float *a, const float *b, float *out, size_t n, int32_t relu) {
    for (size_t i = 0; i < n; i++) {
        float v = a[i] + b[i];
        if (relu && v < 0.0f) v = 0.0f;
        out[i] = v;
    }
}

static void ref_sigmoid(const float *x, float *out, size_t n) {
    for (size_t i = 0; i < n; i++) out[i] = 1.0f / (1.0f + expf(-x[i]));
}

static void ref_softmax2(const float *bg, const float *fg, float *out, size_t n) {
    for (size_t i = 0; i < n; i++) {
        float m = bg[i] > fg[i] ? bg[i] : fg[i];   // subtract the max: the same ratio without overflow
        float eb = expf(bg[i] - m), ef = expf(fg[i] - m);
        out[i] = ef / (eb + ef);
    }
}

static int32_t ref_conv2d_row_granule(const sm_conv2d_shape *s) {
    (void)s;
    return 1;
}

static int32_t ref_conv2d_packing(const sm_conv2d_shape *s) {
    (void)s;
    return 0;   // OIHW as given
}

const sm_kernel_table sm_reference_table = {
    .tier = SM_TIER_REFERENCE,
    .name = "reference",
    .conv2d_f32_packed_floats = ref_conv2d_packed_floats,
    .conv2d_f32_pack = ref_conv2d_pack,
    .conv2d_f32_workspace_bytes = ref_conv2d_workspace_bytes,
    .conv2d_f32 = ref_conv2d,
    .winograd_applies = sm_winograd_applies_f32,
    .conv2d_f32_row_granule = ref_conv2d_row_granule,
    .conv2d_f32_packing = ref_conv2d_packing,
    .winograd_f32_packed_floats = sm_ref_winograd_f32_packed_floats,
    .winograd_f32_pack = sm_ref_winograd_f32_pack,
    .winograd_f32_workspace_bytes = sm_ref_winograd_f32_workspace_bytes,
    .winograd_f32 = sm_ref_winograd_f32,
    .conv_transpose2d_f32 = ref_conv_transpose2d,
    .max_pool2d_f32 = ref_max_pool2d,
    .depthwise_xcorr_f32 = ref_depthwise_xcorr,
    .resize_nearest_f32 = ref_resize_nearest,
    .window_f32 = ref_window,
    .add_f32 = ref_add,
    .sigmoid_f32 = ref_sigmoid,
    .softmax2_f32 = ref_softmax2,
};

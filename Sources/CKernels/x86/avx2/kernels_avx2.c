// kernels_avx2.c — the AVX2 tier's other kernels (transposed convolution, max-pool, depth-wise xcorr,
// element-wise) and its kernel table. The convolution is in conv_avx2.c.
#if defined(__x86_64__)
#include "../../winograd/winograd_internal.h"

#include <immintrin.h>
#include <math.h>

SM_DECLARE_CONV_F32_ENTRIES(sm_avx2)

#pragma clang attribute push(__attribute__((target("avx2,fma"))), apply_to = function)

// Lane mask of the first `lanes` lanes (clamped to 0..8) for vmaskmovps.
static inline __m256i sm_lanes8(int32_t lanes) {
    return _mm256_cmpgt_epi32(_mm256_set1_epi32(lanes), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}

// ---- transposed convolution (stride == kernel): per input pixel a GEMV over the (out, ky, kx) columns ----

enum { SM_CT_BLOCK = 32 };   // columns per register block: 4 ymm accumulators

static void sm_avx2_conv_transpose2d(const float *input, int32_t in_channels, int32_t in_height, int32_t in_width,
                                     const float *weights, const float *bias, int32_t out_channels, int32_t kernel,
                                     float *output, int32_t out_begin, int32_t out_end) {
    const size_t kk = (size_t)kernel * kernel, J = (size_t)out_channels * kk;
    // Columns j = (o, ky, kx) of the requested output channels; the weights' row stride stays J.
    const size_t j_begin = (size_t)out_begin * kk, j_end = (size_t)out_end * kk;
    const size_t in_plane = (size_t)in_height * in_width;
    const int32_t OH = in_height * kernel, OW = in_width * kernel;
    float tmp[SM_CT_BLOCK];
    for (int32_t iy = 0; iy < in_height; iy++) {
        for (int32_t ix = 0; ix < in_width; ix++) {
            const float *x = input + (size_t)iy * in_width + ix;
            for (size_t j0 = j_begin; j0 < j_end; j0 += SM_CT_BLOCK) {
                const size_t nj = j_end - j0 < SM_CT_BLOCK ? j_end - j0 : SM_CT_BLOCK;
                __m256 acc0 = _mm256_setzero_ps(), acc1 = acc0, acc2 = acc0, acc3 = acc0;
                const float *w = weights + j0;
                if (nj == SM_CT_BLOCK) {
                    for (int32_t c = 0; c < in_channels; c++, w += J) {
                        const __m256 xv = _mm256_set1_ps(x[(size_t)c * in_plane]);
                        acc0 = _mm256_fmadd_ps(xv, _mm256_loadu_ps(w), acc0);
                        acc1 = _mm256_fmadd_ps(xv, _mm256_loadu_ps(w + 8), acc1);
                        acc2 = _mm256_fmadd_ps(xv, _mm256_loadu_ps(w + 16), acc2);
                        acc3 = _mm256_fmadd_ps(xv, _mm256_loadu_ps(w + 24), acc3);
                    }
                } else {
                    const __m256i m0 = sm_lanes8((int32_t)nj), m1 = sm_lanes8((int32_t)nj - 8);
                    const __m256i m2 = sm_lanes8((int32_t)nj - 16), m3 = sm_lanes8((int32_t)nj - 24);
                    for (int32_t c = 0; c < in_channels; c++, w += J) {
                        const __m256 xv = _mm256_set1_ps(x[(size_t)c * in_plane]);
                        acc0 = _mm256_fmadd_ps(xv, _mm256_maskload_ps(w, m0), acc0);
                        acc1 = _mm256_fmadd_ps(xv, _mm256_maskload_ps(w + 8, m1), acc1);
                        acc2 = _mm256_fmadd_ps(xv, _mm256_maskload_ps(w + 16, m2), acc2);
                        acc3 = _mm256_fmadd_ps(xv, _mm256_maskload_ps(w + 24, m3), acc3);
                    }
                }
                _mm256_storeu_ps(tmp, acc0);
                _mm256_storeu_ps(tmp + 8, acc1);
                _mm256_storeu_ps(tmp + 16, acc2);
                _mm256_storeu_ps(tmp + 24, acc3);
                // Scatter column j = (o, ky, kx) to out[o][iy*k + ky][ix*k + kx].
                int32_t o = (int32_t)(j0 / kk), ky = (int32_t)((j0 % kk) / kernel), kx = (int32_t)(j0 % kernel);
                for (size_t t = 0; t < nj; t++) {
                    output[((size_t)o * OH + (size_t)iy * kernel + ky) * OW + (size_t)ix * kernel + kx] =
                        tmp[t] + (bias ? bias[o] : 0.0f);
                    if (++kx == kernel) {
                        kx = 0;
                        if (++ky == kernel) {
                            ky = 0;
                            o++;
                        }
                    }
                }
            }
        }
    }
}

// ---- max-pool ----

static float sm_pool_scalar(const float *plane, int32_t H, int32_t W, int32_t iy0, int32_t ix0, int32_t kernel) {
    float m = -INFINITY;
    for (int32_t ky = 0; ky < kernel; ky++) {
        int32_t iy = iy0 + ky;
        if (iy < 0 || iy >= H) continue;
        for (int32_t kx = 0; kx < kernel; kx++) {
            int32_t ix = ix0 + kx;
            if (ix < 0 || ix >= W) continue;
            float v = plane[(size_t)iy * W + ix];
            if (v > m) m = v;
        }
    }
    return m;
}

static void sm_avx2_max_pool2d(const float *input, int32_t channels, int32_t in_height, int32_t in_width,
                               int32_t kernel, int32_t stride, int32_t pad, float *output, int32_t out_height,
                               int32_t out_width, int32_t row_begin, int32_t row_end) {
    const int32_t H = in_height, W = in_width;
    // Columns whose window lies inside [0, W).
    int32_t ox_lo = sm_ceil_div(pad, stride);
    int32_t ox_hi = W - kernel + pad < 0 ? 0 : sm_floor_div(W - kernel + pad, stride) + 1;
    if (ox_hi > out_width) ox_hi = out_width;
    if (ox_lo > ox_hi) ox_lo = ox_hi;
    const int vector_ok = stride == 1 || stride == 2;
    for (int32_t c = 0; c < channels; c++) {
        const float *plane = input + (size_t)c * H * W;
        for (int32_t oy = row_begin; oy < row_end; oy++) {
            float *out = output + ((size_t)c * out_height + oy) * out_width;
            const int32_t iy0 = oy * stride - pad;
            int32_t ky_lo = iy0 < 0 ? -iy0 : 0, ky_hi = H - iy0 < kernel ? H - iy0 : kernel;
            int32_t ox = ox_lo;
            // Vector chunks of 8 inside the interior; with stride 2 a chunk reads one element past its last
            // window, which the following chunk reads anyway, so the final chunk goes scalar.
            for (; vector_ok && ox + 8 < ox_hi; ox += 8) {
                __m256 best = _mm256_set1_ps(-INFINITY);
                for (int32_t ky = ky_lo; ky < ky_hi; ky++) {
                    const float *row = plane + (size_t)(iy0 + ky) * W;
                    for (int32_t kx = 0; kx < kernel; kx++) {
                        const float *p = row + (ox * stride - pad + kx);
                        __m256 v;
                        if (stride == 1) {
                            v = _mm256_loadu_ps(p);
                        } else {
                            __m256 lo = _mm256_loadu_ps(p), hi = _mm256_loadu_ps(p + 8);
                            v = _mm256_shuffle_ps(lo, hi, _MM_SHUFFLE(2, 0, 2, 0));
                            v = _mm256_castpd_ps(_mm256_permute4x64_pd(_mm256_castps_pd(v), _MM_SHUFFLE(3, 1, 2, 0)));
                        }
                        best = _mm256_max_ps(best, v);
                    }
                }
                _mm256_storeu_ps(out + ox, best);
            }
            for (int32_t x = 0; x < ox_lo; x++) out[x] = sm_pool_scalar(plane, H, W, iy0, x * stride - pad, kernel);
            for (; ox < out_width; ox++) out[ox] = sm_pool_scalar(plane, H, W, iy0, ox * stride - pad, kernel);
        }
    }
}

// ---- depth-wise cross-correlation: 4 output rows x 8 columns per block ----

static inline __attribute__((always_inline)) void sm_avx2_xcorr_block(const int R, const float *s, int32_t sw,
                                                                      const float *k, int32_t kh, int32_t kw,
                                                                      float *out, int32_t ow, __m256i m) {
    __m256 acc[4];
    for (int r = 0; r < R; r++) acc[r] = _mm256_setzero_ps();
    for (int32_t u = 0; u < kh; u++) {
        for (int32_t v = 0; v < kw; v++) {
            const __m256 w = _mm256_set1_ps(k[u * kw + v]);
            for (int r = 0; r < R; r++)
                acc[r] = _mm256_fmadd_ps(_mm256_maskload_ps(s + (size_t)(r + u) * sw + v, m), w, acc[r]);
        }
    }
    for (int r = 0; r < R; r++) _mm256_maskstore_ps(out + (size_t)r * ow, m, acc[r]);
}

static void sm_avx2_depthwise_xcorr(const float *search, int32_t channels, int32_t search_h, int32_t search_w,
                                    const float *kernel, int32_t kernel_h, int32_t kernel_w, float *output,
                                    int32_t channel_begin, int32_t channel_end) {
    (void)channels;
    const int32_t OH = search_h - kernel_h + 1, OW = search_w - kernel_w + 1;
    if (OH <= 0 || OW <= 0) return;
    for (int32_t c = channel_begin; c < channel_end; c++) {
        const float *sp = search + (size_t)c * search_h * search_w;
        const float *kp = kernel + (size_t)c * kernel_h * kernel_w;
        float *op = output + (size_t)c * OH * OW;
        for (int32_t j = 0; j < OW; j += 8) {
            const __m256i m = sm_lanes8(OW - j);
            int32_t i = 0;
            for (; i + 4 <= OH; i += 4)
                sm_avx2_xcorr_block(4, sp + (size_t)i * search_w + j, search_w, kp, kernel_h, kernel_w,
                                    op + (size_t)i * OW + j, OW, m);
            for (; i < OH; i++)
                sm_avx2_xcorr_block(1, sp + (size_t)i * search_w + j, search_w, kp, kernel_h, kernel_w,
                                    op + (size_t)i * OW + j, OW, m);
        }
    }
}

// ---- element-wise ----

static void sm_avx2_add(const float *a, const float *b, float *out, size_t n, int32_t relu) {
    const __m256 zero = _mm256_setzero_ps();
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        __m256 v = _mm256_add_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i));
        if (relu) v = _mm256_max_ps(v, zero);
        _mm256_storeu_ps(out + i, v);
    }
    for (; i < n; i++) {
        float v = a[i] + b[i];
        out[i] = (relu && v < 0.0f) ? 0.0f : v;
    }
}

// exp(x) for x in [-87, 88] (clamped outside): Cody-Waite reduction x = n ln2 + r, |r| <= ln2/2, the Cephes
// degree-6 polynomial (about 1 ulp), then 2^n through the exponent field (n in [-126, 127]).
static inline __m256 sm_exp256(__m256 x) {
    x = _mm256_min_ps(_mm256_max_ps(x, _mm256_set1_ps(-87.0f)), _mm256_set1_ps(88.0f));
    const __m256 n = _mm256_round_ps(_mm256_mul_ps(x, _mm256_set1_ps(1.44269504088896341f)),
                                     _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m256 r = _mm256_fnmadd_ps(n, _mm256_set1_ps(0.693359375f), x);
    r = _mm256_fnmadd_ps(n, _mm256_set1_ps(-2.12194440e-4f), r);
    __m256 p = _mm256_set1_ps(1.9875691500e-4f);
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.3981999507e-3f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(8.3334519073e-3f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(4.1665795894e-2f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.6666665459e-1f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(5.0000001201e-1f));
    p = _mm256_fmadd_ps(p, _mm256_mul_ps(r, r), _mm256_add_ps(r, _mm256_set1_ps(1.0f)));
    const __m256i e = _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127)), 23);
    return _mm256_mul_ps(p, _mm256_castsi256_ps(e));
}

static void sm_avx2_sigmoid(const float *x, float *out, size_t n) {
    const __m256 one = _mm256_set1_ps(1.0f);
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        __m256 e = sm_exp256(_mm256_sub_ps(_mm256_setzero_ps(), _mm256_loadu_ps(x + i)));
        _mm256_storeu_ps(out + i, _mm256_div_ps(one, _mm256_add_ps(one, e)));
    }
    if (i < n) {
        const __m256i m = sm_lanes8((int32_t)(n - i));
        __m256 e = sm_exp256(_mm256_sub_ps(_mm256_setzero_ps(), _mm256_maskload_ps(x + i, m)));
        _mm256_maskstore_ps(out + i, m, _mm256_div_ps(one, _mm256_add_ps(one, e)));
    }
}

// exp(fg) / (exp(bg) + exp(fg)) = 1 / (1 + exp(bg - fg)).
static void sm_avx2_softmax2(const float *bg, const float *fg, float *out, size_t n) {
    const __m256 one = _mm256_set1_ps(1.0f);
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        __m256 d = _mm256_sub_ps(_mm256_loadu_ps(bg + i), _mm256_loadu_ps(fg + i));
        _mm256_storeu_ps(out + i, _mm256_div_ps(one, _mm256_add_ps(one, sm_exp256(d))));
    }
    if (i < n) {
        const __m256i m = sm_lanes8((int32_t)(n - i));
        __m256 d = _mm256_sub_ps(_mm256_maskload_ps(bg + i, m), _mm256_maskload_ps(fg + i, m));
        _mm256_maskstore_ps(out + i, m, _mm256_div_ps(one, _mm256_add_ps(one, sm_exp256(d))));
    }
}

#pragma clang attribute pop

const sm_kernel_table sm_avx2_table = {
    .tier = SM_TIER_AVX2,
    .name = "avx2",
    SM_CONV_F32_TABLE_ENTRIES(sm_avx2),
    .conv_transpose2d_f32 = sm_avx2_conv_transpose2d,
    .max_pool2d_f32 = sm_avx2_max_pool2d,
    .depthwise_xcorr_f32 = sm_avx2_depthwise_xcorr,
    .resize_nearest_f32 = sm_fast_resize_nearest_f32,
    .window_f32 = sm_fast_window_f32,
    .add_f32 = sm_avx2_add,
    .sigmoid_f32 = sm_avx2_sigmoid,
    .softmax2_f32 = sm_avx2_softmax2,
};
#endif

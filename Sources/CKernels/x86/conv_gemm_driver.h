// conv_gemm_driver.h — the convolution driver shared by the x86 tiers, included once per tier inside that tier's
// `#pragma clang attribute push(target(...))` region so it is compiled for that tier's ISA.
//
// A convolution is the GEMM  out[O x P] = A[O x K] * B[K x P]  with K = C*KH*KW (ordered c, ky, kx as in OIHW) and
// P = the pixels of the requested output rows. Output planes are CHW, so a row of `out` is contiguous: the micro-kernel
// vectorises along pixels (loads B, broadcasts A) and stores straight into the output.
//
// Packed weights (A): panels of SM_MR output channels, each panel K x SM_MR (k-major), zero rows past O:
//   packed[(panel * K + k) * SM_MR + r] = w[panel * SM_MR + r][k]
// B: a block of SM_KC x SM_NC in the workspace. For 1x1 stride-1 unpadded convolutions, a copy of the input rows,
// tile-major so that each micro-kernel reads one sequential stream (reading the planes in place strides by the plane
// and misses the TLB; measured 10-20% slower): tile j (pixels [j * NR, j * NR + NR)) holds kc rows of NR floats,
//   B[(j * kc + k) * NR + (p - j * NR)] = input(k, p).
// Otherwise built by im2col row by row with a padded leading dimension (ldb_for): writing whole rows is faster than
// scattering them into tiles (measured 2-13% on the stride-2 and 7x7 layers).
//
// Loop nest (BLIS order): pixel blocks (at most SM_NC, equal sizes) > k blocks (SM_KC, im2col once per block) > channel blocks (SM_MC) >
// pixel tiles (SM_NR, B micro-panel stays in L1) > channel panels (SM_MR, A streams from L2) > micro-kernel.
// The first k block adds bias and residual (so residual may alias output), the last applies ReLU.
//
// The including file defines SM_VL, SM_MR, SM_NV, SM_KC, SM_NC, SM_MC, SM_FN(name), and before inclusion:
//   static void SM_FN(tile)(int32_t nv, int32_t last_lanes, int32_t kc, const float *a, const float *b,
//                           ptrdiff_t ldb, float *c, ptrdiff_t ldc, const sm_tile_epilogue *e);
//   static void SM_FN(copy_strided)(float *dst, const float *src, int32_t n, int32_t stride);  // dst[i]=src[i*stride]
//   static void SM_FN(zero)(float *dst, int32_t n);

#define SM_NR (SM_NV * SM_VL)
#define SM_MC_STEP ((SM_MC / SM_MR > 0 ? SM_MC / SM_MR : 1) * SM_MR)   // channel block, whole panels

static inline size_t SM_FN(k_of)(const sm_conv2d_shape *s) {
    return (size_t)s->in_channels * (size_t)s->kernel_h * (size_t)s->kernel_w;
}

static size_t SM_FN(conv2d_packed_floats)(const sm_conv2d_shape *s) {
    size_t panels = ((size_t)s->out_channels + SM_MR - 1) / SM_MR;
    return panels * SM_MR * SM_FN(k_of)(s);
}

static void SM_FN(conv2d_pack)(const sm_conv2d_shape *s, const float *weights_oihw, float *packed) {
    const size_t K = SM_FN(k_of)(s);
    const size_t panels = ((size_t)s->out_channels + SM_MR - 1) / SM_MR;
    for (size_t p = 0; p < panels; p++) {
        float *dst = packed + p * K * SM_MR;
        for (size_t k = 0; k < K; k++) {
            for (size_t r = 0; r < SM_MR; r++) {
                size_t o = p * SM_MR + r;
                dst[k * SM_MR + r] = o < (size_t)s->out_channels ? weights_oihw[o * K + k] : 0.0f;
            }
        }
    }
}

// 1x1, stride 1, no padding, same width: B's rows are contiguous runs of the input planes.
static int SM_FN(is_direct)(const sm_conv2d_shape *s) {
    if (s->kernel_h != 1 || s->kernel_w != 1 || s->stride_h != 1 || s->stride_w != 1) return 0;
    if (s->pad_top != 0 || s->pad_left != 0) return 0;
    return s->out_width == s->in_width && s->out_height <= s->in_height;
}

// A leading dimension (im2col blocks, Winograd's transformed blocks): a whole number of 64-byte lines, and an odd
// number of them so that rows spread over all cache sets.
static inline size_t SM_FN(ldb_for)(size_t nc) {
    size_t lines = (nc + 15) / 16;
    if (lines % 2 == 0) lines++;
    return lines * 16;
}

static inline size_t SM_FN(nc_for)(size_t pixels) { return pixels < SM_NC ? pixels : SM_NC; }

static size_t SM_FN(conv2d_workspace_bytes)(const sm_conv2d_shape *s, int32_t rows) {
    if (rows <= 0) return 0;
    size_t K = SM_FN(k_of)(s);
    size_t kc = K < SM_KC ? K : SM_KC;
    size_t nc = SM_FN(nc_for)((size_t)rows * (size_t)s->out_width);
    // The 1x1 block is tile-major (whole tiles), the im2col block rows of ldb_for(nc).
    const size_t ld = SM_FN(is_direct)(s) ? (nc + SM_NR - 1) / SM_NR * SM_NR : SM_FN(ldb_for)(nc);
    return kc * ld * sizeof(float);
}

// The 1x1 B block: rows [k0, k0 + kc) of the input planes (plane floats apart), pixels [p0, p0 + nc), tile-major.
static void SM_FN(pack_rows)(const float *input, size_t plane, size_t k0, size_t kc, size_t p0, size_t nc, float *dst) {
    for (size_t jr = 0; jr < nc; jr += SM_NR) {
        const int32_t n = (int32_t)(nc - jr < SM_NR ? nc - jr : SM_NR);
        float *tile = dst + jr * kc;
        for (size_t kk = 0; kk < kc; kk++)
            SM_FN(copy_strided)(tile + kk * SM_NR, input + (k0 + kk) * plane + p0 + jr, n, 1);
    }
}

// im2col of k in [k0, k0+kc) and pixels [p0, p0+nc) of the row range starting at row_begin into dst (ld = ldb).
static void SM_FN(im2col)(const sm_conv2d_shape *s, const float *input, int32_t row_begin, size_t p0, size_t nc,
                          size_t k0, size_t kc, float *dst, size_t ldb) {
    const int32_t H = s->in_height, W = s->in_width, OW = s->out_width;
    const int32_t KH = s->kernel_h, KW = s->kernel_w, sh = s->stride_h, sw = s->stride_w;
    const int32_t first_oy = row_begin + (int32_t)(p0 / (size_t)OW), first_ox = (int32_t)(p0 % (size_t)OW);
    for (size_t kk = 0; kk < kc; kk++) {
        const size_t k = k0 + kk;
        const int32_t c = (int32_t)(k / (size_t)(KH * KW));
        const int32_t rem = (int32_t)(k % (size_t)(KH * KW));
        const int32_t ky = rem / KW, kx = rem % KW;
        const int32_t off_x = kx * s->dilation_w - s->pad_left;   // ix = ox * sw + off_x
        const int32_t off_y = ky * s->dilation_h - s->pad_top;    // iy = oy * sh + off_y
        // Output columns whose input column is inside [0, W).
        int32_t ox_lo = off_x >= 0 ? 0 : sm_ceil_div(-off_x, sw);
        int32_t ox_hi = W - 1 - off_x < 0 ? 0 : sm_floor_div(W - 1 - off_x, sw) + 1;
        if (ox_hi > OW) ox_hi = OW;
        if (ox_lo > ox_hi) ox_lo = ox_hi;
        const float *plane = input + (size_t)c * H * W;
        float *row = dst + kk * ldb;
        size_t p = 0;
        int32_t oy = first_oy, ox = first_ox;
        while (p < nc) {
            int32_t seg = OW - ox;
            if ((size_t)seg > nc - p) seg = (int32_t)(nc - p);
            const int32_t iy = oy * sh + off_y;
            float *d = row + p;
            if (iy < 0 || iy >= H) {
                SM_FN(zero)(d, seg);
            } else {
                int32_t a = ox > ox_lo ? ox : ox_lo;
                int32_t b = ox + seg < ox_hi ? ox + seg : ox_hi;
                if (a >= b) {
                    SM_FN(zero)(d, seg);
                } else {
                    if (a > ox) SM_FN(zero)(d, a - ox);
                    SM_FN(copy_strided)(d + (a - ox), plane + (size_t)iy * W + (a * sw + off_x), b - a, sw);
                    if (ox + seg > b) SM_FN(zero)(d + (b - ox), ox + seg - b);
                }
            }
            p += (size_t)seg;
            oy++;
            ox = 0;
        }
    }
}

static void SM_FN(conv2d)(const sm_conv2d_shape *s, const float *input, const float *packed,
                          const sm_conv2d_epilogue *epilogue, float *output, int32_t row_begin, int32_t row_end,
                          void *workspace) {
    if (row_end <= row_begin || s->out_channels <= 0 || s->out_width <= 0) return;
    const size_t K = SM_FN(k_of)(s);
    const size_t O = (size_t)s->out_channels;
    const size_t o_padded = (O + SM_MR - 1) / SM_MR * SM_MR;
    const size_t ldc = (size_t)s->out_height * (size_t)s->out_width;   // channel plane stride of the output
    const size_t P = (size_t)(row_end - row_begin) * (size_t)s->out_width;
    const size_t pixel0 = (size_t)row_begin * (size_t)s->out_width;
    float *out0 = output + pixel0;
    const float *bias = epilogue ? epilogue->bias : NULL;
    const float *residual0 = (epilogue && epilogue->residual) ? epilogue->residual + pixel0 : NULL;
    const int32_t relu = epilogue ? epilogue->relu : 0;

    if (K == 0) {   // no input channels: out = act(bias + residual)
        for (size_t o = 0; o < O; o++) {
            for (size_t p = 0; p < P; p++) {
                float v = (bias ? bias[o] : 0.0f) + (residual0 ? residual0[o * ldc + p] : 0.0f);
                out0[o * ldc + p] = (relu && v < 0.0f) ? 0.0f : v;
            }
        }
        return;
    }

    const int direct = SM_FN(is_direct)(s);
    const size_t in_plane = (size_t)s->in_height * (size_t)s->in_width;
    const size_t nc_max = SM_FN(nc_for)(P);
    float *ws = (float *)workspace;
    const size_t nc_step = sm_equal_block(P, nc_max, SM_VL);   // pixel blocks of equal size, whole vectors

    for (size_t jc = 0; jc < P; jc += nc_step) {
        const size_t nc = P - jc < nc_step ? P - jc : nc_step;
        for (size_t pc = 0; pc < K; pc += SM_KC) {
            const size_t kc = K - pc < SM_KC ? K - pc : SM_KC;
            const size_t ws_ld = SM_FN(ldb_for)(nc);
            if (direct) SM_FN(pack_rows)(input, in_plane, pc, kc, pixel0 + jc, nc, ws);
            else SM_FN(im2col)(s, input, row_begin, jc, nc, pc, kc, ws, ws_ld);
            sm_tile_epilogue e;
            e.relu = relu;
            e.first = pc == 0;
            e.last = pc + kc == K;
            e.stream_a = 0;
            for (size_t ic = 0; ic < o_padded; ic += SM_MC_STEP) {
                const size_t mc = o_padded - ic < SM_MC_STEP ? o_padded - ic : SM_MC_STEP;
                for (size_t jr = 0; jr < nc; jr += SM_NR) {
                    const size_t nr = nc - jr < SM_NR ? nc - jr : SM_NR;
                    const int32_t nv = (int32_t)((nr + SM_VL - 1) / SM_VL);
                    const int32_t last_lanes = (int32_t)(nr - (size_t)(nv - 1) * SM_VL);
                    for (size_t ir = ic; ir < ic + mc; ir += SM_MR) {
                        const float *a = packed + ir * K + pc * SM_MR;   // panel ir / MR, row pc
                        float *c = out0 + ir * ldc + jc + jr;
                        e.rows = O - ir < SM_MR ? (int32_t)(O - ir) : SM_MR;
                        e.bias = bias ? bias + ir : NULL;
                        e.residual = residual0 ? residual0 + ir * ldc + jc + jr : NULL;
                        const float *b = direct ? ws + jr * kc : ws + jr;   // tile-major or rows
                        SM_FN(tile)
                        (nv, last_lanes, (int32_t)kc, a, b, direct ? SM_NR : (ptrdiff_t)ws_ld, c, (ptrdiff_t)ldc, &e);
                    }
                }
            }
        }
    }
}

#undef SM_NR
#undef SM_MC_STEP

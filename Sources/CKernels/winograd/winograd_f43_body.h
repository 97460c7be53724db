// winograd_f43_body.h — Winograd F(4x4, 3x3) for the SIMD tiers, written once over a thin vector layer and included
// by each tier's convolution file inside its `#pragma clang attribute push(target(...))` region, after
// ../x86/conv_gemm_driver.h (whose SM_FN(tile) micro-kernel does the 36 GEMMs and whose SM_FN(ldb_for) pads leading
// dimensions). Geometry and the weight transform: winograd_internal.h.
//
// The including file defines SM_FN(name), SM_VL, SM_MR, SM_NV, SM_KC and the vector layer:
//   sm_vf                      a vector of SM_VL floats
//   SM_VF_LOAD(p) / SM_VF_STORE(p, v)   unaligned load / store of SM_VL floats
//   SM_VF_ADD(a, b), SM_VF_SUB(a, b), SM_VF_MAX(a, b), SM_VF_FMADD(a, b, c) = a * b + c, SM_VF_SET1(x)
//   SM_VF_DEINTERLEAVE4(src, q0, q1, q2, q3)   q_j[t] = src[4t + j] for t < SM_VL (reads 4 SM_VL floats)
//   SM_VF_INTERLEAVE4(a, b, c, d, dst)         dst[4t + j] = (a, b, c, d)_j[t] (writes 4 SM_VL floats)
//
// Per chunk of tiles (all the tiles of the row range when the buffers fit, so the 36 transformed weight matrices,
// 4x the size of the weights, stream from memory once):
//   1. gather each channel's 6x6 patches into P[36][tiles] (zero outside the input), transform to V[xi][c][tiles];
//   2. M[xi] (O x tiles) = U[xi] (O x C, packed in SM_MR-row panels) * V[xi] with the tier's GEMM micro-kernel;
//   3. Y = A^T M A + bias per output channel, then residual and ReLU while scattering into the output planes.
// Vectors run along tiles, so planar CHW activations need no relayout. V is [xi][c][tiles] and M [xi][o][tiles]: the
// GEMM's rows are then ld apart (an odd number of cache lines: rows spread over every cache set, and a page holds
// many rows, so the micro-kernel's k loop stays within a few TLB entries); each xi block is padded by one cache line
// so that the transforms' 36 rows of one channel, a block apart, never share a cache set the way 4 KiB multiples do.

// Transformed weights: packed[((xi * panels + p) * C + c) * SM_MR + r] = U[xi][p * SM_MR + r][c] (0 past O).
static size_t SM_FN(wino_packed_floats)(const sm_conv2d_shape *s) {
    const size_t panels = ((size_t)s->out_channels + SM_MR - 1) / SM_MR;
    return (size_t)SM_WINO_XI * panels * SM_MR * (size_t)s->in_channels;
}

static void SM_FN(wino_pack)(const sm_conv2d_shape *s, const float *weights_oihw, float *packed) {
    const size_t O = (size_t)s->out_channels, C = (size_t)s->in_channels;
    const size_t panels = (O + SM_MR - 1) / SM_MR, xi_stride = panels * C * SM_MR;
    // Panel by panel, channel by channel: the 36 destinations advance together in runs of MR floats, so the writes
    // stream instead of striding over the whole (4x larger than the weights) buffer.
    for (size_t p = 0; p < panels; p++) {
        for (size_t c = 0; c < C; c++) {
            float *dst = packed + (p * C + c) * SM_MR;
            for (size_t r = 0; r < SM_MR; r++) {
                const size_t o = p * SM_MR + r;
                float u[SM_WINO_XI];
                if (o < O) sm_winograd_f43_transform_one(weights_oihw + (o * C + c) * 9, u);
                else memset(u, 0, sizeof u);
                for (size_t xi = 0; xi < SM_WINO_XI; xi++) dst[xi * xi_stride + r] = u[xi];
            }
        }
    }
}

// Tiles per chunk: all of them while V and M stay within a budget that keeps them in the outer caches.
static int32_t SM_FN(wino_chunk)(const sm_conv2d_shape *s, int32_t tiles) {
    const size_t o_padded = ((size_t)s->out_channels + SM_MR - 1) / SM_MR * SM_MR;
    const size_t per_tile = (size_t)SM_WINO_XI * ((size_t)s->in_channels + o_padded) * sizeof(float);
    size_t limit = ((size_t)24 << 20) / per_tile;
    if (limit < 3 * SM_VL) limit = 3 * SM_VL;
    if (limit > SM_WINO_MAX_CHUNK) limit = SM_WINO_MAX_CHUNK;
    return (size_t)tiles < limit ? tiles : (int32_t)limit;
}

// Floats of the staging row a segment of `tiles` tiles reads (its 4 t + 2 columns, rounded up for whole vectors).
static inline size_t SM_FN(wino_stage_floats)(size_t tiles) {
    return SM_WINO_TILE * ((tiles + SM_VL - 1) / SM_VL * SM_VL) + 4 * SM_VL + SM_VL;
}

// Floats per xi block of V (channels = C) or M (channels = O_padded): channels x ld, plus one cache line.
static inline size_t SM_FN(wino_block)(size_t channels, size_t ld) { return channels * ld + 16; }

// Leading dimension of P and Y: room for a whole vector past the chunk's last tile (segments write whole vectors).
static inline size_t SM_FN(wino_ldp)(size_t chunk) { return (chunk + SM_VL + 15) / 16 * 16; }

// Workspace: the tile list, then P (36 x ldp), Y (16 x ldp), the staging row, V (36 blocks of C x ld),
// M (36 blocks of O_padded x ld), 64-byte aligned.
static size_t SM_FN(wino_workspace_bytes)(const sm_conv2d_shape *s, int32_t rows) {
    if (rows <= 0) return 0;
    const int32_t tiles = sm_wino_max_tiles(s, rows);
    const size_t chunk = (size_t)SM_FN(wino_chunk)(s, tiles);
    const size_t ld = SM_FN(ldb_for)(chunk), ldp = SM_FN(wino_ldp)(chunk);
    const size_t o_padded = ((size_t)s->out_channels + SM_MR - 1) / SM_MR * SM_MR;
    const size_t list = sm_wino_list_bytes(s, rows);
    const size_t floats =
        ldp * (SM_WINO_XI + 16) + SM_FN(wino_stage_floats)(chunk) +
        SM_WINO_XI * (SM_FN(wino_block)((size_t)s->in_channels, ld) + SM_FN(wino_block)(o_padded, ld));
    return list + floats * sizeof(float);
}

// 1-D B^T on six vectors (the rows of B^T: see winograd_reference.c).
#define SM_WINO_BT(x0, x1, x2, x3, x4, x5, y0, y1, y2, y3, y4, y5)                                         \
    do {                                                                                                   \
        const sm_vf t0_ = SM_VF_FMADD(m4, x2, x4), t1_ = SM_VF_FMADD(m4, x1, x3); /* x4 - 4x2, x3 - 4x1 */ \
        const sm_vf t2_ = SM_VF_SUB(x4, x2), t3_ = SM_VF_ADD(SM_VF_SUB(x3, x1), SM_VF_SUB(x3, x1));        \
        y0 = SM_VF_FMADD(p4, x0, SM_VF_FMADD(m5, x2, x4));                                                 \
        y1 = SM_VF_ADD(t0_, t1_);                                                                          \
        y2 = SM_VF_SUB(t0_, t1_);                                                                          \
        y3 = SM_VF_ADD(t2_, t3_);                                                                          \
        y4 = SM_VF_SUB(t2_, t3_);                                                                          \
        y5 = SM_VF_FMADD(p4, x1, SM_VF_FMADD(m5, x3, x5));                                                 \
    } while (0)

// 1-D A^T on six vectors.
#define SM_WINO_AT(x0, x1, x2, x3, x4, x5, y0, y1, y2, y3)          \
    do {                                                            \
        const sm_vf a_ = SM_VF_ADD(x1, x2), b_ = SM_VF_SUB(x1, x2); \
        const sm_vf c_ = SM_VF_ADD(x3, x4), e_ = SM_VF_SUB(x3, x4); \
        y0 = SM_VF_ADD(SM_VF_ADD(x0, a_), c_);                      \
        y1 = SM_VF_FMADD(p2, e_, b_);                               \
        y2 = SM_VF_FMADD(p4, c_, a_);                               \
        y3 = SM_VF_ADD(SM_VF_FMADD(p8, e_, b_), x5);                \
    } while (0)

// V[xi][t..t+VL) = B^T P B for one channel; P rows are `ld` apart, V rows vstride apart.
static inline void SM_FN(wino_input_vec)(const float *p, size_t ld, float *v, size_t vstride) {
    const sm_vf m4 = SM_VF_SET1(-4.0f), m5 = SM_VF_SET1(-5.0f), p4 = SM_VF_SET1(4.0f);
    sm_vf r[SM_WINO_ALPHA][SM_WINO_ALPHA];   // r[row][column] = (d B)[row][column]
    for (int i = 0; i < SM_WINO_ALPHA; i++) {
        const float *row = p + (size_t)i * SM_WINO_ALPHA * ld;
        const sm_vf x0 = SM_VF_LOAD(row), x1 = SM_VF_LOAD(row + ld), x2 = SM_VF_LOAD(row + 2 * ld);
        const sm_vf x3 = SM_VF_LOAD(row + 3 * ld), x4 = SM_VF_LOAD(row + 4 * ld), x5 = SM_VF_LOAD(row + 5 * ld);
        SM_WINO_BT(x0, x1, x2, x3, x4, x5, r[i][0], r[i][1], r[i][2], r[i][3], r[i][4], r[i][5]);
    }
    for (int j = 0; j < SM_WINO_ALPHA; j++) {
        sm_vf y0, y1, y2, y3, y4, y5;
        SM_WINO_BT(r[0][j], r[1][j], r[2][j], r[3][j], r[4][j], r[5][j], y0, y1, y2, y3, y4, y5);
        SM_VF_STORE(v + (size_t)(0 * SM_WINO_ALPHA + j) * vstride, y0);
        SM_VF_STORE(v + (size_t)(1 * SM_WINO_ALPHA + j) * vstride, y1);
        SM_VF_STORE(v + (size_t)(2 * SM_WINO_ALPHA + j) * vstride, y2);
        SM_VF_STORE(v + (size_t)(3 * SM_WINO_ALPHA + j) * vstride, y3);
        SM_VF_STORE(v + (size_t)(4 * SM_WINO_ALPHA + j) * vstride, y4);
        SM_VF_STORE(v + (size_t)(5 * SM_WINO_ALPHA + j) * vstride, y5);
    }
}

// Y[i*4+j][t..t+VL) = (A^T M A)[i][j] + bias; M rows (xi) are mstride apart, Y rows ld apart.
static inline void SM_FN(wino_output_vec)(const float *m, size_t mstride, float bias, float *y, size_t ld) {
    const sm_vf p2 = SM_VF_SET1(2.0f), p4 = SM_VF_SET1(4.0f), p8 = SM_VF_SET1(8.0f), b = SM_VF_SET1(bias);
    sm_vf r[SM_WINO_ALPHA][SM_WINO_TILE];   // (M A)[row][j]
    for (int i = 0; i < SM_WINO_ALPHA; i++) {
        const float *row = m + (size_t)i * SM_WINO_ALPHA * mstride;
        const sm_vf x0 = SM_VF_LOAD(row), x1 = SM_VF_LOAD(row + mstride), x2 = SM_VF_LOAD(row + 2 * mstride);
        const sm_vf x3 = SM_VF_LOAD(row + 3 * mstride), x4 = SM_VF_LOAD(row + 4 * mstride);
        const sm_vf x5 = SM_VF_LOAD(row + 5 * mstride);
        SM_WINO_AT(x0, x1, x2, x3, x4, x5, r[i][0], r[i][1], r[i][2], r[i][3]);
    }
    for (int j = 0; j < SM_WINO_TILE; j++) {
        sm_vf y0, y1, y2, y3;
        SM_WINO_AT(r[0][j], r[1][j], r[2][j], r[3][j], r[4][j], r[5][j], y0, y1, y2, y3);
        SM_VF_STORE(y + (size_t)(0 * SM_WINO_TILE + j) * ld, SM_VF_ADD(y0, b));
        SM_VF_STORE(y + (size_t)(1 * SM_WINO_TILE + j) * ld, SM_VF_ADD(y1, b));
        SM_VF_STORE(y + (size_t)(2 * SM_WINO_TILE + j) * ld, SM_VF_ADD(y2, b));
        SM_VF_STORE(y + (size_t)(3 * SM_WINO_TILE + j) * ld, SM_VF_ADD(y3, b));
    }
}

// A segment: consecutive tiles of one tile row of one sub-grid (same oy and rows, columns 4 apart on the sub-grid).
typedef struct SM_FN(wino_segment) {
    int32_t first, count;   // chunk tiles [first, first + count)
    int32_t columns;        // output columns they cover on the sub-grid
} SM_FN(wino_segment);

static inline SM_FN(wino_segment)
    SM_FN(wino_next_segment)(const sm_wino_tile *ct, int32_t n, int32_t first, int32_t dw) {
    int32_t end = first + 1;
    while (end < n && ct[end].oy == ct[first].oy && ct[end].ox == ct[end - 1].ox + SM_WINO_TILE * dw) end++;
    SM_FN(wino_segment) seg = {first, end - first, SM_WINO_TILE * (end - first - 1) + ct[end - 1].cols};
    return seg;
}

// P[r*6+q][first + t] = input patch of the segment's tile t at (r, q), zero outside the input. Each of the 6 input
// rows is staged once (zero-padded, dilation removed) and split into the six phases 4t + q with vector shuffles.
static void SM_FN(wino_gather)(const sm_conv2d_shape *s, const float *plane, const sm_wino_tile *ct,
                               SM_FN(wino_segment) seg, float *p, size_t ldp, float *stage) {
    const int32_t H = s->in_height, W = s->in_width, dh = s->dilation_h, dw = s->dilation_w;
    const sm_wino_tile *t0 = ct + seg.first;
    const int32_t ix0 = t0->ox - s->pad_left;
    const int32_t span = SM_WINO_TILE * seg.count + 2;   // staged columns k: input column ix0 + dw*k
    const int32_t total = (int32_t)SM_FN(wino_stage_floats)((size_t)seg.count);
    // Columns k whose input column is inside [0, W): [k_lo, k_hi).
    int32_t k_lo = ix0 >= 0 ? 0 : sm_ceil_div(-ix0, dw);
    int32_t k_hi = W - 1 - ix0 < 0 ? 0 : sm_floor_div(W - 1 - ix0, dw) + 1;
    if (k_hi > span) k_hi = span;
    if (k_lo > k_hi) k_lo = k_hi;
    for (int r = 0; r < SM_WINO_ALPHA; r++) {
        const int32_t iy = t0->oy - s->pad_top + dh * r;
        if (iy < 0 || iy >= H || k_lo == k_hi) {
            SM_FN(zero)(stage, total);
        } else {
            if (k_lo > 0) SM_FN(zero)(stage, k_lo);
            SM_FN(copy_strided)(stage + k_lo, plane + (size_t)iy * W + (ix0 + dw * k_lo), k_hi - k_lo, dw);
            SM_FN(zero)(stage + k_hi, total - k_hi);
        }
        float *row = p + (size_t)r * SM_WINO_ALPHA * ldp + seg.first;
        for (int32_t g = 0; g < seg.count; g += SM_VL) {
            sm_vf q0, q1, q2, q3, q4, q5, unused2, unused3;
            SM_VF_DEINTERLEAVE4(stage + SM_WINO_TILE * g, q0, q1, q2, q3);
            SM_VF_DEINTERLEAVE4(stage + SM_WINO_TILE * g + SM_WINO_TILE, q4, q5, unused2, unused3);
            (void)unused2;
            (void)unused3;
            SM_VF_STORE(row + g, q0);
            SM_VF_STORE(row + ldp + g, q1);
            SM_VF_STORE(row + 2 * ldp + g, q2);
            SM_VF_STORE(row + 3 * ldp + g, q3);
            SM_VF_STORE(row + 4 * ldp + g, q4);
            SM_VF_STORE(row + 5 * ldp + g, q5);
        }
    }
}

// Writes one output channel's rows of a segment from Y (16 x ldp, this channel's A^T M A + bias): interleaves the
// four columns of each tile row back into pixel order, adds the residual, applies ReLU.
static void SM_FN(wino_scatter)(const sm_conv2d_shape *s, const sm_wino_tile *ct, SM_FN(wino_segment) seg,
                                const float *y, size_t ldp, float *stage, float *out_plane, const float *res_plane,
                                int32_t relu) {
    const int32_t OW = s->out_width, dh = s->dilation_h, dw = s->dilation_w;
    const sm_wino_tile *t0 = ct + seg.first;
    const sm_vf zero = SM_VF_SET1(0.0f);
    for (int32_t i = t0->row_lo; i < t0->row_hi; i++) {
        const float *yi = y + (size_t)(i * SM_WINO_TILE) * ldp + seg.first;
        for (int32_t g = 0; g < seg.count; g += SM_VL)
            SM_VF_INTERLEAVE4(SM_VF_LOAD(yi + g), SM_VF_LOAD(yi + ldp + g), SM_VF_LOAD(yi + 2 * ldp + g),
                              SM_VF_LOAD(yi + 3 * ldp + g), stage + SM_WINO_TILE * g);
        const size_t row = (size_t)(t0->oy + dh * i) * OW + t0->ox;
        float *dst = out_plane + row;
        const float *res = res_plane ? res_plane + row : NULL;
        if (dw == 1) {
            int32_t k = 0;
            for (; k + SM_VL <= seg.columns; k += SM_VL) {
                sm_vf v = SM_VF_LOAD(stage + k);
                if (res) v = SM_VF_ADD(v, SM_VF_LOAD(res + k));
                if (relu) v = SM_VF_MAX(v, zero);
                SM_VF_STORE(dst + k, v);
            }
            for (; k < seg.columns; k++) {
                float v = stage[k] + (res ? res[k] : 0.0f);
                dst[k] = (relu && v < 0.0f) ? 0.0f : v;
            }
        } else {
            for (int32_t k = 0; k < seg.columns; k++) {
                float v = stage[k] + (res ? res[(size_t)k * dw] : 0.0f);
                dst[(size_t)k * dw] = (relu && v < 0.0f) ? 0.0f : v;
            }
        }
    }
}

static void SM_FN(wino_run)(const sm_conv2d_shape *s, const float *input, const float *packed,
                            const sm_conv2d_epilogue *epilogue, float *output, int32_t row_begin, int32_t row_end,
                            void *workspace) {
    if (row_end <= row_begin) return;
    const int32_t C = s->in_channels, O = s->out_channels, OH = s->out_height, OW = s->out_width;
    const int32_t dw = s->dilation_w;
    const size_t panels = ((size_t)O + SM_MR - 1) / SM_MR;
    const size_t plane = (size_t)s->in_height * (size_t)s->in_width;
    const float *bias = epilogue ? epilogue->bias : NULL;
    const float *residual = epilogue ? epilogue->residual : NULL;
    const int32_t relu = epilogue ? epilogue->relu : 0;
    // The output channels of this call (a channel split between threads): whole weight panels.
    int32_t o_begin = 0, o_end = O;
    if (epilogue && epilogue->channel_end > 0) {
        o_begin = epilogue->channel_begin < 0 ? 0 : epilogue->channel_begin;
        o_end = epilogue->channel_end < O ? epilogue->channel_end : O;
        if (o_begin >= o_end) return;
    }
    const size_t p_begin = (size_t)o_begin / SM_MR, p_end = ((size_t)o_end + SM_MR - 1) / SM_MR;
    // Transformed weights larger than the L2 stream from memory once per chunk: the micro-kernel prefetches them.
    const int32_t stream_a =
        (p_end - p_begin) * SM_MR * (size_t)C * SM_WINO_XI * sizeof(float) > 2 * sm_l2_block_budget((size_t)512 << 10);

    sm_wino_tile *tiles = (sm_wino_tile *)workspace;
    const int32_t n_tiles = sm_wino_tiles(s, row_begin, row_end, tiles);
    const int32_t chunk = SM_FN(wino_chunk)(s, n_tiles);
    const size_t ld = SM_FN(ldb_for)((size_t)chunk), ldp = SM_FN(wino_ldp)((size_t)chunk);
    float *P = (float *)((char *)workspace + sm_wino_list_bytes(s, row_end - row_begin));
    float *Y = P + (size_t)SM_WINO_XI * ldp;
    float *stage = Y + 16 * ldp;
    float *V = stage + SM_FN(wino_stage_floats)((size_t)chunk);
    const size_t vblock = SM_FN(wino_block)((size_t)C, ld), mblock = SM_FN(wino_block)(panels * SM_MR, ld);
    float *M = V + SM_WINO_XI * vblock;

    for (int32_t t0 = 0; t0 < n_tiles; t0 += chunk) {
        const int32_t n = n_tiles - t0 < chunk ? n_tiles - t0 : chunk;
        const sm_wino_tile *ct = tiles + t0;
        // The chunk's segments, found once for every input and output channel.
        SM_FN(wino_segment) segs[SM_WINO_MAX_CHUNK];
        int32_t n_segs = 0;
        for (int32_t first = 0; first < n;) {
            segs[n_segs] = SM_FN(wino_next_segment)(ct, n, first, dw);
            first += segs[n_segs].count;
            n_segs++;
        }

        // 1. input transform, channel by channel (lanes past n hold garbage that no later step stores)
        for (int32_t c = 0; c < C; c++) {
            for (int32_t g = 0; g < n_segs; g++)
                SM_FN(wino_gather)(s, input + (size_t)c * plane, ct, segs[g], P, ldp, stage);
            for (int32_t t = 0; t < n; t += SM_VL) SM_FN(wino_input_vec)(P + t, ldp, V + (size_t)c * ld + t, vblock);
        }

        // 2. the 36 GEMMs, k blocked like the direct convolution's. One weight panel at a time, all its k blocks:
        // the packed weights (4x the direct convolution's) then stream from memory strictly in order, and the
        // panel's kc x MR block stays in L1 across the tiles while V's kc x n block stays in L2.
        // Micro-tile widths: as few as the widest tile allows, balanced (64 tiles: 32 + 32, not 48 + 16).
        const int32_t widest = SM_NV * SM_VL, parts = (n + widest - 1) / widest;
        const int32_t width = ((n + parts - 1) / parts + SM_VL - 1) / SM_VL * SM_VL;
        for (size_t xi = 0; xi < SM_WINO_XI; xi++) {
            for (size_t p = p_begin; p < p_end; p++) {
                sm_tile_epilogue e;
                e.bias = NULL;
                e.residual = NULL;
                e.relu = 0;
                e.stream_a = stream_a;
                e.rows = (size_t)O - p * SM_MR < SM_MR ? (int32_t)((size_t)O - p * SM_MR) : SM_MR;
                for (int32_t pc = 0; pc < C; pc += SM_KC) {
                    const int32_t kc = C - pc < SM_KC ? C - pc : SM_KC;
                    const float *a = packed + ((xi * panels + p) * (size_t)C + (size_t)pc) * SM_MR;
                    e.first = pc == 0;
                    e.last = pc + kc == C;
                    for (int32_t jr = 0; jr < n; jr += width) {
                        const int32_t nr = n - jr < width ? n - jr : width;
                        const int32_t nv = (nr + SM_VL - 1) / SM_VL;
                        const int32_t last_lanes = nr - (nv - 1) * SM_VL;
                        const float *b = V + xi * vblock + (size_t)pc * ld + (size_t)jr;
                        float *cm = M + xi * mblock + p * SM_MR * ld + (size_t)jr;
                        SM_FN(tile)(nv, last_lanes, kc, a, b, (ptrdiff_t)ld, cm, (ptrdiff_t)ld, &e);
                    }
                }
            }
        }

        // 3. output transform and epilogue, channel by channel
        for (int32_t o = o_begin; o < o_end; o++) {
            const float bo = bias ? bias[o] : 0.0f;
            for (int32_t t = 0; t < n; t += SM_VL)
                SM_FN(wino_output_vec)(M + (size_t)o * ld + t, mblock, bo, Y + t, ldp);
            float *out_plane = output + (size_t)o * OH * OW;
            const float *res_plane = residual ? residual + (size_t)o * OH * OW : NULL;
            for (int32_t g = 0; g < n_segs; g++)
                SM_FN(wino_scatter)(s, ct, segs[g], Y, ldp, stage, out_plane, res_plane, relu);
        }
    }
}

#undef SM_WINO_BT
#undef SM_WINO_AT

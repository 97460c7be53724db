// int8_winograd23_x86.h — 3x3 stride-1 int8 convolutions as Winograd F(2x2, 3x3) in exact integer arithmetic, for
// the x86 paths whose dot product is int16 x int16 (AVX2's vpmaddwd): 16 products per 2x2 outputs instead of 36.
// Included by the tier after its int16 micro-kernel (int8_micro_x86.h instantiated with SM_I8_FN = the prefix below
// and SM_I8_FINISH storing the raw int32 sums into sm_i8_ep.out_i32).
//
// Exactness. With G' = 2G = [[2,0,0],[1,1,1],[1,-1,1],[0,0,2]], U = G' g G'^T is an integer matrix (|U| <= 9 * 127 =
// 1143) and equals 4 G g G^T; V = B^T d B of the raw uint8 patch d (padding = the zero point, as in the direct path)
// is an integer matrix (|V| <= 4 * 255 = 1020); both fit int16, and each int32 sum over C <= 1024 channels of U * V
// stays below 2^31. A^T (U . V) A = 4 * S, where S = sum_k qw * qx is the direct path's raw sum; its int32
// intermediates may wrap, but 4 * S itself fits int32 (C <= 1024), so two's-complement wrapping arithmetic gives it
// exactly and an arithmetic shift by 2 gives S. The epilogue is then the common one (sm_i8_y_finish): the bytes are
// the reference's, bit for bit, as siam_int8.h requires.
//
// Geometry. A dilated 3x3 is a plain 3x3 on each of the dh x dw interleaved sub-grids. A tile is 2x2 outputs of one
// sub-grid; a band is tile row ti of every sub-grid, which covers the 2 * dh consecutive output rows
// [2 ti dh, 2 ti dh + 2 dh) completely. A call computes the bands that meet its row range (whole tiles; only its own
// rows are stored), in chunks of bands, and per chunk:
//   1. gathers each channel's 4x4 patches (int16, tiles along a vector), transforms them to V[16][C][tiles] in the
//      micro-kernel's tile-major int16 pair layout;
//   2. per block of output channels: the 16 GEMMs M[xi] = U[xi] * V[xi] (raw int32), then A^T M A >> 2 into a
//      staging plane of the chunk's rows, then the epilogue row by row into the output.
//
// The including file defines SM_I8_FN, SM_I8_MR, SM_I8_NV, SM_I8_VL and SM_I8_G (= 2) for the int16 path (NV * VL a
// multiple of 16), SM_I8_TIER, SM_I8_BTYPE and SM_I8_FINISH_Y (the 8-lane epilogue, sm_i8_y_finish).

#define SM_W23_XI 16
#define SM_W23_NR (SM_I8_NV * SM_I8_VL)   // tiles per micro-tile
#ifndef SM_W23_OB
#define SM_W23_OB (8 * SM_I8_MR)   // output channels per block of GEMMs (M stays in L2)
#endif
#ifndef SM_W23_V_BUDGET
#define SM_W23_V_BUDGET ((size_t)1 << 20)   // bytes of V per chunk of bands
#endif

typedef struct sm_w23_tile {
    int32_t oy, ox;   // output coordinates of the tile's top-left value
} sm_w23_tile;

// Which shapes this path takes: 3x3, stride 1, at most 1024 input channels (the int32 bound above), and enough
// tiles for the transformed weights (16/9 x 2 bytes of the int8 ones) to pay; none when SIAMMASK_WINOGRAD=0.
static int SM_I8_FN(w23_applies)(const sm_conv2d_shape *s) {
    if (!sm_winograd_enabled()) return 0;
    if (s->kernel_h != 3 || s->kernel_w != 3 || s->stride_h != 1 || s->stride_w != 1) return 0;
    if (s->in_channels < 1 || s->in_channels > 1024 || s->out_channels < 1) return 0;
    if (s->dilation_h < 1 || s->dilation_w < 1 || s->out_height < 1 || s->out_width < 1) return 0;
    const int64_t rows = (s->out_height + 1) / 2, cols = (s->out_width + 1) / 2;   // tiles, ignoring sub-grids
    return rows * cols >= 8;
}

static inline size_t SM_I8_FN(w23_cp)(const sm_conv2d_shape *s) { return sm_i8_round_up((size_t)s->in_channels, 2); }

static inline size_t SM_I8_FN(w23_panels)(const sm_conv2d_shape *s) {
    return ((size_t)s->out_channels + SM_I8_MR - 1) / SM_I8_MR;
}

static size_t SM_I8_FN(w23_packed_bytes)(const sm_conv2d_shape *s) {
    return sizeof(sm_i8_packed_header) + sm_i8_terms_bytes(s->out_channels) +
           sm_i8_round_up(SM_W23_XI * SM_I8_FN(w23_panels)(s) * SM_I8_MR * SM_I8_FN(w23_cp)(s) * sizeof(int16_t), 64);
}

// U[xi][o][c] in panels of MR channels and pairs of input channels (the int16 path's A layout, K = C padded to 2):
//   A[(((xi * panels + p) * C/2 + g) * MR + r) * 2 + t] = U[xi][p * MR + r][2g + t]
static void SM_I8_FN(w23_pack)(const sm_conv2d_shape *s, const int8_t *weights, int32_t zero_point, void *packed) {
    const size_t C = (size_t)s->in_channels, O = (size_t)s->out_channels, Cp = SM_I8_FN(w23_cp)(s);
    const size_t panels = SM_I8_FN(w23_panels)(s), groups = Cp / 2;
    sm_i8_pack_header(packed, SM_I8_TIER, zero_point, zero_point, weights, s->out_channels, (int32_t)(9 * C),
                      (int32_t)Cp);
    ((sm_i8_packed_header *)packed)->variant = 2;
    int16_t *a = (int16_t *)sm_i8_weights(packed);
    memset(a, 0, SM_W23_XI * panels * SM_I8_MR * Cp * sizeof(int16_t));
    for (size_t o = 0; o < O; o++) {
        const size_t p = o / SM_I8_MR, r = o % SM_I8_MR;
        for (size_t c = 0; c < C; c++) {
            const int8_t *w = weights + (o * C + c) * 9;
            int32_t g[3][3], t[4][3];
            for (int i = 0; i < 9; i++) g[i / 3][i % 3] = sm_i8_clamp_weight(w[i]);
            for (int j = 0; j < 3; j++) {   // t = G' g
                t[0][j] = 2 * g[0][j];
                t[1][j] = g[0][j] + g[1][j] + g[2][j];
                t[2][j] = g[0][j] - g[1][j] + g[2][j];
                t[3][j] = 2 * g[2][j];
            }
            for (int i = 0; i < 4; i++) {   // U = t G'^T
                const int32_t u[4] = {2 * t[i][0], t[i][0] + t[i][1] + t[i][2], t[i][0] - t[i][1] + t[i][2],
                                      2 * t[i][2]};
                for (int j = 0; j < 4; j++) {
                    const size_t xi = (size_t)(4 * i + j);
                    a[(((xi * panels + p) * groups + c / 2) * SM_I8_MR + r) * 2 + c % 2] = (int16_t)u[j];
                }
            }
        }
    }
}

// Bands of the shape: tile rows of the sub-grid with the most rows (sub-grid row 0).
static inline int32_t SM_I8_FN(w23_bands)(const sm_conv2d_shape *s) {
    const int32_t sub_rows = (s->out_height + s->dilation_h - 1) / s->dilation_h;
    return (sub_rows + 1) / 2;
}

// Tiles of one band, at most.
static inline size_t SM_I8_FN(w23_band_tiles)(const sm_conv2d_shape *s) {
    const size_t sub_cols = (size_t)((s->out_width + s->dilation_w - 1) / s->dilation_w);
    return (size_t)s->dilation_h * (size_t)s->dilation_w * ((sub_cols + 1) / 2);
}

// Bands per chunk: V (16 x Cp x tiles int16) within about 1 MiB, at least one band.
static inline int32_t SM_I8_FN(w23_chunk_bands)(const sm_conv2d_shape *s) {
    const size_t budget_tiles = SM_W23_V_BUDGET / (SM_W23_XI * SM_I8_FN(w23_cp)(s) * sizeof(int16_t));
    const size_t n = budget_tiles / SM_I8_FN(w23_band_tiles)(s);
    return n < 1 ? 1 : (int32_t)n;
}

// Workspace: tile list, P (16 x ldt int16, two channels), V (16 x Cp x ldt int16), M (16 x OB x ldt int32),
// Y (4 x ldt int32), staging (OB x chunk rows x ldo int32), each 64-byte aligned.
typedef struct SM_I8_FN(w23_layout) {
    size_t max_tiles, ldt, ldo, rows;
    size_t tiles_at, p_at, v_at, m_at, y_at, staging_at, total;
} SM_I8_FN(w23_layout);

static SM_I8_FN(w23_layout) SM_I8_FN(w23_layout_of)(const sm_conv2d_shape *s) {
    SM_I8_FN(w23_layout) l;
    const size_t nb = (size_t)SM_I8_FN(w23_chunk_bands)(s);
    l.max_tiles = nb * SM_I8_FN(w23_band_tiles)(s);
    l.ldt = sm_i8_round_up(l.max_tiles, SM_W23_NR);
    l.ldo = sm_i8_round_up((size_t)s->out_width, 8);
    l.rows = nb * 2 * (size_t)s->dilation_h;
    size_t at = 0;
    l.tiles_at = at;
    at += sm_i8_round_up(l.max_tiles * sizeof(sm_w23_tile), 64);
    l.p_at = at;
    at += sm_i8_round_up(2 * SM_W23_XI * l.ldt * sizeof(int16_t), 64);
    l.v_at = at;
    at += sm_i8_round_up(SM_W23_XI * SM_I8_FN(w23_cp)(s) * l.ldt * sizeof(int16_t), 64);
    l.m_at = at;
    at += sm_i8_round_up(SM_W23_XI * (size_t)SM_W23_OB * l.ldt * sizeof(int32_t), 64);
    l.y_at = at;
    at += sm_i8_round_up(4 * l.ldt * sizeof(int32_t), 64);
    l.staging_at = at;
    at += sm_i8_round_up((size_t)SM_W23_OB * l.rows * l.ldo * sizeof(int32_t), 64);
    l.total = at;
    return l;
}

static size_t SM_I8_FN(w23_workspace_bytes)(const sm_conv2d_shape *s, int32_t rows) {
    if (rows <= 0) return 0;
    return SM_I8_FN(w23_layout_of)(s).total;   // per chunk, whatever the row range
}

// The tiles of bands [b0, b1): band by band, sub-grid by sub-grid, left to right.
static size_t SM_I8_FN(w23_tiles)(const sm_conv2d_shape *s, int32_t b0, int32_t b1, sm_w23_tile *tiles) {
    const int32_t dh = s->dilation_h, dw = s->dilation_w;
    size_t n = 0;
    for (int32_t b = b0; b < b1; b++)
        for (int32_t a = 0; a < dh; a++) {
            const int32_t oy = a + dh * 2 * b;
            if (oy >= s->out_height) continue;
            for (int32_t c = 0; c < dw; c++)
                for (int32_t ox = c; ox < s->out_width; ox += 2 * dw) tiles[n++] = (sm_w23_tile){oy, ox};
        }
    return n;
}

// P[r * 4 + q][t] = the raw uint8 input of channel plane at patch position (r, q) of tile t (the zero point
// outside the input).
static void SM_I8_FN(w23_gather)(const sm_conv2d_shape *s, const uint8_t *plane, int32_t zx, const sm_w23_tile *tiles,
                                 size_t n, int16_t *P, size_t ldt) {
    const int32_t H = s->in_height, W = s->in_width, dh = s->dilation_h, dw = s->dilation_w;
    for (size_t t = 0; t < n; t++) {
        const int32_t iy0 = tiles[t].oy - s->pad_top, ix0 = tiles[t].ox - s->pad_left;
        for (int32_t r = 0; r < 4; r++) {
            const int32_t iy = iy0 + dh * r;
            int16_t *dst = P + (size_t)(4 * r) * ldt + t;
            if (iy < 0 || iy >= H) {
                for (int32_t q = 0; q < 4; q++) dst[(size_t)q * ldt] = (int16_t)zx;
                continue;
            }
            const uint8_t *row = plane + (size_t)iy * W;
            if (ix0 >= 0 && ix0 + 3 * dw < W) {
                for (int32_t q = 0; q < 4; q++) dst[(size_t)q * ldt] = row[ix0 + dw * q];
            } else {
                for (int32_t q = 0; q < 4; q++) {
                    const int32_t ix = ix0 + dw * q;
                    dst[(size_t)q * ldt] = (int16_t)((ix >= 0 && ix < W) ? row[ix] : zx);
                }
            }
        }
    }
}

// B^T d B of 16 tiles (one int16 lane each) of two channels, written as 16 consecutive pairs (c, c + 1) of a
// k-group row of the micro-kernel's tile-major B, in each xi's B (xi_stride apart).
static inline void SM_I8_FN(w23_input_transform)(const int16_t *P0, const int16_t *P1, size_t ldt, int16_t *dst,
                                                 size_t xi_stride) {
    __m256i v[2][16];
    const int16_t *src[2] = {P0, P1};
    for (int h = 0; h < 2; h++) {
        __m256i e[4][4];
        for (int r = 0; r < 4; r++) {   // rows: d B
            const __m256i d0 = _mm256_loadu_si256((const __m256i *)(src[h] + (size_t)(4 * r) * ldt));
            const __m256i d1 = _mm256_loadu_si256((const __m256i *)(src[h] + (size_t)(4 * r + 1) * ldt));
            const __m256i d2 = _mm256_loadu_si256((const __m256i *)(src[h] + (size_t)(4 * r + 2) * ldt));
            const __m256i d3 = _mm256_loadu_si256((const __m256i *)(src[h] + (size_t)(4 * r + 3) * ldt));
            e[r][0] = _mm256_sub_epi16(d0, d2);
            e[r][1] = _mm256_add_epi16(d1, d2);
            e[r][2] = _mm256_sub_epi16(d2, d1);
            e[r][3] = _mm256_sub_epi16(d1, d3);
        }
        for (int j = 0; j < 4; j++) {   // columns: B^T (d B)
            v[h][0 * 4 + j] = _mm256_sub_epi16(e[0][j], e[2][j]);
            v[h][1 * 4 + j] = _mm256_add_epi16(e[1][j], e[2][j]);
            v[h][2 * 4 + j] = _mm256_sub_epi16(e[2][j], e[1][j]);
            v[h][3 * 4 + j] = _mm256_sub_epi16(e[1][j], e[3][j]);
        }
    }
    for (int xi = 0; xi < 16; xi++) {                                   // pairs (c, c + 1) of tiles 0..15, in order
        const __m256i lo = _mm256_unpacklo_epi16(v[0][xi], v[1][xi]);   // tiles 0-3, 8-11
        const __m256i hi = _mm256_unpackhi_epi16(v[0][xi], v[1][xi]);   // tiles 4-7, 12-15
        int16_t *d = dst + (size_t)xi * xi_stride;
        _mm256_storeu_si256((__m256i *)d, _mm256_permute2x128_si256(lo, hi, 0x20));
        _mm256_storeu_si256((__m256i *)(d + 16), _mm256_permute2x128_si256(lo, hi, 0x31));
    }
}

// (A^T M A) >> 2 of 8 tiles: M rows xi are mstride apart; Y[j] for output (j / 2, j % 2) of the tile.
static inline void SM_I8_FN(w23_output_transform)(const int32_t *m, size_t mstride, int32_t *y, size_t ldy) {
    __m256i f[4][2];
    for (int i = 0; i < 4; i++) {   // rows: M A
        const __m256i m0 = _mm256_loadu_si256((const __m256i *)(m + (size_t)(4 * i) * mstride));
        const __m256i m1 = _mm256_loadu_si256((const __m256i *)(m + (size_t)(4 * i + 1) * mstride));
        const __m256i m2 = _mm256_loadu_si256((const __m256i *)(m + (size_t)(4 * i + 2) * mstride));
        const __m256i m3 = _mm256_loadu_si256((const __m256i *)(m + (size_t)(4 * i + 3) * mstride));
        f[i][0] = _mm256_add_epi32(_mm256_add_epi32(m0, m1), m2);
        f[i][1] = _mm256_sub_epi32(_mm256_sub_epi32(m1, m2), m3);
    }
    for (int j = 0; j < 2; j++) {   // columns: A^T (M A), wrapping int32, then the exact division by 4
        const __m256i y0 = _mm256_add_epi32(_mm256_add_epi32(f[0][j], f[1][j]), f[2][j]);
        const __m256i y1 = _mm256_sub_epi32(_mm256_sub_epi32(f[1][j], f[2][j]), f[3][j]);
        _mm256_storeu_si256((__m256i *)(y + (size_t)j * ldy), _mm256_srai_epi32(y0, 2));
        _mm256_storeu_si256((__m256i *)(y + (size_t)(2 + j) * ldy), _mm256_srai_epi32(y1, 2));
    }
}

static void SM_I8_FN(w23_conv)(const sm_conv2d_shape *s, const uint8_t *input, const void *packed,
                               const sm_int8_epilogue *epilogue, void *output, int32_t row_begin, int32_t row_end,
                               void *workspace) {
    const int32_t OH = s->out_height, OW = s->out_width, dh = s->dilation_h, dw = s->dilation_w;
    if (row_begin < 0) row_begin = 0;
    if (row_end > OH) row_end = OH;
    if (row_end <= row_begin) return;
    const size_t C = (size_t)s->in_channels, O = (size_t)s->out_channels, Cp = SM_I8_FN(w23_cp)(s);
    const size_t panels = SM_I8_FN(w23_panels)(s), groups = Cp / 2;
    const size_t plane = (size_t)OH * (size_t)OW, in_plane = (size_t)s->in_height * (size_t)s->in_width;
    const SM_I8_FN(w23_layout) l = SM_I8_FN(w23_layout_of)(s);
    uint8_t *ws = (uint8_t *)workspace;
    sm_w23_tile *tiles = (sm_w23_tile *)(ws + l.tiles_at);
    int16_t *P = (int16_t *)(ws + l.p_at);
    int16_t *V = (int16_t *)(ws + l.v_at);
    int32_t *M = (int32_t *)(ws + l.m_at);
    int32_t *Y = (int32_t *)(ws + l.y_at);
    int32_t *staging = (int32_t *)(ws + l.staging_at);
    const int32_t zx = ((const sm_i8_packed_header *)packed)->zero_point;
    const int16_t *U = (const int16_t *)sm_i8_weights(packed);
    sm_i8_ep ep;
    sm_i8_resolve(&ep, epilogue, packed, output);
    sm_i8_ep raw = ep;   // the GEMMs' "epilogue": store the int32 sums

    const int32_t band_rows = 2 * dh, nb = SM_I8_FN(w23_chunk_bands)(s);
    const int32_t b_first = row_begin / band_rows, b_last = (row_end + band_rows - 1) / band_rows;
    for (int32_t b0 = b_first; b0 < b_last; b0 += nb) {
        const int32_t b1 = b0 + nb < b_last ? b0 + nb : b_last;
        const size_t n = SM_I8_FN(w23_tiles)(s, b0, b1, tiles);
        const size_t blocks = (n + SM_W23_NR - 1) / SM_W23_NR, ldt = blocks * SM_W23_NR;
        const size_t tile_stride = groups * 2 * SM_W23_NR, xi_stride = blocks * tile_stride;
        const int32_t y0 = b0 * band_rows, y1 = b1 * band_rows < OH ? b1 * band_rows : OH;      // the chunk's rows
        const int32_t s0 = y0 > row_begin ? y0 : row_begin, s1 = y1 < row_end ? y1 : row_end;   // rows stored

        // 1. V, two channels at a time (lanes past n: transforms of zeros, never stored; the gathers write lanes
        // [0, n) only, so the rest is zeroed once per chunk)
        for (int k = 0; k < 2 * SM_W23_XI; k++) memset(P + (size_t)k * l.ldt + n, 0, (ldt - n) * sizeof(int16_t));
        for (size_t g = 0; g < groups; g++) {
            for (int h = 0; h < 2; h++) {
                int16_t *Ph = P + (size_t)h * SM_W23_XI * l.ldt;
                const size_t c = 2 * g + (size_t)h;
                if (c < C) SM_I8_FN(w23_gather)(s, input + c * in_plane, zx, tiles, n, Ph, l.ldt);
                else
                    for (int k = 0; k < SM_W23_XI; k++) memset(Ph + (size_t)k * l.ldt, 0, n * sizeof(int16_t));
            }
            for (size_t t = 0; t < ldt; t += 16)   // 16 tiles at a time into micro-tile t / NR
                SM_I8_FN(w23_input_transform)
            (P + t, P + SM_W23_XI * l.ldt + t, l.ldt,
             V + t / SM_W23_NR * tile_stride + g * 2 * SM_W23_NR + t % SM_W23_NR * 2, xi_stride);
        }

        // 2. per block of output channels: GEMMs, output transform, epilogue
        for (size_t ob = 0; ob < O; ob += SM_W23_OB) {
            const size_t oc = O - ob < SM_W23_OB ? O - ob : SM_W23_OB;
            const size_t p0 = ob / SM_I8_MR, p1 = (ob + oc + SM_I8_MR - 1) / SM_I8_MR;
            for (size_t xi = 0; xi < SM_W23_XI; xi++) {
                raw.out_i32 = M + xi * SM_W23_OB * ldt;
                for (size_t j = 0; j < blocks; j++) {
                    const size_t nr = n - j * SM_W23_NR < SM_W23_NR ? n - j * SM_W23_NR : SM_W23_NR;
                    const int32_t nv = (int32_t)((nr + SM_I8_VL - 1) / SM_I8_VL);
                    for (size_t p = p0; p < p1; p++) SM_I8_FN(tile)
                    (nv, (int32_t)groups, U + ((xi * panels + p) * groups) * SM_I8_MR * 2,
                     (const SM_I8_BTYPE *)(V + xi * xi_stride + j * tile_stride), 2 * SM_W23_NR, &raw, 0, SM_I8_MR,
                     (p - p0) * SM_I8_MR * ldt + j * SM_W23_NR, ldt, (int32_t)nr);
                }
            }
            for (size_t ol = 0; ol < oc; ol++) {
                int32_t *st = staging + ol * l.rows * l.ldo;
                for (size_t t = 0; t < n; t += 8)
                    SM_I8_FN(w23_output_transform)(M + ol * ldt + t, SM_W23_OB * ldt, Y + t, l.ldt);
                for (size_t t = 0; t < n; t++) {   // into the chunk's rows, pixel order
                    const int32_t oy = tiles[t].oy - y0, ox = tiles[t].ox;
                    const int down = tiles[t].oy + dh < OH, right = ox + dw < OW;
                    int32_t *r0 = st + (size_t)oy * l.ldo + ox;
                    r0[0] = Y[t];
                    if (right) r0[dw] = Y[l.ldt + t];
                    if (down) {
                        int32_t *r1 = r0 + (size_t)dh * l.ldo;
                        r1[0] = Y[2 * l.ldt + t];
                        if (right) r1[dw] = Y[3 * l.ldt + t];
                    }
                }
                const int32_t o = (int32_t)(ob + ol);
                for (int32_t y = s0; y < s1; y++) {
                    const int32_t *row = st + (size_t)(y - y0) * l.ldo;
                    for (int32_t x = 0; x < OW; x += 8)
                        SM_I8_FINISH_Y(_mm256_loadu_si256((const __m256i *)(row + x)), &ep, o,
                                       (size_t)o * plane + (size_t)y * OW + (size_t)x, OW - x < 8 ? OW - x : 8);
                }
            }
        }
    }
}

#undef SM_W23_XI
#undef SM_W23_NR
#undef SM_W23_OB

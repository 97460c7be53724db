// int8_winograd23_common.h — the portable half of the int8 F(2x2, 3x3) bodies (exact and Winograd-domain), included
// by each body (int8_winograd23_x86.h, int8_winograd23_neon.h) inside its tier's target region: geometry (tiles, bands,
// runs), the transformed weights' layout and packing, the workspace layout, the staged input rows. See
// int8_winograd23_x86.h for the arithmetic and siam_int8.h ("wd23") for the Winograd-domain specification.
// The including body defines SM_I8_FN, SM_I8_TIER, SM_I8_MR, SM_I8_G, SM_I8_ATYPE, SM_W23_NR (tiles per micro-tile,
// a multiple of 8), its int16 vector layer (SM_W23_V16, SM_W23_LOAD16, SM_W23_ADD16, SM_W23_SUB16) and optionally
// SM_W23_QUANT, SM_W23_OB, SM_W23_V_BUDGET, SM_W23_CALIGN, SM_W23_VQ_OFFSET.

#define SM_W23_XI 16
#ifndef SM_W23_QUANT
#define SM_W23_QUANT 0
#endif
#define SM_W23_SHIFT (SM_W23_QUANT ? 0 : 2)   // exact: A^T (U . V) A = 4 S
#ifndef SM_W23_OB
#define SM_W23_OB (8 * SM_I8_MR)   // output channels per block of GEMMs (M stays in L2)
#endif
#ifndef SM_W23_V_BUDGET
#define SM_W23_V_BUDGET ((size_t)1 << 20)   // bytes of V per chunk of bands
#endif

#ifndef SM_W23_TILE_DEFINED
#define SM_W23_TILE_DEFINED
typedef struct sm_w23_tile {
    int32_t oy, ox;   // output coordinates of the tile's top-left value
} sm_w23_tile;
typedef struct sm_w23_run {
    int32_t t0, count;   // tiles [t0, t0 + count) of the chunk's list
    int32_t oy, ox;      // the first tile's output coordinates
} sm_w23_run;
#endif

#if !SM_W23_QUANT
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
#endif

#ifndef SM_W23_VQ_OFFSET
#define SM_W23_VQ_OFFSET (SM_I8_G == 4 ? 128 : 0)   // Vq + 128 into u8 x s8 products (vpdpbusd); 0 for signed ones
#endif
#ifndef SM_W23_CALIGN
#define SM_W23_CALIGN SM_I8_G   // input channels padded to this (the micro-kernel's k step, in channels)
#endif

static inline size_t SM_I8_FN(w23_cp)(const sm_conv2d_shape *s) {
    return sm_i8_round_up((size_t)s->in_channels, SM_W23_CALIGN);
}

static inline size_t SM_I8_FN(w23_panels)(const sm_conv2d_shape *s) {
    return ((size_t)s->out_channels + SM_I8_MR - 1) / SM_I8_MR;
}

// Bytes of the transformed weights in the tier's A layout (K = C padded to G).
static inline size_t SM_I8_FN(w23_u_bytes)(const sm_conv2d_shape *s) {
    return sm_i8_round_up(SM_W23_XI * SM_I8_FN(w23_panels)(s) * SM_I8_MR * SM_I8_FN(w23_cp)(s) * sizeof(SM_I8_ATYPE),
                          64);
}

// U[xi][o][c] in panels of MR channels and groups of G input channels (the micro-kernel's A layout):
//   A[(((xi * panels + p) * C/G + g) * MR + r) * G + t] = U[xi][p * MR + r][G g + t]
static inline size_t SM_I8_FN(w23_a_index)(const sm_conv2d_shape *s, size_t xi, size_t o, size_t c) {
    const size_t panels = SM_I8_FN(w23_panels)(s), groups = SM_I8_FN(w23_cp)(s) / SM_I8_G;
    return (((xi * panels + o / SM_I8_MR) * groups + c / SM_I8_G) * SM_I8_MR + o % SM_I8_MR) * SM_I8_G + c % SM_I8_G;
}

#if SM_W23_QUANT
static size_t SM_I8_FN(w23_packed_bytes)(const sm_conv2d_shape *s) {
    return sm_i8_wd23_prefix_bytes(s->out_channels) + SM_I8_FN(w23_u_bytes)(s) + SM_I8_WD23_SCRATCH(s->in_channels);
}

static void SM_I8_FN(w23_store)(void *packed, const sm_conv2d_shape *s, int32_t o, const int8_t *uq) {
    SM_I8_ATYPE *a = (SM_I8_ATYPE *)sm_i8_wd23_u(packed);
    const size_t C = (size_t)s->in_channels;
    for (size_t xi = 0; xi < SM_W23_XI; xi++) {
        SM_I8_ATYPE *dst = a + SM_I8_FN(w23_a_index)(s, xi, (size_t)o, 0);   // then G per k-group, MR * G per group
        for (size_t c = 0; c < C; c++)
            dst[c / SM_I8_G * SM_I8_MR * SM_I8_G + c % SM_I8_G] = (SM_I8_ATYPE)uq[xi * C + c];
    }
}

static void SM_I8_FN(w23_pack)(const sm_conv2d_shape *s, const int8_t *weights, int32_t zero_point,
                               const int16_t *multipliers, void *packed) {
    uint8_t *u = (uint8_t *)packed + sm_i8_wd23_prefix_bytes(s->out_channels);   // the header is not written yet
    memset(u, 0, SM_I8_FN(w23_u_bytes)(s));
    int8_t *scratch = (int8_t *)(u + SM_I8_FN(w23_u_bytes)(s));
    sm_i8_wd23_pack_common(s, weights, zero_point, multipliers, SM_I8_TIER, (int32_t)SM_I8_FN(w23_cp)(s),
                           SM_W23_VQ_OFFSET, packed, scratch, SM_I8_FN(w23_store));
}
#else
static size_t SM_I8_FN(w23_packed_bytes)(const sm_conv2d_shape *s) {
    return sizeof(sm_i8_packed_header) + sm_i8_terms_bytes(s->out_channels) + SM_I8_FN(w23_u_bytes)(s);
}

// U = G' g G'^T, exact (see int8_winograd23_x86.h).
static void SM_I8_FN(w23_pack)(const sm_conv2d_shape *s, const int8_t *weights, int32_t zero_point, void *packed) {
    const size_t C = (size_t)s->in_channels, O = (size_t)s->out_channels, Cp = SM_I8_FN(w23_cp)(s);
    sm_i8_pack_header(packed, SM_I8_TIER, zero_point, zero_point, weights, s->out_channels, (int32_t)(9 * C),
                      (int32_t)Cp);
    ((sm_i8_packed_header *)packed)->variant = 2;
    SM_I8_ATYPE *a = (SM_I8_ATYPE *)sm_i8_weights(packed);
    memset(a, 0, SM_I8_FN(w23_u_bytes)(s));
    for (size_t o = 0; o < O; o++) {
        for (size_t c = 0; c < C; c++) {
            int32_t u[16];
            sm_i8_w23_weight_transform(weights + (o * C + c) * 9, u);   // U = G' g G'^T, exact
            for (size_t xi = 0; xi < SM_W23_XI; xi++) a[SM_I8_FN(w23_a_index)(s, xi, o, c)] = (int16_t)u[xi];
        }
    }
}
#endif

// Tiles of one band, at most.
static inline size_t SM_I8_FN(w23_band_tiles)(const sm_conv2d_shape *s) {
    const size_t sub_cols = (size_t)((s->out_width + s->dilation_w - 1) / s->dilation_w);
    return (size_t)s->dilation_h * (size_t)s->dilation_w * ((sub_cols + 1) / 2);
}

// Bands per chunk: V (16 x Cp x tiles int16) within about 1 MiB, at least one band.
static inline int32_t SM_I8_FN(w23_chunk_bands)(const sm_conv2d_shape *s) {
    const size_t budget_tiles = SM_W23_V_BUDGET / (SM_W23_XI * SM_I8_FN(w23_cp)(s) / SM_I8_G * 4);
    const size_t n = budget_tiles / SM_I8_FN(w23_band_tiles)(s);
    return n < 1 ? 1 : (int32_t)n;
}

// Workspace: tile list, runs, staged rows, P (16 x ldp int16 per channel of a group), V (16 x Cp/G x ldt x 4 bytes),
// M (16 x OB x ldt int32), Y (4 x ldt int32), staging (chunk rows x ldo int32: one output channel at a time), the
// epilogue's scales (wd23), the exact path's zero GEMM terms, each 64-byte aligned.
typedef struct SM_I8_FN(w23_layout) {
    size_t max_tiles, ldt, ldp, ldo, rows, srows, wp;
    size_t tiles_at, runs_at, staged_at, p_at, v_at, m_at, y_at, staging_at, scale_at, zeros_at, total;
} SM_I8_FN(w23_layout);

static SM_I8_FN(w23_layout) SM_I8_FN(w23_layout_of)(const sm_conv2d_shape *s) {
    SM_I8_FN(w23_layout) l;
    const size_t nb = (size_t)SM_I8_FN(w23_chunk_bands)(s);
    l.max_tiles = nb * SM_I8_FN(w23_band_tiles)(s);
    l.ldt = sm_i8_round_up(l.max_tiles, SM_W23_NR);
    l.ldp = l.ldt + 16;   // P rows: a run's last 8-tile gather may write up to 7 lanes past the chunk's tiles
    l.ldo = sm_i8_round_up((size_t)s->out_width, 8);
    l.rows = nb * 2 * (size_t)s->dilation_h;
    size_t at = 0;
    l.srows = l.rows + 3 * (size_t)s->dilation_h;   // input rows of the chunk's patches
    l.wp = sm_i8_round_up((size_t)s->pad_left + (size_t)s->out_width + 3 * (size_t)s->dilation_w + 40, 64);
    l.tiles_at = at;
    at += sm_i8_round_up(l.max_tiles * sizeof(sm_w23_tile), 64);
    l.runs_at = at;
    at += sm_i8_round_up(nb * (size_t)s->dilation_h * (size_t)s->dilation_w * sizeof(sm_w23_run), 64);
    l.staged_at = at;
    at += sm_i8_round_up(l.srows * l.wp, 64);
    l.p_at = at;
    at += sm_i8_round_up(SM_I8_G * SM_W23_XI * l.ldp * sizeof(int16_t), 64);
    l.v_at = at;
    at += sm_i8_round_up(SM_W23_XI * SM_I8_FN(w23_cp)(s) / SM_I8_G * 4 * l.ldt, 64);
    l.m_at = at;
    at += sm_i8_round_up(SM_W23_XI * (size_t)SM_W23_OB * l.ldt * sizeof(int32_t), 64);
    l.y_at = at;
    at += sm_i8_round_up((4 * l.ldt + 16) * sizeof(int32_t), 64);   // + the lanes a last 8-tile load reads past
    l.staging_at = at;
    at += sm_i8_round_up(l.rows * l.ldo * sizeof(int32_t), 64);
    l.scale_at = at;
    at += sm_i8_round_up((size_t)s->out_channels * sizeof(float), 64);
    l.zeros_at = at;   // the exact path's GEMM terms (its channel terms belong to the epilogue)
    at += sm_i8_round_up(sm_i8_wd23_opad(s->out_channels) * sizeof(int32_t), 64);
    l.total = at;
    return l;
}

static size_t SM_I8_FN(w23_workspace_bytes)(const sm_conv2d_shape *s, int32_t rows) {
    if (rows <= 0) return 0;
    return SM_I8_FN(w23_layout_of)(s).total;   // per chunk, whatever the row range
}

// The tiles of bands [b0, b1): band by band, sub-grid by sub-grid, left to right; and their runs: the tiles of one
// sub-grid row (ox = run ox + 2 dw k), so a gather can take 8 at a time.
static size_t SM_I8_FN(w23_tiles)(const sm_conv2d_shape *s, int32_t b0, int32_t b1, sm_w23_tile *tiles,
                                  sm_w23_run *runs, size_t *run_count) {
    const int32_t dh = s->dilation_h, dw = s->dilation_w;
    size_t n = 0, nr = 0;
    for (int32_t b = b0; b < b1; b++)
        for (int32_t a = 0; a < dh; a++) {
            const int32_t oy = a + dh * 2 * b;
            if (oy >= s->out_height) continue;
            for (int32_t c = 0; c < dw && c < s->out_width; c++) {
                runs[nr] = (sm_w23_run){(int32_t)n, 0, oy, c};
                for (int32_t ox = c; ox < s->out_width; ox += 2 * dw) tiles[n++] = (sm_w23_tile){oy, ox};
                runs[nr].count = (int32_t)n - runs[nr].t0;
                nr++;
            }
        }
    *run_count = nr;
    return n;
}

// The staged rows of one channel: input rows [iy_lo, iy_lo + rows) with the zero point outside the input, column
// ix at index ix + pad_left, wide enough for every load of the gather below (l.wp bytes a row).
static void SM_I8_FN(w23_stage)(const sm_conv2d_shape *s, const uint8_t *plane, int32_t zx, int32_t iy_lo, int32_t rows,
                                size_t wp, uint8_t *staged) {
    const int32_t H = s->in_height, W = s->in_width;
    const size_t left = (size_t)s->pad_left < wp ? (size_t)s->pad_left : wp;
    const size_t mid = W < 0 ? 0 : ((size_t)W < wp - left ? (size_t)W : wp - left);
    for (int32_t r = 0; r < rows; r++) {
        uint8_t *dst = staged + (size_t)r * wp;
        const int32_t iy = iy_lo + r;
        if (iy < 0 || iy >= H) {
            memset(dst, zx, wp);
            continue;
        }
        memset(dst, zx, left);
        memcpy(dst + left, plane + (size_t)iy * W, mid);
        memset(dst + left + mid, zx, wp - left - mid);
    }
}

// B^T d B of a vector of tiles (one int16 lane each) of one channel, over the body's int16 vector layer
// (SM_W23_V16, SM_W23_LOAD16, SM_W23_ADD16, SM_W23_SUB16): P rows 4r + q are ldt apart; v[xi].
static inline __attribute__((always_inline)) void SM_I8_FN(w23_transform)(const int16_t *src, size_t ldt,
                                                                          SM_W23_V16 v[16]) {
    SM_W23_V16 e[4][4];
    for (int r = 0; r < 4; r++) {   // rows: d B
        const SM_W23_V16 d0 = SM_W23_LOAD16(src + (size_t)(4 * r) * ldt);
        const SM_W23_V16 d1 = SM_W23_LOAD16(src + (size_t)(4 * r + 1) * ldt);
        const SM_W23_V16 d2 = SM_W23_LOAD16(src + (size_t)(4 * r + 2) * ldt);
        const SM_W23_V16 d3 = SM_W23_LOAD16(src + (size_t)(4 * r + 3) * ldt);
        e[r][0] = SM_W23_SUB16(d0, d2);
        e[r][1] = SM_W23_ADD16(d1, d2);
        e[r][2] = SM_W23_SUB16(d2, d1);
        e[r][3] = SM_W23_SUB16(d1, d3);
    }
    for (int j = 0; j < 4; j++) {   // columns: B^T (d B)
        v[0 * 4 + j] = SM_W23_SUB16(e[0][j], e[2][j]);
        v[1 * 4 + j] = SM_W23_ADD16(e[1][j], e[2][j]);
        v[2 * 4 + j] = SM_W23_SUB16(e[2][j], e[1][j]);
        v[3 * 4 + j] = SM_W23_SUB16(e[1][j], e[3][j]);
    }
}

// int8_gemm_driver.h — the int8 convolution driver shared by the fast tiers, included once per tier after that
// tier's micro-kernel (inside its target region, so it is compiled for that tier's ISA).
//
// A convolution is the GEMM  acc[O x P] = A[O x Kp] * B[Kp x P]  with K = C*KH*KW padded with zero weights to Kp
// (a multiple of SM_I8_KALIGN), and P the pixels of the requested output rows (contiguous in a CHW plane, so rows
// are flattened). The micro-kernel vectorises along pixels: one vector lane holds one pixel and G consecutive k
// (G = 4 bytes for vpdpbusd / sdot, G = 2 int16 for vpmaddwd), so the weights of one output channel for one k-group
// are a 32-bit broadcast. K is ordered in one of two ways (chosen from the shape alone, by pack and run alike):
//   channel groups (C a multiple of G): k-group (c / G, ky, kx) holds channels c .. c + G - 1 of one tap. B is then
//     gathered in 4-byte pixel slots from a copy of the input interleaved by G channels (zero point written into
//     the padding): per k-group and output row one contiguous copy (stride 1).
//   taps (otherwise, e.g. the 3-channel stem): k = (c, ky, kx) as in OIHW; each k-group's G rows are built by
//     im2col from the input (or a zero-point-padded copy of its rows) and interleaved.
//   1x1 stride-1 convolutions without padding (both orders coincide): the G input planes are interleaved directly.
// Packed weights (after the header and the per-channel terms): panels of SM_I8_MR output channels,
//   A[((panel * Kp/G + g) * MR + r) * G + t] = w[panel * MR + r][k(g, t)]    (0 past O or K)
// B block (workspace), tile-major so that a micro-kernel reads it as one sequential stream (no strided rows: no L1
// set conflicts, no TLB misses): tile j (pixels [j * NR, j * NR + NR)) holds Kp/G rows of NR slots x G elements,
//   B[(j * Kp/G + g) * NR * G + (p - j * NR) * G + t] = element t of k-group g at pixel p.
// Activations are transformed on the way in when the tier needs it (q ^ 0x80 on NEON, zero-extension on AVX2).
//
// Loop nest: pixel blocks (B block of Kp x nc within SM_I8_B_BUDGET bytes, equal sizes, built once) > channel
// panels (A panel MR x Kp stays in L1) > pixel tiles (NR = NV * VL) > micro-kernel over all of Kp with the epilogue
// applied in registers (no k blocking: the int32 sums never leave the registers).
//
// The including file defines SM_I8_FN(name), SM_I8_TIER, SM_I8_MR, SM_I8_NV, SM_I8_VL, SM_I8_G, SM_I8_KALIGN,
// SM_I8_ATYPE, SM_I8_BTYPE, SM_I8_TERM_SHIFT (the channel term is (zx - shift) * sum w), SM_I8_B_BUDGET, and:
//   static void SM_I8_FN(interleave)(SM_I8_BTYPE *dst, const uint8_t *const *rows, size_t n);
//       dst[p * G + t] = transform(rows[t][p]) for p < n
//   static void SM_I8_FN(tile)(int32_t nv, int32_t groups, const SM_I8_ATYPE *a, const SM_I8_BTYPE *b, size_t ldb,
//                              const sm_i8_ep *e, int32_t o0, int32_t rows, size_t at, size_t plane, int32_t n);
//       nv vectors of pixels (n valid pixels), rows valid channels from o0; output element (o0 + r, pixel p) is at
//       at + r * plane + p; ldb = B elements per k-group row.
// and optionally SM_I8_COPY_STRIDE2(dst, src, n): dst[i] = src[2i] for i < n, reading nothing past src[2(n - 1)].

#define SM_I8_NR (SM_I8_NV * SM_I8_VL)

static inline size_t SM_I8_FN(k_of)(const sm_conv2d_shape *s) {
    return (size_t)s->in_channels * (size_t)s->kernel_h * (size_t)s->kernel_w;
}

static inline size_t SM_I8_FN(kp_of)(const sm_conv2d_shape *s) {
    return sm_i8_round_up(SM_I8_FN(k_of)(s), SM_I8_KALIGN);
}

// K in channel groups (see above) when the channels split into whole groups.
static inline int SM_I8_FN(channel_groups)(const sm_conv2d_shape *s) { return s->in_channels % SM_I8_G == 0; }

static size_t SM_I8_FN(conv_packed_bytes)(const sm_conv2d_shape *s) {
    size_t panels = ((size_t)(s->out_channels > 0 ? s->out_channels : 0) + SM_I8_MR - 1) / SM_I8_MR;
    return sizeof(sm_i8_packed_header) + sm_i8_terms_bytes(s->out_channels) +
           sm_i8_round_up(panels * SM_I8_MR * SM_I8_FN(kp_of)(s) * sizeof(SM_I8_ATYPE), 64);
}

static void SM_I8_FN(conv_pack)(const sm_conv2d_shape *s, const int8_t *weights, int32_t zero_point, void *packed) {
    const size_t K = SM_I8_FN(k_of)(s), Kp = SM_I8_FN(kp_of)(s), O = (size_t)s->out_channels;
    sm_i8_pack_header(packed, SM_I8_TIER, zero_point, zero_point - SM_I8_TERM_SHIFT, weights, s->out_channels,
                      (int32_t)K, (int32_t)Kp);
    SM_I8_ATYPE *a = (SM_I8_ATYPE *)sm_i8_weights(packed);
    const size_t panels = (O + SM_I8_MR - 1) / SM_I8_MR, groups = Kp / SM_I8_G;
    const size_t taps = (size_t)s->kernel_h * (size_t)s->kernel_w;
    const int cgroups = SM_I8_FN(channel_groups)(s);
    for (size_t p = 0; p < panels; p++)
        for (size_t g = 0; g < groups; g++)
            for (size_t r = 0; r < SM_I8_MR; r++)
                for (size_t t = 0; t < SM_I8_G; t++) {
                    const size_t o = p * SM_I8_MR + r, kk = g * SM_I8_G + t;
                    // OIHW index of position kk: channel groups: g = (c / G) * taps + tap, t = c % G.
                    const size_t k = cgroups ? ((g / taps) * SM_I8_G + t) * taps + g % taps : kk;
                    *a++ = (SM_I8_ATYPE)((o < O && kk < K) ? sm_i8_clamp_weight(weights[o * K + k]) : 0);
                }
}

static int SM_I8_FN(is_direct)(const sm_conv2d_shape *s) {
    return s->kernel_h == 1 && s->kernel_w == 1 && s->stride_h == 1 && s->stride_w == 1 && s->pad_top == 0 &&
           s->pad_left == 0 && s->out_width == s->in_width && s->out_height <= s->in_height;
}

// Pixels per B block: as many as fit SM_I8_B_BUDGET bytes, whole tiles, at least one tile, at most P.
static inline size_t SM_I8_FN(nc_for)(size_t P, size_t Kp) {
    size_t nc = SM_I8_B_BUDGET / (Kp * sizeof(SM_I8_BTYPE));
    nc = nc / SM_I8_NR * SM_I8_NR;
    if (nc < SM_I8_NR) nc = SM_I8_NR;
    if (nc > 4096) nc = 4096;
    return P < nc ? P : nc;
}

// Pixel slots per k-group of the B block: whole tiles.
static inline size_t SM_I8_FN(ldp_for)(size_t nc) { return sm_i8_round_up(nc, SM_I8_NR); }

// The source of im2col: the input itself when no tap of the requested outputs reaches outside it, else a copy of
// the needed input rows with the padding written out as the zero point (planes of rows x ld bytes), so that every
// im2col segment is one plain copy. Padded coordinates: row iy + pad_top, column ix + pad_left.
static inline int SM_I8_FN(needs_padding)(const sm_conv2d_shape *s) {
    const int64_t last_row = (int64_t)(s->out_height - 1) * s->stride_h + (int64_t)(s->kernel_h - 1) * s->dilation_h;
    const int64_t last_col = (int64_t)(s->out_width - 1) * s->stride_w + (int64_t)(s->kernel_w - 1) * s->dilation_w;
    return s->pad_top != 0 || s->pad_left != 0 || last_row - s->pad_top >= s->in_height ||
           last_col - s->pad_left >= s->in_width;
}

// Bytes per padded row: every column a tap reads, and at least the input's.
static inline size_t SM_I8_FN(padded_ld)(const sm_conv2d_shape *s) {
    const int64_t cols = (int64_t)(s->out_width - 1) * s->stride_w + (int64_t)(s->kernel_w - 1) * s->dilation_w + 1;
    const int64_t input_cols = (int64_t)s->in_width + s->pad_left;
    return (size_t)(cols > input_cols ? cols : input_cols);
}

// Padded rows that `rows` output rows read.
static inline size_t SM_I8_FN(padded_rows)(const sm_conv2d_shape *s, int32_t rows) {
    return (size_t)(rows - 1) * (size_t)s->stride_h + (size_t)(s->kernel_h - 1) * (size_t)s->dilation_h + 1;
}

static size_t SM_I8_FN(conv_workspace_bytes)(const sm_conv2d_shape *s, int32_t rows) {
    if (rows <= 0 || s->out_width <= 0 || SM_I8_FN(k_of)(s) == 0) return 0;
    const size_t Kp = SM_I8_FN(kp_of)(s);
    const size_t nc = SM_I8_FN(nc_for)((size_t)rows * (size_t)s->out_width, Kp);
    const size_t ldp = SM_I8_FN(ldp_for)(nc);
    size_t bytes = Kp * ldp * sizeof(SM_I8_BTYPE) + SM_I8_G * sm_i8_round_up(nc, 64);
    if (SM_I8_FN(is_direct)(s)) return bytes;
    const size_t source = (size_t)s->in_channels * SM_I8_FN(padded_rows)(s, rows) * SM_I8_FN(padded_ld)(s);
    if (SM_I8_FN(channel_groups)(s))
        bytes += sm_i8_round_up(source * sizeof(SM_I8_BTYPE), 64);              // the interleaved (padded) input
    else if (SM_I8_FN(needs_padding)(s)) bytes += sm_i8_round_up(source, 64);   // the zero-point-padded input rows
    return bytes;
}

// Small copies and fills without a libc call per segment (segments are output-row pieces, often < 64 bytes):
// fixed-size memcpy/memset compile to single loads and stores; the last piece overlaps the previous one.
static inline void SM_I8_FN(copy)(uint8_t *d, const uint8_t *s, size_t n) {
    if (n >= 16) {
        size_t i = 0;
        for (; i + 16 <= n; i += 16) memcpy(d + i, s + i, 16);
        if (i < n) memcpy(d + n - 16, s + n - 16, 16);
    } else if (n >= 8) {
        memcpy(d, s, 8);
        memcpy(d + n - 8, s + n - 8, 8);
    } else if (n >= 4) {
        memcpy(d, s, 4);
        memcpy(d + n - 4, s + n - 4, 4);
    } else {
        for (size_t i = 0; i < n; i++) d[i] = s[i];
    }
}

static inline void SM_I8_FN(fill)(uint8_t *d, uint8_t v, size_t n) {
    if (n >= 16) {
        size_t i = 0;
        for (; i + 16 <= n; i += 16) memset(d + i, v, 16);
        if (i < n) memset(d + n - 16, v, 16);
    } else {
        for (size_t i = 0; i < n; i++) d[i] = v;
    }
}

// One im2col row: nc pixels starting at output pixel (oy, ox); the tap's source pixel of output (oy, ox) is
// plane[(oy * sh + off_y) * ld + ox * sw + off_x] (always inside the source).
static void SM_I8_FN(im2col_row)(const uint8_t *plane, size_t ld, int32_t sh, int32_t sw, int32_t OW, int32_t oy,
                                 int32_t ox, size_t nc, int32_t off_y, int32_t off_x, uint8_t *dst) {
    size_t p = 0;
    while (p < nc) {
        int32_t seg = OW - ox;
        if ((size_t)seg > nc - p) seg = (int32_t)(nc - p);
        const uint8_t *src = plane + (size_t)(oy * sh + off_y) * ld + (size_t)(ox * sw + off_x);
        if (sw == 1) {
            SM_I8_FN(copy)(dst + p, src, (size_t)seg);
#ifdef SM_I8_COPY_STRIDE2
        } else if (sw == 2) {
            SM_I8_COPY_STRIDE2(dst + p, src, seg);
#endif
        } else {
            for (int32_t i = 0; i < seg; i++) dst[p + (size_t)i] = src[(size_t)i * sw];
        }
        p += (size_t)seg;
        oy++;
        ox = 0;
    }
}

// The padded copy of input rows [pad row r0, r0 + rows) of every channel.
static void SM_I8_FN(pad_input)(const sm_conv2d_shape *s, const uint8_t *input, int32_t zx, int32_t r0, size_t rows,
                                size_t ld, uint8_t *dst) {
    const int32_t H = s->in_height, W = s->in_width;
    for (int32_t c = 0; c < s->in_channels; c++) {
        const uint8_t *plane = input + (size_t)c * H * W;
        for (size_t r = 0; r < rows; r++, dst += ld) {
            const int32_t iy = r0 + (int32_t)r - s->pad_top;
            if (iy < 0 || iy >= H) {
                memset(dst, zx, ld);
            } else {
                memset(dst, zx, (size_t)s->pad_left);
                memcpy(dst + s->pad_left, plane + (size_t)iy * W, (size_t)W);
                memset(dst + s->pad_left + W, zx, ld - (size_t)s->pad_left - (size_t)W);
            }
        }
    }
}

// Channel groups: nc pixel slots (G elements each, 4 bytes) starting at output pixel (oy, ox) from one interleaved
// plane; the slot of output (oy, ox) is slot (oy * sh + off_y) * ld + ox * sw + off_x of the plane. Slot p goes to
// the B block's tile-major place: dst + (p / NR) * tile_bytes + (p % NR) * 4. (Bytes are moved with memcpy: the
// slots hold uint8 or uint16 elements.)
static void SM_I8_FN(gather_row)(const uint8_t *plane, size_t ld, int32_t sh, int32_t sw, int32_t OW, int32_t oy,
                                 int32_t ox, size_t nc, int32_t off_y, int32_t off_x, uint8_t *dst, size_t tile_bytes) {
    size_t p = 0;
    while (p < nc) {
        int32_t seg = OW - ox;
        if ((size_t)seg > nc - p) seg = (int32_t)(nc - p);
        const uint8_t *src = plane + ((size_t)(oy * sh + off_y) * ld + (size_t)(ox * sw + off_x)) * 4;
        while (seg > 0) {   // split at tile boundaries
            const size_t in_tile = p % SM_I8_NR;
            int32_t run = (int32_t)(SM_I8_NR - in_tile);
            if (run > seg) run = seg;
            uint8_t *d = dst + (p / SM_I8_NR) * tile_bytes + in_tile * 4;
            if (sw == 1) {
                memcpy(d, src, (size_t)run * 4);
            } else {
                for (int32_t i = 0; i < run; i++) memcpy(d + (size_t)i * 4, src + (size_t)i * sw * 4, 4);
            }
            src += (size_t)run * sw * 4;
            p += (size_t)run;
            seg -= run;
        }
        oy++;
        ox = 0;
    }
}

// Channel groups: the input rows [pad row r0, r0 + rows) interleaved by G channels and transformed, with the
// padding written as the (transformed) zero point: dst[((cg * rows + r) * ld + x) * G + t] = input[cg * G + t] at
// padded (r0 + r, x). `zx_row` is a scratch of `zx_len` bytes.
static void SM_I8_FN(interleave_input)(const sm_conv2d_shape *s, const uint8_t *input, int32_t zx, int32_t r0,
                                       size_t rows, size_t ld, uint8_t *zx_row, size_t zx_len, SM_I8_BTYPE *dst) {
    const int32_t H = s->in_height, W = s->in_width;
    memset(zx_row, zx, zx_len);
    const uint8_t *zx_rows[SM_I8_G];
    for (int t = 0; t < SM_I8_G; t++) zx_rows[t] = zx_row;
    for (int32_t cg = 0; cg < s->in_channels / SM_I8_G; cg++) {
        for (size_t r = 0; r < rows; r++, dst += ld * SM_I8_G) {
            const int32_t iy = r0 + (int32_t)r - s->pad_top;
            size_t x0 = ld, x1 = ld;   // [x0, x1): columns from the input; the rest is the zero point
            if (iy >= 0 && iy < H) {
                x0 = (size_t)s->pad_left;
                x1 = x0 + (size_t)W;
                const uint8_t *rr[SM_I8_G];
                for (int t = 0; t < SM_I8_G; t++) rr[t] = input + ((size_t)(cg * SM_I8_G + t) * H + iy) * W;
                SM_I8_FN(interleave)(dst + x0 * SM_I8_G, rr, (size_t)W);
            }
            for (size_t x = 0; x < x0; x += zx_len)
                SM_I8_FN(interleave)(dst + x * SM_I8_G, zx_rows, x0 - x < zx_len ? x0 - x : zx_len);
            for (size_t x = x1; x < ld; x += zx_len)
                SM_I8_FN(interleave)(dst + x * SM_I8_G, zx_rows, ld - x < zx_len ? ld - x : zx_len);
        }
    }
}

// Zero slots [from, to) of one k-group row of the tile-major B block (row g's start `dst`, tiles tile_stride apart).
static inline void SM_I8_FN(zero_row)(SM_I8_BTYPE *dst, size_t tile_stride, size_t from, size_t to) {
    while (from < to) {
        const size_t in_tile = from % SM_I8_NR;
        size_t run = SM_I8_NR - in_tile;
        if (run > to - from) run = to - from;
        memset(dst + from / SM_I8_NR * tile_stride + in_tile * SM_I8_G, 0, run * SM_I8_G * sizeof(SM_I8_BTYPE));
        from += run;
    }
}

static void SM_I8_FN(conv)(const sm_conv2d_shape *s, const uint8_t *input, const void *packed,
                           const sm_int8_epilogue *epilogue, void *output, int32_t row_begin, int32_t row_end,
                           void *workspace) {
    if (row_end <= row_begin || s->out_channels <= 0 || s->out_width <= 0) return;
    const size_t K = SM_I8_FN(k_of)(s), Kp = SM_I8_FN(kp_of)(s), O = (size_t)s->out_channels;
    const size_t plane = (size_t)s->out_height * (size_t)s->out_width;   // channel plane of the output
    const size_t P = (size_t)(row_end - row_begin) * (size_t)s->out_width;
    const size_t pixel0 = (size_t)row_begin * (size_t)s->out_width;
    if (K == 0) {   // no input channels: acc = 0
        for (size_t o = 0; o < O; o++)
            for (size_t p = 0; p < P; p++) sm_i8_finish_scalar(epilogue, (int32_t)o, 0, o * plane + pixel0 + p, output);
        return;
    }
    sm_i8_ep ep;
    sm_i8_resolve(&ep, epilogue, packed, output);
    const int32_t zx = ((const sm_i8_packed_header *)packed)->zero_point;
    const SM_I8_ATYPE *A = (const SM_I8_ATYPE *)sm_i8_weights(packed);
    const size_t groups = Kp / SM_I8_G;
    const size_t nc_max = SM_I8_FN(nc_for)(P, Kp);
    const size_t ldp = SM_I8_FN(ldp_for)(nc_max);
    const size_t ldb = SM_I8_NR * SM_I8_G, tile_stride = groups * ldb;   // elements: k-group row, tile (tile-major)
    SM_I8_BTYPE *B = (SM_I8_BTYPE *)workspace;
    uint8_t *staging = (uint8_t *)workspace + Kp * ldp * sizeof(SM_I8_BTYPE);
    const size_t staging_ld = sm_i8_round_up(nc_max, 64);
    const int direct = SM_I8_FN(is_direct)(s);
    const size_t in_plane = (size_t)s->in_height * (size_t)s->in_width;
    // The im2col source: the input, or its padded copy (rows from padded row r0 = row_begin * stride); with
    // channel groups, the interleaved copy.
    const uint8_t *source = input;
    const uint8_t *slots = NULL;
    size_t src_ld = (size_t)s->in_width, src_plane = in_plane;
    int32_t r0 = 0;
    const int cgroups = !direct && SM_I8_FN(channel_groups)(s);
    if (cgroups) {
        SM_I8_BTYPE *interleaved = (SM_I8_BTYPE *)(staging + SM_I8_G * staging_ld);
        const size_t rows = SM_I8_FN(padded_rows)(s, row_end - row_begin);
        r0 = row_begin * s->stride_h;
        src_ld = SM_I8_FN(padded_ld)(s);
        src_plane = rows * src_ld;   // slots per channel-group plane
        SM_I8_FN(interleave_input)(s, input, zx, r0, rows, src_ld, staging, staging_ld, interleaved);
        slots = (const uint8_t *)interleaved;
    } else if (!direct && SM_I8_FN(needs_padding)(s)) {
        uint8_t *padded = staging + SM_I8_G * staging_ld;
        const size_t rows = SM_I8_FN(padded_rows)(s, row_end - row_begin);
        r0 = row_begin * s->stride_h;
        src_ld = SM_I8_FN(padded_ld)(s);
        src_plane = rows * src_ld;
        SM_I8_FN(pad_input)(s, input, zx, r0, rows, src_ld, padded);
        source = padded;
    } else {
        r0 = -s->pad_top;   // no padding needed: pad_top is 0 here
    }

    const size_t nc_step = sm_equal_block(P, nc_max, SM_I8_VL);   // blocks of equal size, whole vectors
    for (size_t jc = 0; jc < P; jc += nc_step) {
        const size_t nc = P - jc < nc_step ? P - jc : nc_step;
        const size_t n_tail = sm_i8_round_up(nc, SM_I8_VL);   // vector lanes the tiles read
        const int32_t oy0 = row_begin + (int32_t)(jc / (size_t)s->out_width);
        const int32_t ox0 = (int32_t)(jc % (size_t)s->out_width);
        int32_t c = 0, ky = 0, kx = 0;   // tap k = (c * KH + ky) * KW + kx, advanced without divisions
        if (cgroups) {
            const size_t real_groups = K / SM_I8_G;
            for (size_t g = 0; g < groups; g++) {   // g = (channel group c, ky, kx)
                SM_I8_BTYPE *dst = B + g * ldb;
                if (g >= real_groups) {
                    SM_I8_FN(zero_row)(dst, tile_stride, 0, n_tail);
                    continue;
                }
                SM_I8_FN(gather_row)
                (slots + (size_t)c * src_plane * 4, src_ld, s->stride_h, s->stride_w, s->out_width, oy0, ox0, nc,
                 ky * s->dilation_h - r0, kx * s->dilation_w, (uint8_t *)dst, tile_stride * sizeof(SM_I8_BTYPE));
                SM_I8_FN(zero_row)(dst, tile_stride, nc, n_tail);
                if (++kx == s->kernel_w) {
                    kx = 0;
                    if (++ky == s->kernel_h) {
                        ky = 0;
                        c++;
                    }
                }
            }
        }
        for (size_t g = 0; g < (cgroups ? 0 : groups); g++) {
            const uint8_t *rows[SM_I8_G];
            for (size_t t = 0; t < SM_I8_G; t++) {
                const size_t k = g * SM_I8_G + t;
                uint8_t *st = staging + t * staging_ld;
                if (k >= K) {
                    memset(st, 0, nc);   // zero weights: any value would do, keep it defined
                    rows[t] = st;
                    continue;
                }
                if (direct) {
                    rows[t] = input + (size_t)c * in_plane + pixel0 + jc;
                } else {
                    // padded row of output row oy: oy * sh + ky * dh (padded coordinates), minus r0
                    SM_I8_FN(im2col_row)
                    (source + (size_t)c * src_plane, src_ld, s->stride_h, s->stride_w, s->out_width, oy0, ox0, nc,
                     ky * s->dilation_h - r0, kx * s->dilation_w, st);
                    rows[t] = st;
                }
                if (++kx == s->kernel_w) {
                    kx = 0;
                    if (++ky == s->kernel_h) {
                        ky = 0;
                        c++;
                    }
                }
            }
            SM_I8_BTYPE *dst = B + g * ldb;
            for (size_t p = 0; p < nc; p += SM_I8_NR) {   // one tile's row at a time
                const uint8_t *part[SM_I8_G];
                for (size_t t = 0; t < SM_I8_G; t++) part[t] = rows[t] + p;
                SM_I8_FN(interleave)(dst + p / SM_I8_NR * tile_stride, part, nc - p < SM_I8_NR ? nc - p : SM_I8_NR);
            }
            SM_I8_FN(zero_row)(dst, tile_stride, nc, n_tail);
        }
        for (size_t ir = 0; ir < O; ir += SM_I8_MR) {
            const SM_I8_ATYPE *a = A + ir * Kp;   // panel ir / MR
            const int32_t rows = O - ir < SM_I8_MR ? (int32_t)(O - ir) : SM_I8_MR;
            for (size_t jr = 0; jr < nc; jr += SM_I8_NR) {
                const size_t nr = nc - jr < SM_I8_NR ? nc - jr : SM_I8_NR;
                const int32_t nv = (int32_t)((nr + SM_I8_VL - 1) / SM_I8_VL);
                SM_I8_FN(tile)
                (nv, (int32_t)groups, a, B + jr / SM_I8_NR * tile_stride, ldb, &ep, (int32_t)ir, rows,
                 ir * plane + pixel0 + jc + jr, plane, (int32_t)nr);
            }
        }
    }
}

#undef SM_I8_NR

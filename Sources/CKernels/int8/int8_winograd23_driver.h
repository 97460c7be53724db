// int8_winograd23_driver.h — the F(2x2, 3x3) convolution of every int8 Winograd body (exact x86 int16, Winograd-domain
// x86 and NEON), written once: per chunk of bands, the staged rows, the gathered patches and the input transform of
// G channels at a time into the micro-kernel's B, the 16 GEMMs per block of output channels, the output transform and
// the epilogue. Included at the end of a body, which defines its hooks before:
//   SM_W23_CONSTS, SM_I8_FN(w23_consts)(zx, multipliers or NULL, SM_W23_CONSTS *)   per-call transform constants
//   SM_I8_FN(w23_gather), SM_I8_FN(w23_input_transform) (SM_W23_TSTEP tiles of G channels into B)
//   SM_I8_FN(w23_output_transform) (SM_W23_OSTEP tiles), SM_W23_TILE and SM_W23_VL (the micro-kernel and its lanes)
//   SM_W23_FINISH_FAST(s, Y, ldy, runs, run_count, ep, o, s0, s1)   1 when it did channel o's epilogue itself
//   SM_W23_FINISH_ROW(row, ep, o, at, n), SM_W23_ROW_STEP             the epilogue of a staged row's lanes

static void SM_I8_FN(w23_conv)(const sm_conv2d_shape *s, const uint8_t *input, const void *packed,
                               const sm_int8_epilogue *epilogue, void *output, int32_t row_begin, int32_t row_end,
                               void *workspace) {
    const int32_t OH = s->out_height, OW = s->out_width, dh = s->dilation_h, dw = s->dilation_w;
    if (row_begin < 0) row_begin = 0;
    if (row_end > OH) row_end = OH;
    if (row_end <= row_begin) return;
    const size_t C = (size_t)s->in_channels, O = (size_t)s->out_channels, Cp = SM_I8_FN(w23_cp)(s);
    const size_t panels = SM_I8_FN(w23_panels)(s), groups = Cp / SM_I8_G;
    const size_t plane = (size_t)OH * (size_t)OW, in_plane = (size_t)s->in_height * (size_t)s->in_width;
    const SM_I8_FN(w23_layout) l = SM_I8_FN(w23_layout_of)(s);
    uint8_t *ws = (uint8_t *)workspace;
    sm_w23_tile *tiles = (sm_w23_tile *)(ws + l.tiles_at);
    sm_w23_run *runs = (sm_w23_run *)(ws + l.runs_at);
    uint8_t *staged = ws + l.staged_at;
    int16_t *P = (int16_t *)(ws + l.p_at);
    uint8_t *V = ws + l.v_at;
    int32_t *M = (int32_t *)(ws + l.m_at);
    int32_t *Y = (int32_t *)(ws + l.y_at);
    int32_t *staging = (int32_t *)(ws + l.staging_at);
    const int32_t zx = ((const sm_i8_packed_header *)packed)->zero_point;
    sm_i8_ep ep;
    sm_i8_resolve(&ep, epilogue, packed, output);
    sm_i8_ep raw = ep;   // the GEMMs' "epilogue": store the int32 sums (minus raw.terms)
    SM_W23_CONSTS k;     // the tier's per-call constants of the input transform
#if SM_W23_QUANT
    const SM_I8_ATYPE *U = (const SM_I8_ATYPE *)sm_i8_wd23_u(packed);
    const int32_t *xterms = sm_i8_wd23_xterms(packed);
    const size_t opad = sm_i8_wd23_opad(s->out_channels);
    const float *fscale = sm_i8_wd23_fscale(packed);
    float *scale = (float *)(ws + l.scale_at);
    for (size_t o = 0; o < O; o++) scale[o] = epilogue->scale[o] * fscale[o];
    ep.scale = scale;
    SM_I8_FN(w23_consts)(zx, sm_i8_wd23_multipliers(packed), &k);
#else
    const SM_I8_ATYPE *U = (const SM_I8_ATYPE *)sm_i8_weights(packed);
    SM_I8_FN(w23_consts)(zx, NULL, &k);
    raw.terms = (const int32_t *)(ws + l.zeros_at);
    memset(ws + l.zeros_at, 0, sm_i8_wd23_opad(s->out_channels) * sizeof(int32_t));
#endif

    const int32_t band_rows = 2 * dh, nb = SM_I8_FN(w23_chunk_bands)(s);
    const int32_t b_first = row_begin / band_rows, b_last = (row_end + band_rows - 1) / band_rows;
    for (int32_t b0 = b_first; b0 < b_last; b0 += nb) {
        const int32_t b1 = b0 + nb < b_last ? b0 + nb : b_last;
        size_t run_count = 0;
        const size_t n = SM_I8_FN(w23_tiles)(s, b0, b1, tiles, runs, &run_count);
        const size_t blocks = (n + SM_W23_NR - 1) / SM_W23_NR, ldt = blocks * SM_W23_NR;
        const size_t tile_stride = groups * 4 * SM_W23_NR, xi_stride = blocks * tile_stride;    // bytes
        const int32_t y0 = b0 * band_rows, y1 = b1 * band_rows < OH ? b1 * band_rows : OH;      // the chunk's rows
        const int32_t s0 = y0 > row_begin ? y0 : row_begin, s1 = y1 < row_end ? y1 : row_end;   // rows stored

        // 1. V, G channels at a time (lanes past n, zeroed once per chunk, or what a run's last 8-tile gather wrote
        // there: transformed but never stored)
        for (int k = 0; k < SM_I8_G * SM_W23_XI; k++) memset(P + (size_t)k * l.ldp + n, 0, (ldt - n) * sizeof(int16_t));
        for (size_t g = 0; g < groups; g++) {
            for (int h = 0; h < SM_I8_G; h++) {
                int16_t *Ph = P + (size_t)h * SM_W23_XI * l.ldp;
                const size_t c = SM_I8_G * g + (size_t)h;
                if (c < C) {
                    SM_I8_FN(w23_stage)(s, input + c * in_plane, zx, y0 - s->pad_top, (int32_t)l.srows, l.wp, staged);
                    SM_I8_FN(w23_gather)(s, staged, l.wp, y0 - s->pad_top, runs, run_count, Ph, l.ldp);
                } else
                    for (int k = 0; k < SM_W23_XI; k++) memset(Ph + (size_t)k * l.ldp, 0, n * sizeof(int16_t));
            }
            for (size_t t = 0; t < ldt; t += SM_W23_TSTEP)   // into micro-tile t / NR
                SM_I8_FN(w23_input_transform)
            (P + t, l.ldp, V + t / SM_W23_NR * tile_stride + g * 4 * SM_W23_NR + t % SM_W23_NR * 4, xi_stride, &k);
        }

        // 2. per block of output channels: GEMMs, output transform, epilogue
        for (size_t ob = 0; ob < O; ob += SM_W23_OB) {
            const size_t oc = O - ob < SM_W23_OB ? O - ob : SM_W23_OB;
            const size_t p0 = ob / SM_I8_MR, p1 = (ob + oc + SM_I8_MR - 1) / SM_I8_MR;
            for (size_t xi = 0; xi < SM_W23_XI; xi++) {
                raw.out_i32 = M + xi * SM_W23_OB * ldt;
#if SM_W23_QUANT
                raw.terms = xterms + xi * opad + ob;
#endif
                for (size_t j = 0; j < blocks; j++) {
                    const size_t nr = n - j * SM_W23_NR < SM_W23_NR ? n - j * SM_W23_NR : SM_W23_NR;
                    const int32_t nv = (int32_t)((nr + SM_W23_VL - 1) / SM_W23_VL);
                    for (size_t p = p0; p < p1; p++)
                        SM_W23_TILE(nv, (int32_t)groups, U + ((xi * panels + p) * groups) * SM_I8_MR * SM_I8_G,
                                    (const SM_I8_BTYPE *)(const void *)(V + xi * xi_stride + j * tile_stride),
                                    SM_I8_G * SM_W23_NR, &raw, (int32_t)((p - p0) * SM_I8_MR), SM_I8_MR,
                                    (p - p0) * SM_I8_MR * ldt + j * SM_W23_NR, ldt, (int32_t)nr);
                }
            }
            for (size_t ol = 0; ol < oc; ol++) {
                for (size_t t = 0; t < n; t += SM_W23_OSTEP)
                    SM_I8_FN(w23_output_transform)(M + ol * ldt + t, SM_W23_OB * ldt, Y + t, l.ldt);
                const int32_t o = (int32_t)(ob + ol);
                if (SM_W23_FINISH_FAST(s, Y, l.ldt, runs, run_count, &ep, o, s0, s1)) continue;
                int32_t *st = staging;             // one channel at a time: its rows are finished before the next
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
                for (int32_t y = s0; y < s1; y++) {
                    const int32_t *row = st + (size_t)(y - y0) * l.ldo;
                    for (int32_t x = 0; x < OW; x += SM_W23_ROW_STEP)
                        SM_W23_FINISH_ROW(row + x, &ep, o, (size_t)o * plane + (size_t)y * OW + (size_t)x,
                                          OW - x < SM_W23_ROW_STEP ? OW - x : SM_W23_ROW_STEP);
                }
            }
        }
    }
}

// The body is complete: its parameters and hooks end here, so a tier can include another body.
#undef SM_W23_XI
#undef SM_W23_CALIGN
#undef SM_W23_VQ_OFFSET
#undef SM_W23_NR
#undef SM_W23_OB
#undef SM_W23_V_BUDGET
#undef SM_W23_SHIFT
#undef SM_W23_QUANT
#undef SM_W23_FINISH16
#undef SM_W23_V16
#undef SM_W23_LOAD16
#undef SM_W23_ADD16
#undef SM_W23_SUB16
#undef SM_W23_CONSTS
#undef SM_W23_TSTEP
#undef SM_W23_OSTEP
#undef SM_W23_VL
#undef SM_W23_TILE
#undef SM_W23_FINISH_FAST
#undef SM_W23_ROW_STEP
#undef SM_W23_FINISH_ROW

// conv_entry_points.h — the fp32 convolution entry points of an x86 tier's table, written once: qualifying 3x3
// stride-1 shapes route to Winograd (winograd_f43_body.h) unless SIAMMASK_WINOGRAD=0, every other shape to the GEMM
// driver (conv_gemm_driver.h). Included by each tier's conv file inside its target region, after both bodies;
// declared by SM_DECLARE_CONV_F32_ENTRIES and placed in the table by SM_CONV_F32_TABLE_ENTRIES (kernels_internal.h).

static int SM_FN(use_winograd)(const sm_conv2d_shape *s) {
    return sm_winograd_enabled() && sm_winograd_applies(s) && sm_winograd_pays(s);
}

int32_t SM_FN(conv2d_f32_row_granule)(const sm_conv2d_shape *s) {
    return SM_FN(use_winograd)(s) ? SM_WINO_TILE * s->dilation_h : 1;
}

int32_t SM_FN(conv2d_f32_packing)(const sm_conv2d_shape *s) { return SM_FN(use_winograd)(s) ? 1 : 0; }

size_t SM_FN(winograd_f32_packed_floats)(const sm_conv2d_shape *s) { return SM_FN(wino_packed_floats)(s); }

void SM_FN(winograd_f32_pack)(const sm_conv2d_shape *s, const float *w, float *packed) {
    SM_FN(wino_pack)(s, w, packed);
}

size_t SM_FN(winograd_f32_workspace_bytes)(const sm_conv2d_shape *s, int32_t rows) {
    return SM_FN(wino_workspace_bytes)(s, rows);
}

void SM_FN(winograd_f32)(const sm_conv2d_shape *s, const float *input, const float *packed,
                         const sm_conv2d_epilogue *epilogue, float *output, int32_t row_begin, int32_t row_end,
                         void *workspace) {
    SM_FN(wino_run)(s, input, packed, epilogue, output, row_begin, row_end, workspace);
}

size_t SM_FN(conv2d_f32_packed_floats)(const sm_conv2d_shape *s) {
    return SM_FN(use_winograd)(s) ? SM_FN(wino_packed_floats)(s) : SM_FN(conv2d_packed_floats)(s);
}

void SM_FN(conv2d_f32_pack)(const sm_conv2d_shape *s, const float *w, float *packed) {
    if (SM_FN(use_winograd)(s)) SM_FN(wino_pack)(s, w, packed);
    else SM_FN(conv2d_pack)(s, w, packed);
}

size_t SM_FN(conv2d_f32_workspace_bytes)(const sm_conv2d_shape *s, int32_t rows) {
    return SM_FN(use_winograd)(s) ? SM_FN(wino_workspace_bytes)(s, rows) : SM_FN(conv2d_workspace_bytes)(s, rows);
}

void SM_FN(conv2d_f32)(const sm_conv2d_shape *s, const float *input, const float *packed,
                       const sm_conv2d_epilogue *epilogue, float *output, int32_t row_begin, int32_t row_end,
                       void *workspace) {
    if (SM_FN(use_winograd)(s)) SM_FN(wino_run)(s, input, packed, epilogue, output, row_begin, row_end, workspace);
    else SM_FN(conv2d)(s, input, packed, epilogue, output, row_begin, row_end, workspace);
}

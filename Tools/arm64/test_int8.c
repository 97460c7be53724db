// test_int8.c — the int8 kernels of every tier this build has and this CPU supports against the reference tier,
// byte for byte. Built by Tools/test_arm64.sh for arm64 (run under qemu-aarch64 -cpu max: neon and neondot) and
// usable on x86-64 as well:
//   cc -O2 -ffp-contract=off -ISources/CKernels/include -ISources/CKernels Tools/arm64/test_int8.c
//      Sources/CKernels/int8/*.c -lm -lpthread -o test_int8 && ./test_int8 [--quick]
// Prints one line per failure and a closing line "N passed, N failed".
#include "siam_int8.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#if defined(__clang__)
#pragma clang fp contract(off)
#pragma STDC FP_CONTRACT OFF   // gcc ignores it: build with -ffp-contract=off
#endif

static int passed, failed;

// ---- seeded data ----

static uint64_t rng_state;
static uint64_t rng_next(void) {   // SplitMix64
    uint64_t z = (rng_state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}
static int32_t rng_int(int32_t lo, int32_t hi) {   // [lo, hi]
    return lo + (int32_t)(rng_next() % (uint64_t)(hi - lo + 1));
}
static float rng_float(float lo, float hi) {
    return lo + (hi - lo) * (float)((rng_next() >> 40) * (1.0 / 16777216.0));
}

static void *xalloc(size_t bytes) {
    void *p = NULL;
    if (posix_memalign(&p, 64, bytes < 64 ? 64 : (bytes + 63) / 64 * 64) != 0) {
        fprintf(stderr, "out of memory\n");
        exit(2);
    }
    return p;
}

// ---- cases ----

// MAX_POS / MAX_NEG: all-255 activations with all +127 / -127 weights (u8 x s8 pairs past int16);
// MIN128: all-255 activations, weights -128 (stored as -127) and 127; ZERO_MIN128: all-0 activations with -128 and
// -127 weights (the signed flip's extreme, -128 x -127); TIES: halves for round-half-to-even; SPARSE: mostly the zero
// point, some negative scales and -0 biases (relu of -0).
enum { DATA_RANDOM = 0, DATA_MAX_POS = 1, DATA_MAX_NEG = 2, DATA_MIN128 = 3, DATA_TIES = 4, DATA_SPARSE = 5,
       DATA_ZERO_MIN128 = 6 };

typedef struct conv_case {
    sm_conv2d_shape s;
    int data;
    int residual;   // sm_int8_residual_type
    int relu;
    int output;     // sm_int8_output_type
    int bias;
    const char *label;
} conv_case;

static sm_conv2d_shape geometry(int32_t c, int32_t h, int32_t w, int32_t o, int32_t k, int32_t stride, int32_t pad,
                                int32_t dil) {
    sm_conv2d_shape s;
    s.in_channels = c;
    s.in_height = h;
    s.in_width = w;
    s.out_channels = o;
    s.out_height = (h + 2 * pad - dil * (k - 1) - 1) / stride + 1;
    s.out_width = (w + 2 * pad - dil * (k - 1) - 1) / stride + 1;
    s.kernel_h = s.kernel_w = k;
    s.stride_h = s.stride_w = stride;
    s.pad_top = s.pad_left = pad;
    s.dilation_h = s.dilation_w = dil;
    return s;
}

// Data of one case: input, weights, epilogue parameters; zx and the epilogue are chosen so that u8 outputs use the
// whole range (and clamp at both ends), f32 outputs are of order 1.
typedef struct problem {
    uint8_t *input;
    int8_t *weights;
    float *scale, *bias, *res_f32;
    uint8_t *res_u8;
    int32_t zx;
    sm_int8_epilogue e;
    size_t in_count, w_count, out_count, out_bytes;
} problem;

static void make_problem(problem *p, int data, int32_t in_count, int32_t channels, int32_t k, size_t out_count,
                         int residual, int relu, int output, int bias) {
    p->in_count = (size_t)in_count;
    p->w_count = (size_t)channels * (size_t)k;
    p->out_count = out_count;
    p->out_bytes = out_count * (output == SM_INT8_OUTPUT_F32 ? sizeof(float) : 1);
    p->input = xalloc(p->in_count + 1);
    p->weights = xalloc(p->w_count + 1);
    p->scale = xalloc(sizeof(float) * (size_t)channels + 4);
    p->bias = xalloc(sizeof(float) * (size_t)channels + 4);
    p->res_f32 = xalloc(sizeof(float) * out_count + 4);
    p->res_u8 = xalloc(out_count + 1);
    p->zx = rng_int(0, 255);
    for (size_t i = 0; i < p->in_count; i++) {
        switch (data) {
        case DATA_MAX_POS: case DATA_MAX_NEG: case DATA_MIN128: p->input[i] = 255; break;
        case DATA_ZERO_MIN128: p->input[i] = 0; break;
        case DATA_SPARSE: p->input[i] = (rng_next() & 7) ? (uint8_t)p->zx : (uint8_t)rng_int(0, 255); break;
        default: p->input[i] = (uint8_t)rng_int(0, 255);
        }
    }
    for (size_t i = 0; i < p->w_count; i++) {
        switch (data) {
        case DATA_MAX_POS: p->weights[i] = 127; break;
        case DATA_MAX_NEG: p->weights[i] = -127; break;
        case DATA_MIN128: p->weights[i] = (i % 3) ? -128 : 127; break;
        case DATA_ZERO_MIN128: p->weights[i] = (i % 5) ? -128 : -127; break;
        default: p->weights[i] = (int8_t)rng_int(-128, 127);
        }
    }
    if (data == DATA_MAX_POS || data == DATA_MAX_NEG || data == DATA_MIN128 || data == DATA_ZERO_MIN128)
        p->zx = (rng_next() & 1) ? 0 : 255;
    const float typical = 1.0f / (127.0f * 74.0f * sqrtf((float)(k > 0 ? k : 1)));
    for (int32_t o = 0; o < channels; o++) {
        p->scale[o] = data == DATA_TIES ? 0.5f : typical * rng_float(0.5f, 2.0f);
        p->bias[o] = data == DATA_TIES ? (float)rng_int(-3, 3) : rng_float(-1.0f, 1.0f);
        if (data == DATA_SPARSE && (o % 2)) {
            p->scale[o] = -p->scale[o];
            p->bias[o] = -0.0f;
        }
    }
    for (size_t i = 0; i < out_count; i++) {
        p->res_f32[i] = data == DATA_TIES ? (float)rng_int(-3, 3) : rng_float(-2.0f, 2.0f);
        p->res_u8[i] = (uint8_t)rng_int(0, 255);
    }
    memset(&p->e, 0, sizeof(p->e));
    p->e.scale = p->scale;
    p->e.bias = bias ? p->bias : NULL;
    p->e.residual_type = residual;
    p->e.residual = residual == SM_INT8_RESIDUAL_F32 ? (const void *)p->res_f32
                  : residual == SM_INT8_RESIDUAL_U8 ? (const void *)p->res_u8 : NULL;
    p->e.residual_scale = data == DATA_TIES ? 1.0f : rng_float(0.002f, 0.02f);
    p->e.residual_zero_point = rng_int(0, 255);
    p->e.relu = relu;
    p->e.output_type = output;
    p->e.output_inv_scale = data == DATA_TIES ? 1.0f : rng_float(40.0f, 160.0f);
    p->e.output_zero_point = rng_int(0, 255);
}

static void free_problem(problem *p) {
    free(p->input);
    free(p->weights);
    free(p->scale);
    free(p->bias);
    free(p->res_f32);
    free(p->res_u8);
}

static const sm_int8_kernel_table *fast_tiers[SM_INT8_TIER_COUNT];
static int fast_count;

static void report(int ok, const char *tier, const char *label, const char *what, const void *got, const void *want,
                   size_t bytes) {
    if (ok) {
        passed++;
        return;
    }
    failed++;
    size_t at = 0;
    while (at < bytes && ((const uint8_t *)got)[at] == ((const uint8_t *)want)[at]) at++;
    fprintf(stderr, "FAIL %s: %s %s: first differing byte %zu of %zu (got 0x%02x, want 0x%02x)\n", tier, label, what,
            at, bytes, at < bytes ? ((const uint8_t *)got)[at] : 0, at < bytes ? ((const uint8_t *)want)[at] : 0);
}

static void run_conv(const sm_int8_kernel_table *t, const sm_conv2d_shape *s, const problem *p, const void *packed,
                     void *out, const int32_t *bounds, int nb) {
    for (int i = 0; i + 1 < nb; i++) {
        size_t ws_bytes = t->conv2d_u8s8_workspace_bytes(s, bounds[i + 1] - bounds[i]);
        void *ws = ws_bytes ? xalloc(ws_bytes) : NULL;
        t->conv2d_u8s8(s, p->input, packed, &p->e, out, bounds[i], bounds[i + 1], ws);
        free(ws);
    }
}

static void *pack_conv(const sm_int8_kernel_table *t, const sm_conv2d_shape *s, const problem *p) {
    void *packed = xalloc(t->conv2d_u8s8_packed_bytes(s));
    t->conv2d_u8s8_pack(s, p->weights, p->zx, packed);
    return packed;
}

// One convolution case: every fast tier against the reference, over the given row splits (and in place when the
// residual has the output's type).
static void check_conv(const conv_case *c, int splits) {
    const sm_conv2d_shape *s = &c->s;
    const size_t out_count = (size_t)s->out_channels * s->out_height * s->out_width;
    problem p;
    make_problem(&p, c->data, s->in_channels * s->in_height * s->in_width, s->out_channels,
                 s->in_channels * s->kernel_h * s->kernel_w, out_count, c->residual, c->relu, c->output, c->bias);
    const sm_int8_kernel_table *ref = sm_int8_kernels_for_tier(SM_INT8_TIER_REFERENCE);
    void *ref_packed = pack_conv(ref, s, &p);
    void *want = xalloc(p.out_bytes + 1);
    memset(want, 0xCD, p.out_bytes);
    const int32_t H = s->out_height;
    int32_t whole[2] = {0, H};
    run_conv(ref, s, &p, ref_packed, want, whole, 2);
    int32_t split_sets[6][5] = {{0, H}, {0, 1, H}, {0, H / 2, H}, {0, H - 1, H}, {0, H / 3, H / 3, 2 * H / 3, H},
                                {0, 0, H, H}};
    int split_len[6] = {2, 3, 3, 3, 5, 4};
    void *got = xalloc(p.out_bytes + 1);
    for (int ti = 0; ti < fast_count; ti++) {
        const sm_int8_kernel_table *t = fast_tiers[ti];
        void *packed = pack_conv(t, s, &p);
        for (int si = 0; si < (splits ? 6 : 1); si++) {
            memset(got, 0xCD, p.out_bytes);
            run_conv(t, s, &p, packed, got, split_sets[si], split_len[si]);
            char what[64];
            snprintf(what, sizeof(what), "split %d", si);
            report(memcmp(got, want, p.out_bytes) == 0, t->name, c->label, what, got, want, p.out_bytes);
        }
        // In place: the residual buffer is the output.
        if ((c->residual == SM_INT8_RESIDUAL_F32 && c->output == SM_INT8_OUTPUT_F32) ||
            (c->residual == SM_INT8_RESIDUAL_U8 && c->output == SM_INT8_OUTPUT_U8)) {
            problem q = p;
            memcpy(got, c->residual == SM_INT8_RESIDUAL_F32 ? (void *)p.res_f32 : (void *)p.res_u8, p.out_bytes);
            q.e.residual = got;
            int32_t halves[3] = {0, H / 2, H};
            run_conv(t, s, &q, packed, got, halves, 3);
            report(memcmp(got, want, p.out_bytes) == 0, t->name, c->label, "in place", got, want, p.out_bytes);
        }
        free(packed);
    }
    free(got);
    free(want);
    free(ref_packed);
    free_problem(&p);
}

// A row range writes those rows of every channel and nothing else.
static void check_rows_only(void) {
    conv_case c = {geometry(4, 9, 19, 10, 3, 1, 1, 1), DATA_RANDOM, SM_INT8_RESIDUAL_F32, 1, SM_INT8_OUTPUT_F32, 1,
                   "rows [3, 6) only"};
    const sm_conv2d_shape *s = &c.s;
    const size_t plane = (size_t)s->out_height * s->out_width, out_count = plane * s->out_channels;
    for (int output = 0; output < 2; output++) {
        c.output = output;
        problem p;
        make_problem(&p, c.data, s->in_channels * s->in_height * s->in_width, s->out_channels,
                     s->in_channels * 9, out_count, c.residual, c.relu, c.output, c.bias);
        const sm_int8_kernel_table *ref = sm_int8_kernels_for_tier(SM_INT8_TIER_REFERENCE);
        void *rp = pack_conv(ref, s, &p);
        void *want = xalloc(p.out_bytes);
        memset(want, 0xCD, p.out_bytes);
        int32_t b[2] = {3, 6};
        run_conv(ref, s, &p, rp, want, b, 2);
        for (int ti = 0; ti < fast_count; ti++) {
            void *packed = pack_conv(fast_tiers[ti], s, &p);
            void *got = xalloc(p.out_bytes);
            memset(got, 0xCD, p.out_bytes);
            run_conv(fast_tiers[ti], s, &p, packed, got, b, 2);
            report(memcmp(got, want, p.out_bytes) == 0, fast_tiers[ti]->name, c.label, output ? "u8" : "f32", got,
                   want, p.out_bytes);
            free(got);
            free(packed);
        }
        free(want);
        free(rp);
        free_problem(&p);
    }
}

// ---- xcorr ----

static void check_xcorr(int32_t channels, int32_t sh, int32_t sw, int32_t kh, int32_t kw, int data, int residual,
                        int relu, int output, int bias, const char *label) {
    const int32_t OH = sh - kh + 1, OW = sw - kw + 1;
    const size_t out_count = (size_t)channels * OH * OW;
    problem p;
    make_problem(&p, data, channels * sh * sw, channels, kh * kw, out_count, residual, relu, output, bias);
    const sm_int8_kernel_table *ref = sm_int8_kernels_for_tier(SM_INT8_TIER_REFERENCE);
    void *rp = xalloc(ref->xcorr_u8s8_packed_bytes(channels, kh, kw));
    ref->xcorr_u8s8_pack(p.weights, channels, kh, kw, p.zx, rp);
    void *want = xalloc(p.out_bytes + 1);
    memset(want, 0xCD, p.out_bytes);
    ref->depthwise_xcorr_u8s8(p.input, channels, sh, sw, rp, kh, kw, &p.e, want, 0, channels, NULL);
    void *got = xalloc(p.out_bytes + 1);
    for (int ti = 0; ti < fast_count; ti++) {
        const sm_int8_kernel_table *t = fast_tiers[ti];
        void *packed = xalloc(t->xcorr_u8s8_packed_bytes(channels, kh, kw));
        t->xcorr_u8s8_pack(p.weights, channels, kh, kw, p.zx, packed);
        size_t wsb = t->xcorr_u8s8_workspace_bytes(sh, sw, kh, kw);
        void *ws = wsb ? xalloc(wsb) : NULL;
        memset(got, 0xCD, p.out_bytes);
        int32_t mid = channels / 3;   // two calls over channel ranges
        t->depthwise_xcorr_u8s8(p.input, channels, sh, sw, packed, kh, kw, &p.e, got, 0, mid, ws);
        t->depthwise_xcorr_u8s8(p.input, channels, sh, sw, packed, kh, kw, &p.e, got, mid, channels, ws);
        report(memcmp(got, want, p.out_bytes) == 0, t->name, label, "xcorr", got, want, p.out_bytes);
        free(ws);
        free(packed);
    }
    free(got);
    free(want);
    free(rp);
    free_problem(&p);
}

// The Winograd-domain layer kind (siam_int8.h, wd23): every fast tier against the reference over row splits.
static void check_wd23(const sm_conv2d_shape *s, int data, int residual, int relu, int output, const int16_t *m,
                       const char *label) {
    const size_t out_count = (size_t)s->out_channels * s->out_height * s->out_width;
    problem p;
    make_problem(&p, data, s->in_channels * s->in_height * s->in_width, s->out_channels, s->in_channels * 9, out_count,
                 residual, relu, output, 1);
    const sm_int8_kernel_table *ref = sm_int8_kernels_for_tier(SM_INT8_TIER_REFERENCE);
    void *want = xalloc(p.out_bytes + 1), *got = xalloc(p.out_bytes + 1);
    memset(want, 0xCD, p.out_bytes);
    void *rp = xalloc(ref->conv2d_wd23_packed_bytes(s));
    ref->conv2d_wd23_pack(s, p.weights, p.zx, m, rp);
    void *rws = xalloc(ref->conv2d_wd23_workspace_bytes(s, s->out_height) + 1);
    ref->conv2d_wd23(s, p.input, rp, &p.e, want, 0, s->out_height, rws);
    const int32_t H = s->out_height;
    int32_t splits[4][4] = {{0, H}, {0, 1, H}, {0, H / 2, H}, {0, H / 3, 2 * H / 3, H}};
    int lens[4] = {2, 3, 3, 4};
    for (int ti = 0; ti < fast_count; ti++) {
        const sm_int8_kernel_table *t = fast_tiers[ti];
        void *packed = xalloc(t->conv2d_wd23_packed_bytes(s));
        t->conv2d_wd23_pack(s, p.weights, p.zx, m, packed);
        for (int si = 0; si < 4; si++) {
            memset(got, 0xCD, p.out_bytes);
            for (int i = 0; i + 1 < lens[si]; i++) {
                void *ws = xalloc(t->conv2d_wd23_workspace_bytes(s, splits[si][i + 1] - splits[si][i]) + 1);
                t->conv2d_wd23(s, p.input, packed, &p.e, got, splits[si][i], splits[si][i + 1], ws);
                free(ws);
            }
            char what[64];
            snprintf(what, sizeof(what), "wd23 split %d", si);
            report(memcmp(got, want, p.out_bytes) == 0, t->name, label, what, got, want, p.out_bytes);
        }
        free(packed);
    }
    free(rws);
    free(rp);
    free(got);
    free(want);
    free_problem(&p);
}

int main(int argc, char **argv) {
    int quick = argc > 1 && strcmp(argv[1], "--quick") == 0;
    rng_state = 12345;
    for (int t = 1; t < SM_INT8_TIER_COUNT; t++) {
        const sm_int8_kernel_table *table = sm_int8_kernels_for_tier((sm_int8_tier)t);
        if (table && table->conv2d_u8s8 && sm_int8_tier_supported((sm_int8_tier)t)) fast_tiers[fast_count++] = table;
    }
    printf("tiers:");
    for (int i = 0; i < fast_count; i++) printf(" %s", fast_tiers[i]->name);
    printf(" (active: %s)\n", sm_int8_kernels()->name);
    if (fast_count == 0) printf("no fast int8 tier on this CPU/build: nothing to compare\n");

    char label[160];
    // Every network shape (channel counts as in SiamMask where affordable, else reduced).
    const struct { sm_conv2d_shape s; const char *label; } net[] = {
        {geometry(3, 127, 127, 64, 7, 2, 0, 1), "stem 7x7 s2 3->64 on 127 (61x61)"},
        {geometry(3, 255, 255, 8, 7, 2, 0, 1), "stem 7x7 s2 3->8 on 255 (125x125)"},
        {geometry(64, 31, 31, 256, 1, 1, 0, 1), "1x1 64->256 @31"},
        {geometry(256, 15, 15, 1024, 1, 1, 0, 1), "1x1 256->1024 @15"},
        {geometry(1024, 7, 7, 36, 1, 1, 0, 1), "1x1 1024->36 @7"},
        {geometry(64, 31, 31, 64, 3, 1, 1, 1), "3x3 s1 p1 64->64 @31"},
        {geometry(128, 31, 31, 24, 3, 2, 0, 1), "3x3 s2 p0 128->24 @31 (15x15)"},
        {geometry(256, 15, 15, 32, 3, 1, 2, 2), "3x3 d2 p2 256->32 @15"},
        {geometry(37, 31, 31, 19, 3, 1, 0, 1), "3x3 p0 37->19 @31 (29x29)"},
        {geometry(29, 7, 7, 33, 3, 1, 0, 1), "3x3 p0 29->33 @7 (5x5)"},
        {geometry(5, 127, 127, 3, 3, 1, 1, 1), "3x3 p1 5->3 @127"},
        {geometry(16, 3, 3, 1, 3, 1, 0, 1), "3x3 p0 to 1x1, one output channel"},
        {geometry(1, 1, 1, 1, 1, 1, 0, 1), "1x1 on 1x1, one channel"},
        {geometry(255, 1, 1, 63, 1, 1, 0, 1), "1x1 on 1x1, odd channels"},
    };
    for (size_t i = 0; i < sizeof(net) / sizeof(net[0]); i++) {
        if (quick && i < 2) continue;
        conv_case c = {net[i].s, DATA_RANDOM, SM_INT8_RESIDUAL_NONE, 1, (int)(i % 2), 1, net[i].label};
        check_conv(&c, 0);
    }
    // Saturation and extremes: all-255 activations with all +127 / all -127 / -128 weights, large K.
    const int extremes[4] = {DATA_MAX_POS, DATA_MAX_NEG, DATA_MIN128, DATA_ZERO_MIN128};
    for (int x = 0; x < 4; x++) {
        for (int out = 0; out < 2; out++) {
            conv_case c1 = {geometry(1024, 3, 5, 9, 1, 1, 0, 1), extremes[x], SM_INT8_RESIDUAL_NONE, 0, out, 1, ""};
            snprintf(label, sizeof(label), "extreme %d 1x1 K=1024 out %d", x, out);
            c1.label = label;
            check_conv(&c1, 0);
            conv_case c2 = {geometry(256, 5, 6, 7, 3, 1, 1, 1), extremes[x], SM_INT8_RESIDUAL_NONE, 0, out, 1, ""};
            snprintf(label, sizeof(label), "extreme %d 3x3 p1 K=2304 out %d", x, out);
            c2.label = label;
            check_conv(&c2, 0);
        }
    }
    // Ties for round-half-to-even, sparse data (mostly the zero point).
    for (int out = 0; out < 2; out++) {
        conv_case c = {geometry(9, 6, 11, 13, 3, 1, 1, 1), DATA_TIES, SM_INT8_RESIDUAL_F32, 0, out, 1, "ties"};
        check_conv(&c, 0);
        conv_case d = {geometry(33, 6, 11, 13, 3, 1, 1, 1), DATA_SPARSE, SM_INT8_RESIDUAL_U8, 1, out, 1, "sparse"};
        check_conv(&d, 0);
        conv_case z = {geometry(5, 6, 11, 13, 1, 1, 0, 1), DATA_SPARSE, SM_INT8_RESIDUAL_NONE, 1, out, 1,
                       "sparse, relu of -0"};
        check_conv(&z, 0);
    }
    // Tile edges: K around multiples of 4, 8, 16, 64; output channels around the micro-tiles (4, 6, 8);
    // widths around the pixel tiles (8, 12, 16, 32, 48, 64) and B block sizes.
    const int32_t ks[] = {1, 2, 3, 4, 5, 7, 8, 9, 12, 15, 16, 17, 31, 32, 33, 63, 64, 65, 127, 128, 129, 300};
    for (size_t i = 0; i < sizeof(ks) / sizeof(ks[0]); i++) {
        snprintf(label, sizeof(label), "1x1 K=%d", ks[i]);
        conv_case c = {geometry(ks[i], 4, 5, 9, 1, 1, 0, 1), DATA_RANDOM, SM_INT8_RESIDUAL_NONE, 0,
                       (int)(i % 2), 1, label};
        check_conv(&c, 0);
    }
    for (int32_t ci = 1; ci <= 8; ci++) {   // 3x3: K = 9c, odd, around multiples of 4 and 8
        snprintf(label, sizeof(label), "3x3 p1 C=%d", ci);
        conv_case c = {geometry(ci, 5, 7, 5, 3, 1, 1, 1), DATA_RANDOM, SM_INT8_RESIDUAL_NONE, 1, ci % 2, 1, label};
        check_conv(&c, 0);
    }
    const int32_t os[] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 11, 12, 13, 15, 16, 17, 23, 24, 25};
    for (size_t i = 0; i < sizeof(os) / sizeof(os[0]); i++) {
        snprintf(label, sizeof(label), "out channels %d", os[i]);
        conv_case c = {geometry(5, 3, 9, os[i], 1, 1, 0, 1), DATA_RANDOM, SM_INT8_RESIDUAL_NONE, 0, (int)(i % 2), 1,
                       label};
        check_conv(&c, 0);
    }
    const int32_t ws[] = {1, 2, 3, 4, 5, 7, 8, 9, 11, 12, 13, 15, 16, 17, 23, 24, 25, 31, 32, 33, 47, 48, 49,
                          63, 64, 65, 95, 96, 97};
    for (size_t i = 0; i < sizeof(ws) / sizeof(ws[0]); i++) {
        snprintf(label, sizeof(label), "width %d", ws[i]);
        conv_case c = {geometry(3, 2, ws[i], 7, 3, 1, 1, 1), DATA_RANDOM, SM_INT8_RESIDUAL_U8, 1, (int)(i % 2), 1,
                       label};
        check_conv(&c, 0);
    }
    {
        conv_case c1 = {geometry(1200, 5, 40, 5, 1, 1, 0, 1), DATA_RANDOM, 0, 0, 0, 1, "several B blocks (K=1200)"};
        check_conv(&c1, 1);
        conv_case c2 = {geometry(2, 70, 70, 3, 1, 1, 0, 1), DATA_RANDOM, 0, 0, 1, 1, "4900 pixels, 1x1"};
        check_conv(&c2, 0);
        conv_case c3 = {geometry(3, 40, 40, 3, 3, 1, 1, 1), DATA_RANDOM, 0, 0, 0, 1, "3x3 p1 on 40x40"};
        check_conv(&c3, 0);
    }
    // Padding only implied by the output size (bottom/right), or only on the top/left.
    {
        sm_conv2d_shape a = geometry(3, 5, 7, 6, 2, 1, 0, 1);
        a.out_height = 5;   // rows 5 and the column 7 read past the input: implied bottom/right padding
        a.out_width = 7;
        conv_case c1 = {a, DATA_RANDOM, SM_INT8_RESIDUAL_F32, 0, 0, 1, "implied bottom/right padding"};
        check_conv(&c1, 1);
        sm_conv2d_shape b = geometry(4, 6, 6, 5, 3, 2, 0, 1);
        b.pad_top = 1;      // top/left padding 1, output size as if none at the bottom/right
        b.pad_left = 2;
        b.out_height = 3;
        b.out_width = 3;
        conv_case c2 = {b, DATA_RANDOM, SM_INT8_RESIDUAL_U8, 1, 1, 1, "top/left padding only, stride 2"};
        check_conv(&c2, 1);
    }
    // Row-range splits.
    const struct { sm_conv2d_shape s; const char *label; } split_cases[] = {
        {geometry(3, 63, 63, 9, 7, 2, 0, 1), "7x7 s2 splits"},
        {geometry(5, 17, 13, 10, 3, 1, 1, 1), "3x3 p1 splits"},
        {geometry(4, 17, 17, 7, 3, 1, 2, 2), "3x3 d2 splits"},
        {geometry(6, 11, 11, 9, 1, 1, 0, 1), "1x1 splits"},
        {geometry(5, 15, 15, 6, 3, 2, 0, 1), "3x3 s2 splits"},
    };
    for (size_t i = 0; i < sizeof(split_cases) / sizeof(split_cases[0]); i++) {
        conv_case c = {split_cases[i].s, DATA_RANDOM, SM_INT8_RESIDUAL_F32, 1, (int)(i % 2), 1, split_cases[i].label};
        check_conv(&c, 1);
    }
    // Every epilogue combination: bias, residual (none / f32 / u8), relu, output f32 / u8; in place when the types
    // match.
    for (int bias = 0; bias < 2; bias++)
        for (int residual = 0; residual < 3; residual++)
            for (int relu = 0; relu < 2; relu++)
                for (int out = 0; out < 2; out++) {
                    snprintf(label, sizeof(label), "epilogue bias %d residual %d relu %d out %d", bias, residual,
                             relu, out);
                    conv_case c = {geometry(7, 9, 11, 9, 3, 1, 1, 1), DATA_RANDOM, residual, relu, out, bias, label};
                    check_conv(&c, 0);
                }
    check_rows_only();
    // Depth-wise cross-correlation: SiamMask's (256 x 29x29 search, 5x5 kernel) and sizes around the tiles.
    check_xcorr(quick ? 16 : 256, 29, 29, 5, 5, DATA_RANDOM, 0, 0, SM_INT8_OUTPUT_F32, 0, "xcorr 29x29 * 5x5");
    check_xcorr(7, 29, 29, 5, 5, DATA_RANDOM, 0, 0, SM_INT8_OUTPUT_U8, 1, "xcorr u8 out");
    for (int x = 0; x < 4; x++)
        check_xcorr(5, 23, 23, 5, 5, extremes[x], 0, 0, x % 2, 1, "xcorr extremes");
    check_xcorr(6, 9, 9, 3, 3, DATA_SPARSE, 0, 1, SM_INT8_OUTPUT_F32, 1, "xcorr sparse, relu of -0");
    const int32_t xw[] = {1, 2, 3, 4, 5, 7, 8, 9, 15, 16, 17, 31, 32, 33, 63, 64, 65, 70};
    for (size_t i = 0; i < sizeof(xw) / sizeof(xw[0]); i++) {
        for (int32_t kw = 1; kw <= 9; kw += 2) {
            if (kw > xw[i] + 4) continue;
            snprintf(label, sizeof(label), "xcorr out width %d kernel 3x%d", xw[i], kw);
            check_xcorr(3, 5, xw[i] + kw - 1, 3, kw, DATA_RANDOM, (int)(i % 3), (int)(i % 2), (int)((i + kw) % 2), 1,
                        label);
        }
    }
    for (int residual = 0; residual < 3; residual++)
        for (int relu = 0; relu < 2; relu++)
            for (int out = 0; out < 2; out++) {
                snprintf(label, sizeof(label), "xcorr epilogue residual %d relu %d out %d", residual, relu, out);
                check_xcorr(4, 9, 12, 4, 6, DATA_RANDOM, residual, relu, out, out, label);
            }
    check_xcorr(3, 1, 1, 1, 1, DATA_RANDOM, 0, 1, 1, 1, "xcorr 1x1");
    check_xcorr(2, 8, 8, 8, 8, DATA_TIES, 1, 0, 1, 1, "xcorr ties, one output");

    // Winograd-domain convolutions: dilations 1-3, every padding, sizes around the tiles and the 8-tile gathers,
    // channel counts around the groups of 4 and 8, output channels around the micro-tiles, multipliers 1 to 32767.
    {
        int16_t mults[4][16];
        for (int i = 0; i < 16; i++) {
            mults[0][i] = 32767;
            mults[1][i] = 1;
            mults[2][i] = (int16_t)(700 + 2000 * i);
            mults[3][i] = (int16_t)rng_int(1, 32767);
        }
        const int32_t sizes[] = {3, 7, 10, 13, 20, 37}, chans[] = {1, 3, 4, 5, 8, 9, 17}, outs[] = {1, 4, 7, 8, 9, 33};
        int n = 0;
        for (int32_t d = 1; d <= 3; d++)
            for (int32_t pad = 0; pad <= d; pad++)
                for (size_t si = 0; si < sizeof(sizes) / sizeof(sizes[0]); si++, n++) {
                    if (quick && n % 3) continue;
                    const int32_t c = chans[n % 7], o = outs[n % 6];
                    const sm_conv2d_shape s = geometry(c, sizes[si] + (n % 2), sizes[si], o, 3, 1, pad, d);
                    if (s.out_height < 1 || s.out_width < 1) continue;
                    snprintf(label, sizeof(label), "wd23 C=%d O=%d %dx%d p%d d%d", c, o, s.in_height, s.in_width, pad, d);
                    check_wd23(&s, DATA_RANDOM, n % 3, n % 2, (n / 2) % 2, mults[n % 4], label);
                }
        const int wd_extremes[] = {DATA_MAX_POS, DATA_MAX_NEG, DATA_MIN128, DATA_ZERO_MIN128, DATA_SPARSE, DATA_TIES};
        for (int x = 0; x < 6; x++) {
            const sm_conv2d_shape s = geometry(quick ? 64 : 1024, 5, 5, 3, 3, 1, 1, 1);
            check_wd23(&s, wd_extremes[x], 0, 0, x % 2, mults[0], "wd23 extremes");
        }
        const sm_conv2d_shape big = geometry(33, 63, 63, 10, 3, 1, 1, 1);
        check_wd23(&big, DATA_RANDOM, 0, 1, 1, mults[3], "wd23 63x63 (several chunks)");
    }

    printf("%d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}

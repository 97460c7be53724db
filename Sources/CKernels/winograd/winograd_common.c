// winograd_common.c — the parts of Winograd F(4x4, 3x3) that are the same on every tier: the weight transform
// (once per model load, in double so the only rounding is the final one) and the on/off switch.
#include "winograd_internal.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

// G (6 x 3) for the points 0, 1, -1, 2, -2, infinity.
static const double sm_wino_g[SM_WINO_ALPHA][3] = {
    {1.0 / 4, 0, 0},
    {-1.0 / 6, -1.0 / 6, -1.0 / 6},
    {-1.0 / 6, 1.0 / 6, -1.0 / 6},
    {1.0 / 24, 1.0 / 12, 1.0 / 6},
    {1.0 / 24, -1.0 / 12, 1.0 / 6},
    {0, 0, 1},
};

void sm_winograd_f43_transform_one(const float *g, float *u) {
    double t[SM_WINO_ALPHA][3];   // G g
    for (int i = 0; i < SM_WINO_ALPHA; i++)
        for (int j = 0; j < 3; j++)
            t[i][j] = sm_wino_g[i][0] * g[0 * 3 + j] + sm_wino_g[i][1] * g[1 * 3 + j] + sm_wino_g[i][2] * g[2 * 3 + j];
    for (int i = 0; i < SM_WINO_ALPHA; i++)
        for (int j = 0; j < SM_WINO_ALPHA; j++)   // (G g) G^T
            u[i * SM_WINO_ALPHA + j] =
                (float)(t[i][0] * sm_wino_g[j][0] + t[i][1] * sm_wino_g[j][1] + t[i][2] * sm_wino_g[j][2]);
}

void sm_winograd_f43_transform_weights(const sm_conv2d_shape *s, const float *weights_oihw, float *u) {
    const size_t O = (size_t)s->out_channels, C = (size_t)s->in_channels;
    for (size_t o = 0; o < O; o++) {
        for (size_t c = 0; c < C; c++) {
            float one[SM_WINO_XI];
            sm_winograd_f43_transform_one(weights_oihw + (o * C + c) * 9, one);
            for (int xi = 0; xi < SM_WINO_XI; xi++) u[((size_t)xi * O + o) * C + c] = one[xi];
        }
    }
}

int sm_winograd_applies_f32(const sm_conv2d_shape *s) { return sm_winograd_applies(s); }

static pthread_once_t sm_wino_once = PTHREAD_ONCE_INIT;
static int sm_wino_on = 1;

static void sm_wino_read_switch(void) {
    const char *v = getenv("SIAMMASK_WINOGRAD");
    sm_wino_on = !(v && (strcmp(v, "0") == 0 || strcmp(v, "off") == 0));
}

int sm_winograd_enabled(void) {
    pthread_once(&sm_wino_once, sm_wino_read_switch);
    return sm_wino_on;
}

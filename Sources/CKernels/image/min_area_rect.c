// min_area_rect.c — cv2.convexHull (integer points), cv2.minAreaRect and cv2.boxPoints as OpenCV 4.6 computes them
// (convhull.cpp, rotcalipers.cpp, RotatedRect::points), including the single/double precision of each step, since
// the tracker's polygon is the float32 output of these.
//
// Convex hull (Sklansky): the points are sorted by (x, y, original index); the upper chain is built from the first
// sorted point to the first point of maximal y and from the last sorted point back to it, the lower chain likewise
// towards the first point of minimal y; each chain is a stack scan that keeps strictly convex turns (64-bit
// cross products). The chains are concatenated in the requested orientation (collinear input keeps only the two
// extremes) and the index list is cyclically shifted to be monotone when that is possible.
//
// minAreaRect: the hull (counter-clockwise in OpenCV's sense, as points, converted to float) goes through OpenCV's
// rotating calipers: edge vectors and their inverse lengths ((float)(1/sqrt(dx^2+dy^2)) in double), four calipers
// starting at the extreme points (lowest y, highest x, highest y, lowest x; first occurrence), at each of n steps
// the caliper whose edge makes the smallest turn (decided by the sign of a float cross product, the 4.5.1+ rule)
// advances and the base direction becomes that edge's unit vector; the rectangle of the step with the smallest
// float area (ties: the later step) wins. The centre, size (sqrt in double) and angle (atan2 in double, degrees)
// follow from the winning corner and side vectors. Two hull points give a zero-height box along the segment, one
// point a zero-size box.
#include "image_internal.h"
#include "siam_image.h"

#include <float.h>
#include <stdlib.h>
#include <string.h>

#define SM_PI 3.1415926535897932384626433832795

static inline int sign_i64(int64_t v) { return (v > 0) - (v < 0); }

// One Sklansky chain over the sorted points `order` (indices into pts) from `start` to `end` (either direction).
// Writes the chain's positions (into `order`) to stack and returns their count.
static int sklansky(const sm_point *pts, const int32_t *order, int start, int end, int *stack, int nsign, int sign2) {
    const int incr = end > start ? 1 : -1;
    int pprev = start, pcur = pprev + incr, pnext = pcur + incr;
    int size = 3;
    const sm_point *ps = &pts[order[start]], *pe = &pts[order[end]];
    if (start == end || (ps->x == pe->x && ps->y == pe->y)) {
        stack[0] = start;
        return 1;
    }
    stack[0] = pprev;
    stack[1] = pcur;
    stack[2] = pnext;
    end += incr;   // one past the end
    while (pnext != end) {
        const sm_point *a = &pts[order[pprev]], *c = &pts[order[pcur]], *n = &pts[order[pnext]];
        int32_t by = n->y - c->y;
        if (sign_i64(by) != nsign) {
            int32_t ax = c->x - a->x, bx = n->x - c->x, ay = c->y - a->y;
            int64_t convexity = (int64_t)ay * bx - (int64_t)ax * by;   // > 0: convex turn
            if (sign_i64(convexity) == sign2 && (ax != 0 || ay != 0)) {
                pprev = pcur;
                pcur = pnext;
                pnext += incr;
                stack[size++] = pnext;
            } else if (pprev == start) {
                pcur = pnext;
                stack[1] = pcur;
                pnext += incr;
                stack[2] = pnext;
            } else {
                stack[size - 2] = pnext;
                pcur = pprev;
                pprev = stack[size - 4];
                size--;
            }
        } else {
            pnext += incr;
            stack[size - 1] = pnext;
        }
    }
    return size - 1;
}

// Sorts by (x, y, index): OpenCV sorts pointers with ties broken by address, i.e. by index.
typedef struct {
    int32_t x, y, i;
} sort_key;

static int key_less(const sort_key *a, const sort_key *b) {
    if (a->x != b->x) return a->x < b->x;
    if (a->y != b->y) return a->y < b->y;
    return a->i < b->i;
}

static void merge_sort(sort_key *v, sort_key *tmp, size_t n) {
    if (n < 2) return;
    size_t h = n / 2;
    merge_sort(v, tmp, h);
    merge_sort(v + h, tmp, n - h);
    size_t i = 0, j = h, k = 0;
    while (i < h && j < n) tmp[k++] = key_less(&v[j], &v[i]) ? v[j++] : v[i++];
    while (i < h) tmp[k++] = v[i++];
    while (j < n) tmp[k++] = v[j++];
    memcpy(v, tmp, n * sizeof(sort_key));
}

int32_t sm_convex_hull(const sm_point *pts, int32_t total, int32_t clockwise, int32_t *hull) {
    if (!pts || !hull || total <= 0) return 0;
    const size_t n = (size_t)total;
    sort_key *keys = (sort_key *)malloc(2 * n * sizeof(sort_key));
    int32_t *order = (int32_t *)malloc(n * sizeof(int32_t));
    int *stack = (int *)malloc((n + 8) * sizeof(int));
    if (!keys || !order || !stack) {
        free(keys);
        free(order);
        free(stack);
        return -1;
    }
    for (int32_t i = 0; i < total; i++) {
        keys[i].x = pts[i].x;
        keys[i].y = pts[i].y;
        keys[i].i = i;
    }
    merge_sort(keys, keys + n, n);
    for (int32_t i = 0; i < total; i++) order[i] = keys[i].i;
    free(keys);

    int miny = 0, maxy = 0;
    for (int i = 1; i < total; i++) {
        int32_t y = pts[order[i]].y;
        if (pts[order[miny]].y > y) miny = i;
        if (pts[order[maxy]].y < y) maxy = i;
    }

    int32_t nout = 0;
    const sm_point *first = &pts[order[0]], *last = &pts[order[total - 1]];
    if (first->x == last->x && first->y == last->y) {
        hull[nout++] = 0;   // all points coincide; OpenCV reports index 0
    } else {
        // Upper half.
        int *tl = stack;
        int tl_count = sklansky(pts, order, 0, maxy, tl, -1, 1);
        int *tr = stack + tl_count;
        int tr_count = sklansky(pts, order, total - 1, maxy, tr, -1, -1);
        if (!clockwise) {
            int *t = tl;
            tl = tr;
            tr = t;
            int c = tl_count;
            tl_count = tr_count;
            tr_count = c;
        }
        for (int i = 0; i < tl_count - 1; i++) hull[nout++] = order[tl[i]];
        for (int i = tr_count - 1; i > 0; i--) hull[nout++] = order[tr[i]];
        int stop = tr_count > 2 ? tr[1] : tl_count > 2 ? tl[tl_count - 2] : -1;

        // Lower half.
        int *bl = stack;
        int bl_count = sklansky(pts, order, 0, miny, bl, 1, -1);
        int *br = stack + bl_count;
        int br_count = sklansky(pts, order, total - 1, miny, br, 1, 1);
        if (clockwise) {
            int *t = bl;
            bl = br;
            br = t;
            int c = bl_count;
            bl_count = br_count;
            br_count = c;
        }
        if (stop >= 0) {
            int check = bl_count > 2 ? bl[1] : bl_count + br_count > 2 ? br[2 - bl_count] : -1;
            if (check == stop || (check >= 0 && pts[order[check]].x == pts[order[stop]].x &&
                                  pts[order[check]].y == pts[order[stop]].y)) {
                // All points on one line: the lower chain mirrors the upper one.
                if (bl_count > 2) bl_count = 2;
                if (br_count > 2) br_count = 2;
            }
        }
        for (int i = 0; i < bl_count - 1; i++) hull[nout++] = order[bl[i]];
        for (int i = br_count - 1; i > 0; i--) hull[nout++] = order[br[i]];

        // Cyclic shift towards a monotone index sequence, when the sequence allows one.
        if (nout >= 3) {
            int min_i = 0, max_i = 0, lt = 0;
            for (int i = 1; i < nout; i++) {
                int idx = hull[i];
                lt += hull[i - 1] < idx;
                if (lt > 1 && lt <= i - 2) break;
                if (idx < hull[min_i]) min_i = i;
                if (idx > hull[max_i]) max_i = i;
            }
            int dist = abs(max_i - min_i);
            if ((dist == 1 || dist == nout - 1) && (lt <= 1 || lt >= nout - 2)) {
                int ascending = (max_i + 1) % nout == min_i;
                int i0 = ascending ? min_i : max_i, j = i0, i;
                if (i0 > 0) {
                    for (i = 0; i < nout; i++) {
                        int cur = stack[i] = hull[j];
                        int next_j = j + 1 < nout ? j + 1 : 0;
                        int next = hull[next_j];
                        if (i < nout - 1 && (ascending != (cur < next))) break;
                        j = next_j;
                    }
                    if (i == nout) memcpy(hull, stack, (size_t)nout * sizeof(int32_t));
                }
            }
        }
    }
    free(order);
    free(stack);
    return nout;
}

typedef struct {
    float x, y;
} vec2f;

// true when vec1 is clockwise of vec2 (OpenCV's firstVecIsRight), in float.
static inline int first_is_right(vec2f a, vec2f b) {
    vec2f t = {a.y, -a.x};
    return t.x * b.x + t.y * b.y < 0;
}

// OpenCV's rotatingCalipers in CALIPERS_MINAREARECT mode; out = corner, side vector 1, side vector 2.
static void rotating_calipers(const vec2f *p, int n, float *inv_len, vec2f *vect, float out[6]) {
    float minarea = FLT_MAX;
    int left = 0, bottom = 0, right = 0, top = 0;
    int seq[4];
    float base_a, base_b = 0.0f;
    float left_x, right_x, top_y, bottom_y;
    vec2f pt0 = p[0];
    left_x = right_x = pt0.x;
    top_y = bottom_y = pt0.y;
    for (int i = 0; i < n; i++) {
        if (pt0.x < left_x) left_x = pt0.x, left = i;
        if (pt0.x > right_x) right_x = pt0.x, right = i;
        if (pt0.y > top_y) top_y = pt0.y, top = i;
        if (pt0.y < bottom_y) bottom_y = pt0.y, bottom = i;
        vec2f pt = p[i + 1 < n ? i + 1 : 0];
        double dx = pt.x - pt0.x, dy = pt.y - pt0.y;   // float differences, widened
        vect[i].x = (float)dx;
        vect[i].y = (float)dy;
        inv_len[i] = (float)(1.0 / sqrt(dx * dx + dy * dy));
        pt0 = pt;
    }
    float orientation = 0.0f;
    {
        double ax = vect[n - 1].x, ay = vect[n - 1].y;
        for (int i = 0; i < n; i++) {
            double bx = vect[i].x, by = vect[i].y;
            double convexity = ax * by - ay * bx;
            if (convexity != 0) {
                orientation = convexity > 0 ? 1.0f : -1.0f;
                break;
            }
            ax = bx;
            ay = by;
        }
    }
    base_a = orientation;   // OpenCV asserts orientation != 0; a hull of > 2 points is never degenerate
    seq[0] = bottom;
    seq[1] = right;
    seq[2] = top;
    seq[3] = left;

    int best_left = 0, best_bottom = 0;
    float best_a = 0, best_b = 0, best_w = 0, best_h = 0;
    for (int k = 0; k < n; k++) {
        vec2f rot[4];
        rot[0] = vect[seq[0]];
        rot[1].x = vect[seq[1]].y;
        rot[1].y = -vect[seq[1]].x;
        rot[2].x = -vect[seq[2]].x;
        rot[2].y = -vect[seq[2]].y;
        rot[3].x = -vect[seq[3]].y;
        rot[3].y = vect[seq[3]].x;
        int main = 0;
        for (int i = 1; i < 4; i++)
            if (first_is_right(rot[i], rot[main])) main = i;

        int pi = seq[main];
        float lead_x = vect[pi].x * inv_len[pi], lead_y = vect[pi].y * inv_len[pi];
        switch (main) {
        case 0:
            base_a = lead_x;
            base_b = lead_y;
            break;
        case 1:
            base_a = lead_y;
            base_b = -lead_x;
            break;
        case 2:
            base_a = -lead_x;
            base_b = -lead_y;
            break;
        default:
            base_a = -lead_y;
            base_b = lead_x;
            break;
        }
        seq[main] += 1;
        if (seq[main] == n) seq[main] = 0;

        float dx = p[seq[1]].x - p[seq[3]].x, dy = p[seq[1]].y - p[seq[3]].y;
        float width = dx * base_a + dy * base_b;
        dx = p[seq[2]].x - p[seq[0]].x;
        dy = p[seq[2]].y - p[seq[0]].y;
        float height = -dx * base_b + dy * base_a;
        float area = width * height;
        if (area <= minarea) {
            minarea = area;
            best_left = seq[3];
            best_a = base_a;
            best_w = width;
            best_b = base_b;
            best_h = height;
            best_bottom = seq[0];
        }
    }
    float A1 = best_a, B1 = best_b, A2 = -best_b, B2 = best_a;
    float C1 = A1 * p[best_left].x + p[best_left].y * B1;
    float C2 = A2 * p[best_bottom].x + p[best_bottom].y * B2;
    float idet = 1.0f / (A1 * B2 - A2 * B1);
    out[0] = (C1 * B2 - C2 * B1) * idet;
    out[1] = (A1 * C2 - A2 * C1) * idet;
    out[2] = A1 * best_w;
    out[3] = B1 * best_w;
    out[4] = A2 * best_h;
    out[5] = B2 * best_h;
}

int sm_min_area_rect(const sm_point *points, int32_t n, sm_rotated_rect *box) {
    if (!points || !box || n <= 0) return SM_IMAGE_BAD_ARGUMENT;
    memset(box, 0, sizeof *box);
    int32_t *idx = (int32_t *)malloc((size_t)n * sizeof(int32_t));
    if (!idx) return SM_IMAGE_OUT_OF_MEMORY;
    int32_t h = sm_convex_hull(points, n, 0, idx);
    if (h < 0) {
        free(idx);
        return SM_IMAGE_OUT_OF_MEMORY;
    }
    size_t hn = (size_t)(h > 0 ? h : 1);
    vec2f *hp = (vec2f *)malloc(hn * (2 * sizeof(vec2f) + sizeof(float)));
    if (!hp) {
        free(idx);
        return SM_IMAGE_OUT_OF_MEMORY;
    }
    vec2f *vect = hp + hn;
    float *inv_len = (float *)(vect + hn);
    for (int32_t i = 0; i < h; i++) {
        hp[i].x = (float)points[idx[i]].x;
        hp[i].y = (float)points[idx[i]].y;
    }
    float angle = 0.0f;
    if (h > 2) {
        float out[6];
        rotating_calipers(hp, h, inv_len, vect, out);
        box->center_x = out[0] + (out[2] + out[4]) * 0.5f;
        box->center_y = out[1] + (out[3] + out[5]) * 0.5f;
        box->width = (float)sqrt((double)out[2] * out[2] + (double)out[3] * out[3]);
        box->height = (float)sqrt((double)out[4] * out[4] + (double)out[5] * out[5]);
        angle = (float)atan2((double)out[3], (double)out[2]);
    } else if (h == 2) {
        box->center_x = (hp[0].x + hp[1].x) * 0.5f;
        box->center_y = (hp[0].y + hp[1].y) * 0.5f;
        double dx = hp[1].x - hp[0].x, dy = hp[1].y - hp[0].y;
        box->width = (float)sqrt(dx * dx + dy * dy);
        box->height = 0.0f;
        angle = (float)atan2(dy, dx);
    } else if (h == 1) {
        box->center_x = hp[0].x;
        box->center_y = hp[0].y;
    }
    box->angle = (float)(angle * 180 / SM_PI);
    free(hp);
    free(idx);
    return SM_IMAGE_OK;
}

void sm_box_points(sm_rotated_rect r, float out[8]) {
    double a_rad = r.angle * SM_PI / 180.;
    float b = (float)cos(a_rad) * 0.5f;
    float a = (float)sin(a_rad) * 0.5f;
    out[0] = r.center_x - a * r.height - b * r.width;
    out[1] = r.center_y + b * r.height - a * r.width;
    out[2] = r.center_x + a * r.height - b * r.width;
    out[3] = r.center_y - b * r.height - a * r.width;
    out[4] = 2 * r.center_x - out[0];
    out[5] = 2 * r.center_y - out[1];
    out[6] = 2 * r.center_x - out[2];
    out[7] = 2 * r.center_y - out[3];
}

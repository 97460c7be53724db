// siam_pool.h — one pool of worker threads for a whole tracking frame. Each parallel step wakes the workers; between
// steps they spin for a bounded time (a frame's steps follow each other within microseconds, and a sleeping thread
// takes tens of microseconds to wake), then sleep on a condition variable, so an idle or shared machine is not
// burnt by spinning.
#ifndef SIAM_POOL_H
#define SIAM_POOL_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct sm_pool sm_pool;
typedef void (*sm_pool_fn)(void *context, int32_t worker);

// A pool of `threads` workers: the caller of sm_pool_run is worker 0, threads - 1 helper threads are started.
// spin_us bounds the spinning of an idle worker (and of the caller waiting for the others). NULL on failure.
sm_pool *sm_pool_create(int32_t threads, int32_t spin_us);
// Runs fn(context, w) for every w in [0, threads) concurrently and returns when all have returned. One run at a
// time per pool (callers serialise).
void sm_pool_run(sm_pool *pool, sm_pool_fn fn, void *context);
int32_t sm_pool_threads(const sm_pool *pool);
// Stops and joins the helper threads.
void sm_pool_destroy(sm_pool *pool);

#ifdef __cplusplus
}
#endif
#endif

// thread_pool.c — see siam_pool.h. A generation counter announces each run (release/acquire orders the job before
// it); the mutex is held only to sleep and to wake sleepers, so a run whose workers are still spinning costs two
// atomic operations per worker.
#include "siam_pool.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <time.h>

#if defined(__x86_64__)
#include <immintrin.h>
#define SM_RELAX() _mm_pause()
#elif defined(__aarch64__)
#define SM_RELAX() __asm__ __volatile__("yield")
#else
#define SM_RELAX() ((void)0)
#endif

struct sm_pool {
    int32_t threads;
    int64_t spin_ns;
    pthread_t *helpers;
    pthread_mutex_t mutex;
    pthread_cond_t wake;   // generation changed or stop
    pthread_cond_t done;   // remaining reached 0
    _Atomic uint64_t generation;
    _Atomic int32_t remaining;
    _Atomic int32_t stop;
    sm_pool_fn fn;
    void *context;
};

typedef struct sm_pool_helper {
    sm_pool *pool;
    int32_t worker;
} sm_pool_helper;

static int64_t sm_pool_now_ns(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (int64_t)t.tv_sec * 1000000000 + t.tv_nsec;
}

// Spins until *value != unwanted or spin_ns pass; returns whether it changed.
static int sm_pool_spin_u64(const _Atomic uint64_t *value, uint64_t unwanted, int64_t spin_ns) {
    int64_t deadline = 0;
    for (uint32_t i = 0;; i++) {
        if (atomic_load_explicit(value, memory_order_acquire) != unwanted) return 1;
        if ((i & 63) == 0) {
            int64_t now = sm_pool_now_ns();
            if (deadline == 0) deadline = now + spin_ns;
            else if (now >= deadline) return 0;
        }
        SM_RELAX();
    }
}

static int sm_pool_spin_zero(const _Atomic int32_t *value, int64_t spin_ns) {
    int64_t deadline = 0;
    for (uint32_t i = 0;; i++) {
        if (atomic_load_explicit(value, memory_order_acquire) == 0) return 1;
        if ((i & 63) == 0) {
            int64_t now = sm_pool_now_ns();
            if (deadline == 0) deadline = now + spin_ns;
            else if (now >= deadline) return 0;
        }
        SM_RELAX();
    }
}

static void *sm_pool_main(void *arg) {
    sm_pool_helper *h = (sm_pool_helper *)arg;
    sm_pool *pool = h->pool;
    const int32_t worker = h->worker;
    free(h);
    uint64_t seen = 0;
    for (;;) {
        if (!sm_pool_spin_u64(&pool->generation, seen, pool->spin_ns)) {
            pthread_mutex_lock(&pool->mutex);
            while (atomic_load_explicit(&pool->generation, memory_order_acquire) == seen &&
                   !atomic_load_explicit(&pool->stop, memory_order_acquire))
                pthread_cond_wait(&pool->wake, &pool->mutex);
            pthread_mutex_unlock(&pool->mutex);
        }
        if (atomic_load_explicit(&pool->stop, memory_order_acquire)) return NULL;
        seen = atomic_load_explicit(&pool->generation, memory_order_acquire);
        pool->fn(pool->context, worker);
        if (atomic_fetch_sub_explicit(&pool->remaining, 1, memory_order_acq_rel) == 1) {
            pthread_mutex_lock(&pool->mutex);
            pthread_cond_signal(&pool->done);
            pthread_mutex_unlock(&pool->mutex);
        }
    }
}

sm_pool *sm_pool_create(int32_t threads, int32_t spin_us) {
    if (threads < 1) threads = 1;
    sm_pool *pool = (sm_pool *)calloc(1, sizeof(sm_pool));
    if (!pool) return NULL;
    pool->threads = threads;
    pool->spin_ns = (int64_t)(spin_us < 0 ? 0 : spin_us) * 1000;
    pthread_mutex_init(&pool->mutex, NULL);
    pthread_cond_init(&pool->wake, NULL);
    pthread_cond_init(&pool->done, NULL);
    atomic_init(&pool->generation, 0);
    atomic_init(&pool->remaining, 0);
    atomic_init(&pool->stop, 0);
    pool->helpers = threads > 1 ? (pthread_t *)calloc((size_t)(threads - 1), sizeof(pthread_t)) : NULL;
    for (int32_t w = 1; w < threads; w++) {
        sm_pool_helper *h = (sm_pool_helper *)malloc(sizeof(sm_pool_helper));
        if (h) {
            h->pool = pool;
            h->worker = w;
        }
        if (!h || pthread_create(&pool->helpers[w - 1], NULL, sm_pool_main, h) != 0) {
            free(h);
            pool->threads = w;   // run with the helpers that started
            break;
        }
    }
    return pool;
}

int32_t sm_pool_threads(const sm_pool *pool) { return pool->threads; }

void sm_pool_run(sm_pool *pool, sm_pool_fn fn, void *context) {
    if (pool->threads <= 1) {
        fn(context, 0);
        return;
    }
    pool->fn = fn;
    pool->context = context;
    atomic_store_explicit(&pool->remaining, pool->threads - 1, memory_order_release);
    pthread_mutex_lock(&pool->mutex);
    atomic_fetch_add_explicit(&pool->generation, 1, memory_order_acq_rel);
    pthread_cond_broadcast(&pool->wake);
    pthread_mutex_unlock(&pool->mutex);
    fn(context, 0);
    if (!sm_pool_spin_zero(&pool->remaining, pool->spin_ns)) {
        pthread_mutex_lock(&pool->mutex);
        while (atomic_load_explicit(&pool->remaining, memory_order_acquire) != 0)
            pthread_cond_wait(&pool->done, &pool->mutex);
        pthread_mutex_unlock(&pool->mutex);
    }
}

void sm_pool_destroy(sm_pool *pool) {
    if (!pool) return;
    pthread_mutex_lock(&pool->mutex);
    atomic_store_explicit(&pool->stop, 1, memory_order_release);
    pthread_cond_broadcast(&pool->wake);
    pthread_mutex_unlock(&pool->mutex);
    for (int32_t w = 1; w < pool->threads; w++) pthread_join(pool->helpers[w - 1], NULL);
    free(pool->helpers);
    pthread_cond_destroy(&pool->done);
    pthread_cond_destroy(&pool->wake);
    pthread_mutex_destroy(&pool->mutex);
    free(pool);
}

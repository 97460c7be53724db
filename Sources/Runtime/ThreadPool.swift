import CKernels

/// One pool of worker threads shared by every executor of a tracking frame (search and refine): the workers spin
/// briefly between a frame's parallel steps and sleep between frames (see siam_pool.h). The caller of `run` is
/// worker 0.
public final class ThreadPool: @unchecked Sendable {
    private let pool: OpaquePointer
    public let threads: Int

    /// How long an idle worker spins before sleeping: longer than the gap between two steps of a frame, far shorter
    /// than the gap between frames.
    public static let spinMicroseconds: Int32 = 100

    public init(threads: Int) {
        guard let p = sm_pool_create(Int32(max(1, threads)), Self.spinMicroseconds) else {
            fatalError("cannot create a thread pool")   // calloc of a few bytes failed: nothing can run
        }
        pool = p
        self.threads = Int(sm_pool_threads(p))
    }

    deinit { sm_pool_destroy(pool) }

    /// Runs body(worker) for every worker concurrently and returns when all are done. One run at a time.
    public func run(_ body: (Int) -> Void) {
        withoutActuallyEscaping(body) { escaping in
            var job = escaping
            withUnsafeMutablePointer(to: &job) { context in
                sm_pool_run(
                    pool,
                    { raw, worker in
                        raw!.assumingMemoryBound(to: ((Int) -> Void).self).pointee(Int(worker))
                    }, context)
            }
        }
    }
}

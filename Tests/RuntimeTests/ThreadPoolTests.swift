import Foundation
import Runtime
import XCTest

/// The frame's worker pool: every worker runs exactly once per run, runs follow each other without loss whether the
/// workers are still spinning or asleep, and a pool of one runs on the caller.
final class ThreadPoolTests: XCTestCase {
    func testEveryWorkerRunsOncePerRun() {
        for threads in [1, 2, 3] {
            let pool = ThreadPool(threads: threads)
            XCTAssertEqual(pool.threads, threads)
            let counts = UnsafeMutablePointer<Int>.allocate(capacity: threads)
            defer { counts.deallocate() }
            counts.initialize(repeating: 0, count: threads)
            for run in 0..<2000 {
                // Mostly back to back (workers spinning); now and then a pause longer than the spin (asleep).
                if run % 500 == 499 { usleep(UInt32(ThreadPool.spinMicroseconds) * 3) }
                pool.run { worker in counts[worker] += 1 }
            }
            for w in 0..<threads { XCTAssertEqual(counts[w], 2000, "worker \(w) of \(threads)") }
        }
    }

    func testRunWaitsForEveryWorker() {
        let pool = ThreadPool(threads: 2)
        let flags = UnsafeMutablePointer<Int>.allocate(capacity: 2)
        defer { flags.deallocate() }
        for _ in 0..<50 {
            flags.initialize(repeating: 0, count: 2)
            pool.run { worker in
                if worker == 1 { usleep(2000) }   // the helper finishes well after the caller
                flags[worker] = 1
            }
            XCTAssertEqual(flags[0] + flags[1], 2, "run returned before the helper finished")
        }
    }
}

import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// Process-wide allocator settings of the `siammask` executable (a library leaves them to its host).
public enum Allocator {
    /// glibc serves blocks of at least 128 KiB with mmap, but raises that threshold to the size of each such block
    /// freed (up to 32 MiB), after which the per-frame buffers of a tracker (the decoded frame, 1.2 MB at 854x480;
    /// the probability map, 1.6 MB; masks and PNG buffers) come from the heap, whose resident high-water mark creeps
    /// up with fragmentation: `track --no-overlay`, 3,000 frames, +0.8 MB in a step near frame 2,450. A fixed
    /// threshold (setting it turns the adjustment off) gives every such block back when it is freed: peak flat
    /// (+0.08 MB) from frame 800 to 3,000, for about 3.7 ms a frame of kernel time mapping those pages again
    /// (README, "Soak and hostile frames"). That is a few per cent of a full-size frame for 0.7 MB over 3,000 frames,
    /// so it is opt-in: `SIAMMASK_MMAP_THRESHOLD=131072` (bytes) for a stream that must stay flat to the last page;
    /// unset or 0 keeps glibc's adjusting default.
    public static let defaultMmapThreshold = 0

    /// Applies the settings; call once at start-up. (Glibc's Swift module leaves out malloc.h: mallopt is looked
    /// up by name; M_MMAP_THRESHOLD is -3 there.)
    public static func configure(environment: [String: String] = ProcessInfo.processInfo.environment) {
        #if canImport(Glibc)
        let threshold = environment["SIAMMASK_MMAP_THRESHOLD"].flatMap { Int($0) } ?? defaultMmapThreshold
        guard threshold > 0, threshold <= Int(Int32.max) else { return }
        typealias Mallopt = @convention(c) (Int32, Int32) -> Int32
        guard let symbol = dlsym(nil, "mallopt") else { return }   // RTLD_DEFAULT
        _ = unsafeBitCast(symbol, to: Mallopt.self)(-3, Int32(threshold))
        #endif
    }
}

import Imaging
import SiamMaskLayout

/// The front door's tracker: one target, started on a frame, then fed frame after frame.
///
///     let model = try SiamMaskModel(contentsOf: url)
///     let tracker = try model.makeTracker(preset: .auto, threads: 2)
///     try tracker.start(frame: first, target: .box(x: 300, y: 120, width: 80, height: 160))
///     let r = try tracker.track(next)        // r.box, r.polygon, r.mask, r.score
///
/// It runs a `TrackerSession` (the official loop), reachable as `session` for observers and state replay.
public final class SiamMaskTracker {
    /// The session doing the work; its results are this tracker's results, bit for bit.
    public let session: TrackerSession
    /// The preset it runs: name (for reports) and hyper-parameters.
    public let preset: ResolvedTrackerPreset
    public var threads: Int { session.threads }
    /// True once `start` has succeeded.
    public private(set) var isStarted = false

    /// The most threads a tracker takes: far beyond any gain (the frame's work splits into a few hundred chunks).
    public static let maximumThreads = 256

    public init(network: SiamMaskNetwork, preset: ResolvedTrackerPreset, threads: Int = 1) throws {
        guard (1...Self.maximumThreads).contains(threads) else { throw TrackerError.invalidThreadCount(threads) }
        self.preset = preset
        session = try TrackerSession(network: network, parameters: preset.parameters, threads: threads)
    }

    /// Starts tracking `target` on `frame` (BGR): a box x, y, w, h, a VOT polygon or a first-frame mask.
    /// Starting again forgets the previous target.
    public func start(frame: Image, target: TrackerInitialization) throws {
        isStarted = false
        try session.initialize(frame: frame, target: target)
        isStarted = true
    }

    /// Tracks the target into the next frame (same size as the first): box, rotated polygon, mask and score.
    public func track(_ frame: Image) throws -> TrackResult {
        guard isStarted else { throw TrackerError.notStarted }
        return try session.track(frame)
    }

    /// The target's centre and size now (image pixels), after the last `start` or `track`.
    public var state: (center: (x: Double, y: Double), size: (width: Double, height: Double)) {
        (session.center, session.size)
    }

    /// Starts on the first frame of `frames` with the target `target` gives for it, then tracks at most
    /// `maxFrames` further frames, calling `body` with each frame's index (1 for the frame after the first), the
    /// frame and the result.
    @discardableResult
    public func track(
        _ frames: FrameSource, maxFrames: Int? = nil,
        target: (Image) throws -> TrackerInitialization,
        _ body: (Int, Image, TrackResult) throws -> Void
    ) throws -> TrackingLoop.Summary {
        isStarted = false
        let summary = try TrackingLoop.run(
            [session], frames: frames, maxFrames: maxFrames, target: target,
            started: { _, _ in self.isStarted = true }
        ) { index, frame, results in
            try body(index, frame, results[0])
        }
        return summary
    }
}

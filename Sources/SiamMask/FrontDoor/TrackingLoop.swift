import Foundation
import Imaging

/// Frames in order, decoded to BGR. Evaluation's `FrameReader` (benchmark layouts, video through ffmpeg) is one;
/// `ImageFiles` reads a list of JPEG/PNG files.
public protocol FrameSource: AnyObject {
    /// The next frame, or nil at the end.
    func next() throws -> Image?
}

/// JPEG/PNG frame files, read in the given order.
public final class ImageFiles: FrameSource {
    public let urls: [URL]
    private var index = 0

    public static let extensions: Set<String> = ["jpg", "jpeg", "png"]

    public init(_ urls: [URL]) { self.urls = urls }

    /// Every .jpg, .jpeg and .png file of `folder` (hidden files left out), in name order.
    public convenience init(folder: URL) throws {
        let names = try FileManager.default.contentsOfDirectory(atPath: folder.path)
            .filter { Self.extensions.contains(($0 as NSString).pathExtension.lowercased()) && !$0.hasPrefix(".") }
            .sorted()
        guard !names.isEmpty else { throw TrackingLoopError.noFrames }
        self.init(names.map { folder.appendingPathComponent($0) })
    }

    public func next() throws -> Image? {
        guard index < urls.count else { return nil }
        defer { index += 1 }
        return try Image.read(contentsOf: urls[index], as: .bgr)
    }
}

/// What went wrong in a tracking loop, and where: the caller's own closures' errors pass through unwrapped.
public enum TrackingLoopError: Error, CustomStringConvertible {
    /// The source gave no first frame.
    case noFrames
    /// Frame `frame` (0 = the first) could not be read.
    case reading(frame: Int, Error)
    /// The initial target could not be made or the trackers could not start on it.
    case starting(Error)
    /// A tracker failed on frame `frame`.
    case tracking(frame: Int, Error)

    /// The error behind a failure (nil for `noFrames`).
    public var underlying: Error? {
        switch self {
        case .noFrames: return nil
        case .reading(_, let e), .starting(let e), .tracking(_, let e): return e
        }
    }

    public var description: String {
        switch self {
        case .noFrames: return "the sequence has no frames"
        case .reading(let f, let e):
            return f == 0 ? "cannot read the first frame: \(e)" : "cannot read frame \(f): \(e)"
        case .starting(let e): return "cannot initialise: \(e)"
        case .tracking(let f, let e): return "frame \(f): \(e)"
        }
    }
}

/// The one tracking loop over a sequence: start every tracker on the first frame, then track each further frame.
/// The command line's `track`, calibration, drift and the mixed-precision search all run through it.
public enum TrackingLoop {
    /// Frames tracked after the first, and seconds spent per stage (summed over the trackers).
    public struct Summary: Equatable, Sendable {
        public var trackedFrames = 0
        public var decodeSeconds = 0.0
        public var cropSeconds = 0.0
        public var networkSeconds = 0.0
        public var postSeconds = 0.0
    }

    /// - Parameters:
    ///   - maxFrames: track at most this many frames after the first (nil: all).
    ///   - target: the initial target, given the first frame.
    ///   - started: called once the trackers have started, with the first frame and its target.
    ///   - beforeFrame: called with a frame's index before the trackers see it (to replay or copy states).
    ///   - body: called with each frame's index (1 for the frame after the first), the frame and every tracker's result.
    @discardableResult
    public static func run(
        _ sessions: [TrackerSession], frames: FrameSource, maxFrames: Int? = nil,
        target: (Image) throws -> TrackerInitialization,
        started: ((Image, TrackerInitialization) throws -> Void)? = nil,
        beforeFrame: ((Int) -> Void)? = nil,
        _ body: (Int, Image, [TrackResult]) throws -> Void
    ) throws -> Summary {
        var summary = Summary()
        let first: Image
        do {
            guard let f = try frames.next() else { throw TrackingLoopError.noFrames }
            first = f
        } catch let e as TrackingLoopError { throw e } catch { throw TrackingLoopError.reading(frame: 0, error) }
        let initial: TrackerInitialization
        do {
            initial = try target(first)
            for s in sessions { try s.initialize(frame: first, target: initial) }
        } catch { throw TrackingLoopError.starting(error) }
        try started?(first, initial)
        var index = 1
        while maxFrames.map({ index <= $0 }) ?? true {
            let d0 = Date()
            let next: Image?
            do { next = try frames.next() } catch { throw TrackingLoopError.reading(frame: index, error) }
            guard let frame = next else { break }
            summary.decodeSeconds += Date().timeIntervalSince(d0)
            beforeFrame?(index)
            let results: [TrackResult]
            do { results = try sessions.map { try $0.track(frame) } } catch {
                throw TrackingLoopError.tracking(frame: index, error)
            }
            for r in results {
                summary.cropSeconds += r.timings.crop
                summary.networkSeconds += r.timings.network
                summary.postSeconds += r.timings.post
            }
            try body(index, frame, results)
            summary.trackedFrames = index
            index += 1
        }
        return summary
    }
}

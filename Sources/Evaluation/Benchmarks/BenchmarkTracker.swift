import Foundation
import Imaging
import SiamMask

/// One frame's output as the protocols need it.
public struct BenchmarkFrameResult: Sendable {
    /// The reported region: the rotated box's four corners (VOT).
    public var polygon: [Point]
    /// The axis-aligned box of the tracker's state (OTB).
    public var box: Box
    /// The H x W foreground probability (DAVIS: -1 outside the back-projected window); may be empty elsewhere.
    public var probability: [Float]

    public init(polygon: [Point], box: Box, probability: [Float] = []) {
        self.polygon = polygon
        self.box = box
        self.probability = probability
    }
}

/// What a protocol drives: a single-target tracker that can be (re-)started on any frame. A protocol restarts the
/// same tracker for every initialisation (VOT re-initialisation, each DAVIS object), as the official harness builds
/// a fresh state with `siamese_init`.
public protocol BenchmarkTracker: AnyObject {
    func start(frame: Image, target: TrackerInitialization) throws
    func next(_ frame: Image) throws -> BenchmarkFrameResult
    /// The mask threshold DAVIS label maps are cut at (the preset's seg_thr).
    var segmentationThreshold: Double { get }
}

/// The real tracker behind the protocols.
public final class SessionBenchmarkTracker: BenchmarkTracker {
    public let session: TrackerSession

    public init(_ session: TrackerSession) { self.session = session }

    public func start(frame: Image, target: TrackerInitialization) throws {
        try session.initialize(frame: frame, target: target)
    }

    public func next(_ frame: Image) throws -> BenchmarkFrameResult {
        let r = try session.track(frame)
        let b = r.box
        return BenchmarkFrameResult(
            polygon: r.polygon.map { Point($0.x, $0.y) },
            box: Box(x: b.x, y: b.y, width: b.width, height: b.height), probability: r.probability)
    }

    public var segmentationThreshold: Double { session.parameters.segmentationThreshold }
}

/// Frames by index, decoded on demand: the VOT protocol never decodes the frames it skips after a failure.
public protocol RandomAccessFrames {
    var count: Int { get }
    func frame(_ index: Int) throws -> Image
}

/// The frames of an image-folder sequence (the benchmark layouts; videos are not benchmark sequences).
public struct SequenceFrames: RandomAccessFrames {
    public let sequence: TrackingSequence
    public let count: Int

    public init(_ sequence: TrackingSequence, limit: Int? = nil) throws {
        guard sequence.video == nil else {
            throw EvalError.notADataset(
                "\(sequence.name): a video is not a benchmark sequence; extract its frames to a folder")
        }
        self.sequence = sequence
        count = BenchmarkDataset.frames(sequence, limit: limit)
    }

    public func frame(_ index: Int) throws -> Image {
        let url = sequence.frames[index]
        do { return try Image.read(contentsOf: url, as: .bgr) } catch {
            throw SequenceError.unreadableFrame(url.path, String(describing: error))
        }
    }
}

import Foundation
import Imaging
import SiamMask

/// Running a tracker over a sequence from its own first-frame ground truth, and scoring frames against it.
public enum SequenceTracking {
    /// The tracker initialisation a sequence's first-frame ground truth gives (VOT polygon, box, or DAVIS mask).
    public static func initialTarget(_ sequence: TrackingSequence, frame: Image) throws -> TrackerInitialization {
        switch sequence.initialTarget {
        case .polygon(let pts)?: return .polygon(pts.flatMap { [$0.x, $0.y] })
        case .box(let b)?: return try checkedBox(b.x, b.y, b.width, b.height, frame: frame)
        case .mask(let url)?: return try maskTarget(url, frame: frame)
        case .missing?, nil: throw SequenceError.noInitialTarget(sequence.name)
        }
    }

    public static func checkedBox(
        _ x: Double, _ y: Double, _ w: Double, _ h: Double, frame: Image
    ) throws -> TrackerInitialization {
        guard w > 0, h > 0 else {
            throw TrackerError.invalidTarget("the box \(x),\(y),\(w),\(h) has zero or negative size")
        }
        guard x < Double(frame.width), y < Double(frame.height), x + w > 0, y + h > 0 else {
            throw TrackerError.invalidTarget(
                "the box \(x),\(y),\(w),\(h) lies outside the \(frame.width)x\(frame.height) frame")
        }
        return .box(x: x, y: y, width: w, height: h)
    }

    public static func maskTarget(_ url: URL, frame: Image) throws -> TrackerInitialization {
        let m = try Image.read(contentsOf: url, as: .grey)
        guard m.width == frame.width, m.height == frame.height else {
            throw TrackerError.invalidTarget(
                "mask \(url.lastPathComponent) is \(m.width)x\(m.height), the frames are \(frame.width)x\(frame.height)"
            )
        }
        return .mask(m.pixels, width: m.width, height: m.height)
    }

    /// Overlap of a frame's result with the sequence's ground truth for that frame: box IoU (VOT polygons by the
    /// official polygon-to-box rule, DAVIS masks by their bounding rectangle) and mask IoU where a mask exists.
    public static func groundTruthOverlap(
        _ r: TrackResult, sequence: TrackingSequence, frame: Int
    ) throws -> (box: Double?, mask: Double?) {
        let b = r.box
        let ours = Box(x: b.x, y: b.y, width: b.width, height: b.height)
        var box: Double?, mask: Double?
        if frame < sequence.groundTruth.count {
            switch sequence.groundTruth[frame] {
            case .polygon(let p):
                let g = TrackerGeometry.votPolygonToBox(p.flatMap { [$0.x, $0.y] })
                box = ours.intersectionOverUnion(Box(x: g.cx - g.w / 2, y: g.cy - g.h / 2, width: g.w, height: g.h))
            case .box(let g):
                box = ours.intersectionOverUnion(g)
            case .mask, .missing:
                break
            }
        }
        if frame < sequence.masks.count, let url = sequence.masks[frame] {
            let m = try Image.read(contentsOf: url, as: .grey)
            guard m.pixels.count == r.mask.count else { return (box, nil) }
            mask = maskIntersectionOverUnion(m.pixels, r.mask)
            if box == nil, let g = TrackerGeometry.boundingRect(of: m.pixels, width: m.width, height: m.height) {
                box = ours.intersectionOverUnion(
                    Box(x: Double(g.x), y: Double(g.y), width: Double(g.w), height: Double(g.h)))
            }
        }
        return (box, mask)
    }

    /// Whether a sequence is scored the DAVIS way (first-frame mask, mask ground truth): what `TrackerPreset.auto`
    /// needs to know about a sequence.
    public static func usesDAVISProtocol(_ sequence: TrackingSequence) -> Bool { sequence.layout == .davis }

    /// The preset `preset` runs on `sequence` with `model` (`auto`: davis for DAVIS sequences, else the model's default).
    public static func preset(
        _ preset: TrackerPreset, for sequence: TrackingSequence, model: SiamMaskModel
    ) throws -> ResolvedTrackerPreset {
        try preset.resolved(for: model, davisProtocol: usesDAVISProtocol(sequence))
    }

    /// The name of the preset `requested` ("auto", "vot", "davis" or another stored name) runs on `sequence`.
    public static func presetName(_ requested: String, sequence: TrackingSequence, network: SiamMaskNetwork) -> String {
        TrackerPreset(requested).name(for: network.model, davisProtocol: usesDAVISProtocol(sequence))
    }

    /// Initialises `sessions` on the sequence's first frame from its ground truth and tracks up to `maxFrames`
    /// further frames, calling `body` with the frame index (1-based after the initial frame 0), the frame and each
    /// session's result. Returns the number of tracked frames. Runs `TrackingLoop.run`; errors are the underlying
    /// ones (a frame that cannot be read, a missing first-frame target), an empty sequence `SequenceError.empty`.
    @discardableResult
    public static func run(
        _ sessions: [TrackerSession], over sequence: TrackingSequence, maxFrames: Int? = nil,
        beforeFrame: (() -> Void)? = nil,
        _ body: (Int, Image, [TrackResult]) throws -> Void
    ) throws -> Int {
        let reader = try FrameReader(sequence)
        do {
            return try TrackingLoop.run(
                sessions, frames: reader, maxFrames: maxFrames,
                target: { try initialTarget(sequence, frame: $0) },
                beforeFrame: beforeFrame.map { f in { _ in f() } }, body
            ).trackedFrames
        } catch let e as TrackingLoopError {
            throw e.underlying ?? SequenceError.empty(sequence.name)
        }
    }
}

extension FrameReader: FrameSource {}

import Foundation
import Imaging
import SiamMask

/// VOT short-term "baseline" experiment with re-initialisation, as the official harness (`tools/test.py`, spec 5.7)
/// runs it: the frame where the reported region has zero overlap with the ground truth (both bounded by the image)
/// is a failure, written `2`; the next four frames are skipped (`0`); the tracker is re-initialised from the ground
/// truth five frames after the failure, that frame written `1`.
public enum VOTProtocol {
    /// Frames from a failure to the re-initialisation.
    public static let reinitialisationGap = 5

    /// Runs `tracker` over `frames` against `groundTruth` (one entry a frame). `onFrame` is called after each frame.
    /// A re-initialisation frame whose ground truth is missing is skipped (`0`) and the next annotated frame starts the
    /// tracker instead; a frame without ground truth cannot fail (its overlap is unknown).
    public static func run(
        _ tracker: BenchmarkTracker, frames: RandomAccessFrames, groundTruth: [GroundTruth],
        onFrame: (Int) -> Void = { _ in }
    ) throws -> [VOTResultFrame] {
        var result: [VOTResultFrame] = []
        result.reserveCapacity(frames.count)
        var start = 0
        for f in 0..<frames.count {
            let truth = f < groundTruth.count ? groundTruth[f] : .missing
            if f == start {
                if let target = initialisation(truth) {
                    try tracker.start(frame: frames.frame(f), target: target)
                    result.append(.initialization)
                } else {
                    result.append(.skipped)
                    start += 1
                }
            } else if f > start {
                let image = try frames.frame(f)
                let region = try tracker.next(image).polygon
                if let g = polygon(truth),
                    !(RegionOverlap.overlap(region, g, bounds: (Double(image.width), Double(image.height))) > 0)
                {
                    result.append(.failure)
                    start = f + reinitialisationGap
                } else {
                    result.append(.region(region))
                }
            } else {
                result.append(.skipped)
            }
            onFrame(f)
        }
        return result
    }

    static func polygon(_ truth: GroundTruth) -> [Point]? {
        switch truth {
        case .polygon(let p): return p
        case .box(let b): return b.corners
        case .mask, .missing: return nil
        }
    }

    static func initialisation(_ truth: GroundTruth) -> TrackerInitialization? {
        switch truth {
        case .polygon(let p): return .polygon(p.flatMap { [$0.x, $0.y] })
        case .box(let b): return .box(x: b.x, y: b.y, width: b.width, height: b.height)
        case .mask, .missing: return nil
        }
    }
}

/// OTB one-pass evaluation: started once from the first frame's box, never re-initialised; frame 0's result is
/// that box (as got10k records it), every later frame the tracker's axis-aligned box.
public enum OTBProtocol {
    public static func run(
        _ tracker: BenchmarkTracker, frames: RandomAccessFrames, groundTruth: [GroundTruth], sequence: String,
        onFrame: (Int) -> Void = { _ in }
    ) throws -> [Box] {
        let initial: Box
        switch groundTruth.first {
        case .box(let b)?: initial = b
        case .polygon(let p)?:
            guard let b = RegionOverlap.boundingBox(p) else { throw SequenceError.noInitialTarget(sequence) }
            initial = b
        default: throw SequenceError.noInitialTarget(sequence)
        }
        guard frames.count > 0 else { throw SequenceError.empty(sequence) }
        try tracker.start(
            frame: frames.frame(0),
            target: .box(x: initial.x, y: initial.y, width: initial.width, height: initial.height))
        var boxes = [initial]
        onFrame(0)
        for f in 1..<max(1, frames.count) {
            boxes.append(try tracker.next(frames.frame(f)).box)
            onFrame(f)
        }
        return boxes
    }
}

/// DAVIS semi-supervised protocol (spec 5.7, `track_vos`): every object of the first frame's label map is tracked in
/// its own pass over the video, started from its first-frame mask; the passes are combined into one label map per
/// frame by the argmax over objects of the foreground probability where that maximum exceeds seg_thr, 0 elsewhere
/// (ties go to the object listed first, as numpy's argmax does). Frame 0 holds each object's given mask
/// (probability 1 inside, 0 outside).
public enum DAVISProtocol {
    /// Object ids of a first-frame annotation: a palette PNG's nonzero indices except 255 (DAVIS-2017's "void"), or
    /// one object (id 1) for a grey 0/255 mask (DAVIS-2016).
    public static func objects(_ labels: LabelMap) -> [Int] {
        if !labels.indexed { return labels.labels.contains { $0 != 0 } ? [1] : [] }
        var present = [Bool](repeating: false, count: 256)
        for v in labels.labels { present[Int(v)] = true }
        return (1..<255).filter { present[$0] }
    }

    /// A ground-truth annotation as object ids (grey masks: nonzero = 1; palette: 255 void = 0).
    public static func groundTruthLabels(_ labels: LabelMap) -> [UInt8] {
        labels.indexed ? labels.labels.map { $0 == 255 ? 0 : $0 } : labels.labels.map { $0 != 0 ? 1 : 0 }
    }

    /// The label maps of frames 0..<frames.count. Memory: 5 bytes a pixel a frame (the running maximum and its object).
    public static func run(
        _ tracker: BenchmarkTracker, frames: RandomAccessFrames, firstFrame: LabelMap, sequence: String,
        onFrame: (Int) -> Void = { _ in }
    ) throws -> [[UInt8]] {
        guard frames.count > 0 else { throw SequenceError.empty(sequence) }
        let ids = objects(firstFrame)
        guard !ids.isEmpty else { throw SequenceError.noInitialTarget(sequence) }
        let first = try frames.frame(0)
        guard first.width == firstFrame.width, first.height == firstFrame.height else {
            throw TrackerError.invalidTarget(
                "\(sequence): the annotation is \(firstFrame.width)x\(firstFrame.height), the frames \(first.width)x\(first.height)"
            )
        }
        let pixels = first.width * first.height
        let truth = groundTruthLabels(firstFrame)
        var best = [[Float]](repeating: [Float](repeating: -.infinity, count: pixels), count: frames.count)
        var owner = [[UInt8]](repeating: [UInt8](repeating: 0, count: pixels), count: frames.count)
        func merge(_ probability: [Float], frame f: Int, object k: Int) throws {
            guard probability.count == pixels else {
                throw EvalError.badResult(
                    "\(sequence) frame \(f): the tracker's probability map has \(probability.count) values for \(pixels) pixels"
                )
            }
            for p in 0..<pixels where probability[p] > best[f][p] {
                best[f][p] = probability[p]
                owner[f][p] = UInt8(k)
            }
        }
        for (k, id) in ids.enumerated() {
            let mask = truth.map { $0 == UInt8(id) ? UInt8(1) : 0 }
            try tracker.start(frame: first, target: .mask(mask, width: first.width, height: first.height))
            try merge(mask.map { Float($0) }, frame: 0, object: k)
            onFrame(0)
            for f in 1..<max(1, frames.count) {
                try merge(try tracker.next(frames.frame(f)).probability, frame: f, object: k)
                onFrame(f)
            }
        }
        // Compared in double, as numpy compares its float64 array with the float seg_thr.
        let threshold = tracker.segmentationThreshold
        return (0..<frames.count).map { f in
            (0..<pixels).map { p in Double(best[f][p]) > threshold ? UInt8(ids[Int(owner[f][p])]) : 0 }
        }
    }
}

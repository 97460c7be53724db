import Foundation
import Imaging

/// Where each toolkit expects a tracker's result files, under `OUT/results/<tracker>/`:
/// - VOT: `baseline/<seq>/<seq>_001.txt` (the VOT toolkit's and pysot's layout; one line a frame: `1` initialisation,
///   `2` failure, `0` skipped, or the polygon x1,y1,...,x4,y4 in "%.4f").
/// - OTB: `<seq>.txt` (got10k's `ExperimentOTB` layout: x,y,w,h a line, in the ground truth's own 1-based pixels).
/// - DAVIS: `<seq>/<frame>.png` (the DAVIS evaluation's layout: palette PNG label maps, index = object id).
public enum BenchmarkResultFiles {
    public static let folder = "results"

    public static func trackerFolder(_ out: URL, tracker: String) -> URL {
        out.appendingPathComponent(folder).appendingPathComponent(tracker)
    }

    public static func votFile(_ out: URL, tracker: String, sequence: String) -> URL {
        trackerFolder(out, tracker: tracker).appendingPathComponent("baseline").appendingPathComponent(sequence)
            .appendingPathComponent("\(sequence)_001.txt")
    }

    public static func otbFile(_ out: URL, tracker: String, sequence: String) -> URL {
        trackerFolder(out, tracker: tracker).appendingPathComponent("\(sequence).txt")
    }

    public static func davisFolder(_ out: URL, tracker: String, sequence: String) -> URL {
        trackerFolder(out, tracker: tracker).appendingPathComponent(sequence)
    }

    /// The label map file of frame `frame` (named after the frame's own file, as DAVIS names annotations).
    public static func davisFile(_ out: URL, tracker: String, sequence: TrackingSequence, frame: Int) -> URL {
        davisFolder(out, tracker: tracker, sequence: sequence.name)
            .appendingPathComponent(sequence.frames[frame].deletingPathExtension().lastPathComponent + ".png")
    }

    static func writeText(_ text: String, to url: URL) throws {
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        try AtomicFile.write(Data(text.utf8), to: url)
    }
}

/// Runs one tracker over one sequence under the dataset's protocol and writes the result files.
public enum BenchmarkRunner {
    /// Units of work `run` reports through `onFrame`: frames, times objects for DAVIS (one pass per object).
    public static func work(kind: BenchmarkKind, sequence: TrackingSequence, frameLimit: Int?) throws -> Int {
        let frames = BenchmarkDataset.frames(sequence, limit: frameLimit)
        guard kind == .davis else { return frames }
        return frames * DAVISProtocol.objects(try firstAnnotation(sequence)).count
    }

    static func firstAnnotation(_ sequence: TrackingSequence) throws -> LabelMap {
        guard let first = sequence.masks.first, let url = first else {
            throw SequenceError.noInitialTarget(sequence.name)
        }
        return try LabelMap.read(contentsOf: url)
    }

    /// Returns the number of frames evaluated.
    @discardableResult
    public static func run(
        kind: BenchmarkKind, sequence: TrackingSequence, tracker: BenchmarkTracker, trackerName: String,
        out: URL, frameLimit: Int?, onFrame: () -> Void = {}
    ) throws -> Int {
        let frames = try SequenceFrames(sequence, limit: frameLimit)
        switch kind {
        case .vot:
            let result = try VOTProtocol.run(tracker, frames: frames, groundTruth: sequence.groundTruth) { _ in
                onFrame()
            }
            try BenchmarkResultFiles.writeText(
                VOTMetrics.formatResult(result),
                to: BenchmarkResultFiles.votFile(out, tracker: trackerName, sequence: sequence.name))
        case .otb:
            let boxes = try OTBProtocol.run(
                tracker, frames: frames, groundTruth: sequence.groundTruth, sequence: sequence.name
            ) { _ in onFrame() }
            try BenchmarkResultFiles.writeText(
                OTBMetrics.formatResult(boxes),
                to: BenchmarkResultFiles.otbFile(out, tracker: trackerName, sequence: sequence.name))
        case .davis:
            let first = try firstAnnotation(sequence)
            let maps = try DAVISProtocol.run(tracker, frames: frames, firstFrame: first, sequence: sequence.name) { _ in
                onFrame()
            }
            try FileManager.default.createDirectory(
                at: BenchmarkResultFiles.davisFolder(out, tracker: trackerName, sequence: sequence.name),
                withIntermediateDirectories: true)
            for (f, labels) in maps.enumerated() {
                try LabelMap(width: first.width, height: first.height, labels: labels, indexed: true)
                    .writeIndexedPNG(
                        to: BenchmarkResultFiles.davisFile(out, tracker: trackerName, sequence: sequence, frame: f))
            }
        }
        return frames.count
    }
}

/// One model's scores on one dataset; exactly one member is set, the dataset's.
public struct BenchmarkScores: Codable, Equatable, Sendable {
    public var vot: VOTScores?
    public var otb: OTBScores?
    public var davis: DAVISScores?

    public init(vot: VOTScores? = nil, otb: OTBScores? = nil, davis: DAVISScores? = nil) {
        self.vot = vot
        self.otb = otb
        self.davis = davis
    }
}

/// Scores computed from the result files on disk and the dataset's ground truth, never from memory: a merge of
/// shards, or the official toolkits, see exactly what a run wrote.
public enum BenchmarkScoring {
    public static func score(
        dataset: BenchmarkDataset, sequences: [String], out: URL, tracker: String,
        frameLimit: Int?
    ) throws -> BenchmarkScores {
        switch dataset.kind {
        case .vot:
            let inputs = try sequences.map { name -> VOTSequenceInput in
                let seq = try dataset.sequence(name)
                let url = BenchmarkResultFiles.votFile(out, tracker: tracker, sequence: name)
                let result = try VOTMetrics.parseResult(try readText(url))
                try checkLength(result.count, seq, frameLimit, url)
                let first = try SequenceFrames(seq).frame(0)
                return VOTSequenceInput(
                    name: name, result: result, groundTruth: groundTruth(seq, result.count),
                    imageSize: (Double(first.width), Double(first.height)))
            }
            return BenchmarkScores(vot: VOTMetrics.score(inputs))
        case .otb:
            let inputs = try sequences.map { name -> OTBSequenceInput in
                let seq = try dataset.sequence(name)
                let url = BenchmarkResultFiles.otbFile(out, tracker: tracker, sequence: name)
                let boxes = try OTBMetrics.parseResult(try readText(url))
                try checkLength(boxes.count, seq, frameLimit, url)
                return OTBSequenceInput(name: name, boxes: boxes, groundTruth: groundTruth(seq, boxes.count))
            }
            return BenchmarkScores(otb: OTBMetrics.score(inputs))
        case .davis:
            let inputs = try sequences.map { name -> DAVISSequenceInput in
                let seq = try dataset.sequence(name)
                let n = BenchmarkDataset.frames(seq, limit: frameLimit)
                var predicted: [[UInt8]] = [], truth: [[UInt8]] = []
                var objects: [Int] = []
                var size = (width: 0, height: 0)
                for f in 0..<n {
                    guard f < seq.masks.count, let annotation = seq.masks[f] else {
                        throw EvalError.badResult("\(name): frame \(f) has no annotation to score against")
                    }
                    let gt = try LabelMap.read(contentsOf: annotation)
                    let url = BenchmarkResultFiles.davisFile(out, tracker: tracker, sequence: seq, frame: f)
                    guard FileManager.default.fileExists(atPath: url.path) else {
                        throw EvalError.badResult("\(url.path): missing result label map")
                    }
                    let ours = try LabelMap.read(contentsOf: url)
                    guard ours.width == gt.width, ours.height == gt.height else {
                        throw EvalError.badResult(
                            "\(url.path) is \(ours.width)x\(ours.height), the annotation \(gt.width)x\(gt.height)")
                    }
                    if f == 0 {
                        objects = DAVISProtocol.objects(gt)
                        size = (gt.width, gt.height)
                    }
                    truth.append(DAVISProtocol.groundTruthLabels(gt))
                    predicted.append(ours.labels)
                }
                return DAVISSequenceInput(
                    name: name, width: size.width, height: size.height, predicted: predicted,
                    groundTruth: truth, objects: objects)
            }
            return BenchmarkScores(davis: DAVISMetrics.score(inputs))
        }
    }

    static func groundTruth(_ seq: TrackingSequence, _ count: Int) -> [GroundTruth] {
        (0..<count).map { $0 < seq.groundTruth.count ? seq.groundTruth[$0] : .missing }
    }

    static func readText(_ url: URL) throws -> String {
        guard FileManager.default.fileExists(atPath: url.path) else {
            throw EvalError.badResult("\(url.path): missing result file")
        }
        guard let text = try? String(contentsOf: url, encoding: .utf8) else {
            throw EvalError.badResult("\(url.path): unreadable or not UTF-8")
        }
        return text
    }

    static func checkLength(_ count: Int, _ seq: TrackingSequence, _ limit: Int?, _ url: URL) throws {
        let expected = BenchmarkDataset.frames(seq, limit: limit)
        guard count == expected else {
            throw EvalError.badResult("\(url.path) holds \(count) frames, the sequence is evaluated on \(expected)")
        }
    }
}

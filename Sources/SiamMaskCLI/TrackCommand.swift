import ArgumentParser
import Evaluation
import Foundation
import Imaging
import ModelFormat
import SiamMask
import SiamMaskLayout

struct TrackCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "track",
        abstract: "Track one object through an image sequence or video: rotated boxes, masks and overlays.",
        discussion: """
        PATH is a DAVIS sequence (ROOT/JPEGImages/480p/SEQ), a VOT folder (frames + groundtruth.txt), an OTB folder
        (img/ + groundtruth_rect.txt), a synthetic sequence (frames + masks/ + groundtruth.txt), a plain folder of
        frames, or a video file (needs ffmpeg). Without --init*, the sequence's first-frame ground truth is used.
        Writes OUT/polygons.txt, OUT/results.jsonl, OUT/masks/NNNNN.png and OUT/overlay/NNNNN.jpg, atomically.
        """)

    @Argument(help: "The .siam model.")
    var model: String

    @Option(help: "The sequence folder or video file.")
    var sequence: String

    @Option(help: "Initial box x,y,w,h (0-based pixels).")
    var `init`: String?

    @Option(help: "Initial VOT polygon x1,y1,x2,y2,x3,y3,x4,y4.")
    var initPolygon: String?

    @Option(help: "Initial object mask (PNG, nonzero = object): its bounding rectangle, as the DAVIS protocol does.")
    var initMask: String?

    @Option(help: "Hyper-parameter preset: vot, davis or auto (davis for DAVIS sequences, else the model's default).")
    var preset: String = "auto"

    @Option(help: "Override the preset's penalty_k (scale/ratio change penalty).")
    var penaltyK: Double?

    @Option(help: "Override the preset's window_influence (cosine window weight).")
    var windowInfluence: Double?

    @Option(help: "Override the preset's lr (size update rate).")
    var lr: Double?

    @Option(help: "Override the preset's seg_thr (mask threshold).")
    var segThr: Double?

    @Option(help: "Track at most this many frames.")
    var frames: Int?

    @Option(help: "Worker threads.")
    var threads: Int = 1

    @Flag(help: "Do not write overlay frames.")
    var noOverlay = false

    @Option(help: ArgumentHelp("Replay target states from another tracker's results.jsonl (cx, cy, w, h per frame): "
                               + "before frame f the state is set to that file's frame f-1, for per-frame parity tests.",
                               visibility: .hidden))
    var replayStates: String?

    @Option(help: "Output folder (must not exist, or be empty).")
    var out: String

    func validate() throws {
        if [`init`, initPolygon, initMask].compactMap({ $0 }).count > 1 {
            throw ValidationError("give at most one of --init, --init-polygon and --init-mask")
        }
        if let f = frames, f < 1 { throw ValidationError("--frames must be at least 1") }
        if threads < 1 || threads > 256 { throw ValidationError("--threads must be between 1 and 256") }
        for (name, v) in [("--penalty-k", penaltyK), ("--lr", lr)] where v.map({ !$0.isFinite || $0 < 0 }) ?? false {
            throw ValidationError("\(name) must be a non-negative number")
        }
        for (name, v) in [("--window-influence", windowInfluence), ("--seg-thr", segThr)] where v.map({ !(0...1).contains($0) }) ?? false {
            throw ValidationError("\(name) must be between 0 and 1")
        }
    }

    func run() throws {
        let start = Date()
        let seq = try reporting("cannot open \(sequence)") { try SequenceReader.open(URL(fileURLWithPath: sequence)) }
        let network = try loadNetwork(model)
        let presetName = preset == "auto" ? (seq.layout == .davis ? "davis" : network.model.defaultPreset) : preset
        guard var parameters = network.model.presets[presetName] else {
            throw CommandFailure("unknown preset '\(presetName)' (the model has \(network.model.presets.keys.sorted().joined(separator: ", ")))")
        }
        if let v = penaltyK { parameters.penaltyK = v }
        if let v = windowInfluence { parameters.windowInfluence = v }
        if let v = lr { parameters.learningRate = v }
        if let v = segThr { parameters.segmentationThreshold = v }
        let session = try reporting("cannot start the tracker") {
            try TrackerSession(network: network, parameters: parameters, threads: threads)
        }
        let reader = try reporting("cannot read \(sequence)") { try FrameReader(seq) }
        guard let first = try reporting("cannot read the first frame", { try reader.next() }) else {
            throw CommandFailure("\(sequence): the sequence has no frames")
        }
        let target = try reporting("cannot initialise") { try initialization(seq, frame: first) }
        try reporting("cannot initialise") { try session.initialize(frame: first, target: target) }

        let output = try OutputFolder(URL(fileURLWithPath: out))
        var writer = try reporting("cannot write to \(out)") { try TrackOutputWriter(folder: output.staging, overlays: !noOverlay) }
        try reporting("cannot write to \(out)") { try writer.writeInitial(frame: first, center: session.center, size: session.size, target: target) }
        let replay = try replayStates.map { path in try reporting("cannot read \(path)") { try Self.states(URL(fileURLWithPath: path)) } }
        let progress = ProgressBar(total: frames.map { min($0, seq.frameCount ?? $0) } ?? seq.frameCount)
        var stage = (decode: 0.0, crop: 0.0, network: 0.0, post: 0.0, write: 0.0)
        var count = 1
        var accuracy = AccuracyTally()
        let trackStart = Date()
        while frames.map({ count < $0 }) ?? true {
            let d0 = Date()
            guard let frame = try reporting("cannot read frame \(count)", { try reader.next() }) else { break }
            stage.decode += Date().timeIntervalSince(d0)
            if let replay, let s = replay[count - 1] { session.setState(center: (s[0], s[1]), size: (s[2], s[3])) }
            let result = try reporting("frame \(count)") { try session.track(frame) }
            stage.crop += result.timings.crop
            stage.network += result.timings.network
            stage.post += result.timings.post
            let w0 = Date()
            try reporting("cannot write frame \(count)") { try writer.write(frame: frame, index: count, result: result) }
            stage.write += Date().timeIntervalSince(w0)
            try reporting("cannot read the ground truth of frame \(count)") { try accuracy.add(result, sequence: seq, frame: count) }
            count += 1
            progress.update(count, elapsed: Date().timeIntervalSince(trackStart))
        }
        progress.finish()
        try reporting("cannot write to \(out)") {
            try writer.finish()
            try output.commit()
        }
        let tracked = Double(max(count - 1, 1))
        print(String(format: "tracked %d frames of %@ (%@ preset, %@ model) into %@ in %.2f s", count, seq.name, presetName,
                     network.model.precision, out, Date().timeIntervalSince(start)))
        if let summary = accuracy.summary { print(summary) }
        print(String(format: "per frame: decode %.1f ms, crop %.1f ms, network %.1f ms, post-processing %.1f ms, write %.1f ms; peak memory %.0f MiB",
                     stage.decode / tracked * 1000, stage.crop / tracked * 1000, stage.network / tracked * 1000,
                     stage.post / tracked * 1000, stage.write / tracked * 1000, FrameBenchmark.peakResidentMiB()))
    }

    /// frame -> [cx, cy, w, h] from a results.jsonl.
    static func states(_ url: URL) throws -> [Int: [Double]] {
        var out: [Int: [Double]] = [:]
        for line in try String(contentsOf: url, encoding: .utf8).split(separator: "\n") {
            guard let obj = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
                  let f = obj["frame"] as? Int else { throw CommandFailure("\(url.path): not a results.jsonl line") }
            let v = ["cx", "cy", "w", "h"].compactMap { (obj[$0] as? NSNumber)?.doubleValue }
            guard v.count == 4 else { throw CommandFailure("\(url.path): frame \(f) lacks cx, cy, w, h") }
            out[f] = v
        }
        return out
    }

    private func initialization(_ seq: TrackingSequence, frame: Image) throws -> TrackerInitialization {
        func numbers(_ text: String, _ count: Int, _ option: String) throws -> [Double] {
            let v = text.split(separator: ",").map { Double($0.trimmingCharacters(in: .whitespaces)) }
            guard v.count == count, v.allSatisfy({ $0 != nil && $0!.isFinite }) else {
                throw CommandFailure("\(option) expects \(count) comma-separated numbers, got '\(text)'")
            }
            return v.map { $0! }
        }
        if let b = `init` {
            let v = try numbers(b, 4, "--init")
            return try SequenceTracking.checkedBox(v[0], v[1], v[2], v[3], frame: frame)
        }
        if let p = initPolygon { return .polygon(try numbers(p, 8, "--init-polygon")) }
        if let m = initMask { return try maskInit(URL(fileURLWithPath: m), frame: frame) }
        if seq.initialTarget == nil || seq.initialTarget == .missing {
            throw CommandFailure("\(seq.name) has no first-frame ground truth: give --init x,y,w,h, --init-polygon or --init-mask")
        }
        return try SequenceTracking.initialTarget(seq, frame: frame)
    }

    private func maskInit(_ url: URL, frame: Image) throws -> TrackerInitialization {
        try reporting("cannot read mask \(url.path)") { try SequenceTracking.maskTarget(url, frame: frame) }
    }
}

/// Accuracy against the sequence's own ground truth, where it has one: box IoU of the tracker's axis-aligned box with
/// the ground-truth box (VOT polygons by the official rule) and IoU of the binary masks where masks exist.
struct AccuracyTally {
    private var boxIoUs: [Double] = []
    private var maskIoUs: [Double] = []

    mutating func add(_ r: TrackResult, sequence: TrackingSequence, frame: Int) throws {
        let overlap = try SequenceTracking.groundTruthOverlap(r, sequence: sequence, frame: frame)
        if let b = overlap.box { boxIoUs.append(b) }
        if let m = overlap.mask { maskIoUs.append(m) }
    }

    var summary: String? {
        func mean(_ v: [Double]) -> String { String(format: "%.3f", v.reduce(0, +) / Double(v.count)) }
        var parts: [String] = []
        if !boxIoUs.isEmpty { parts.append("mean box IoU \(mean(boxIoUs)) over \(boxIoUs.count) frames") }
        if !maskIoUs.isEmpty { parts.append("mean mask IoU \(mean(maskIoUs)) over \(maskIoUs.count) frames") }
        return parts.isEmpty ? nil : "against the ground truth: " + parts.joined(separator: ", ")
    }
}

import ArgumentParser
import Evaluation
import Foundation
import Imaging
import SiamMask

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

    @OptionGroup var presetOption: PresetOption

    @OptionGroup var overrides: HyperParameterOverrides

    @Option(help: "Track at most this many frames (the first included).")
    var frames: Int?

    @OptionGroup var threadsOption: ThreadsOption

    @Flag(help: "Do not write overlay frames.")
    var noOverlay = false

    @Option(
        help: ArgumentHelp(
            "Also write the overlay frames as a video (e.g. OUT.mp4, through ffmpeg; written atomically). "
                + "An odd frame side is padded by one pixel.", valueName: "file"))
    var videoOut: String?

    @Option(help: "Frame rate of --video-out.")
    var videoFps: Int = 25

    @Option(
        help: ArgumentHelp(
            "Replay target states from another tracker's results.jsonl (cx, cy, w, h per frame): "
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
        if videoFps < 1 || videoFps > 1000 { throw ValidationError("--video-fps must be between 1 and 1000") }
    }

    func run() throws {
        let start = Date()
        let seq = try reporting("cannot open \(sequence)") { try SequenceReader.open(URL(fileURLWithPath: sequence)) }
        if let path = videoOut, !VideoWriter.isAvailable {
            throw CommandFailure("cannot write \(path): \(VideoWriterError.ffmpegMissing)")
        }
        let network = try loadNetwork(model)
        let preset: ResolvedTrackerPreset
        do {
            preset = overrides.applied(
                to: try SequenceTracking.preset(presetOption.value, for: seq, model: network.model))
        } catch {
            throw CommandFailure("\(error)")
        }
        let tracker = try reporting("cannot start the tracker") {
            try SiamMaskTracker(network: network, preset: preset, threads: threadsOption.threads)
        }
        let session = tracker.session
        let reader = try reporting("cannot read \(sequence)") { try FrameReader(seq) }

        // Set up once the first frame is read and the tracker started (a bad target writes nothing).
        var output: OutputFolder?
        var writer: TrackOutputWriter?
        var replay: [Int: [Double]]?
        let progress = ProgressBar(total: frames.map { min($0, seq.frameCount ?? $0) } ?? seq.frameCount)
        var writeSeconds = 0.0
        var accuracy = AccuracyTally()
        var trackStart = Date()
        let summary: TrackingLoop.Summary
        do {
            summary = try TrackingLoop.run(
                [session], frames: reader, maxFrames: frames.map { $0 - 1 },
                target: { try initialization(seq, frame: $0) },
                started: { first, target in
                    let folder = try OutputFolder(URL(fileURLWithPath: out))
                    output = folder
                    let video = try videoOut.map { path in
                        try reporting("cannot write \(path)") {
                            try VideoWriter(
                                destination: URL(fileURLWithPath: path), width: first.width, height: first.height,
                                framesPerSecond: videoFps)
                        }
                    }
                    writer = try reporting("cannot write to \(out)") {
                        try TrackOutputWriter(folder: folder.staging, overlays: !noOverlay, video: video)
                    }
                    try reporting("cannot write to \(out)") {
                        try writer!.writeInitial(
                            frame: first, center: session.center, size: session.size, target: target)
                    }
                    replay = try replayStates.map { path in
                        try reporting("cannot read \(path)") { try Self.states(URL(fileURLWithPath: path)) }
                    }
                    trackStart = Date()
                },
                beforeFrame: { index in
                    if let s = replay?[index - 1] { session.setState(center: (s[0], s[1]), size: (s[2], s[3])) }
                }
            ) { index, frame, results in
                let w0 = Date()
                try reporting("cannot write frame \(index)") {
                    try writer!.write(frame: frame, index: index, result: results[0])
                }
                writeSeconds += Date().timeIntervalSince(w0)
                try reporting("cannot read the ground truth of frame \(index)") {
                    try accuracy.add(results[0], sequence: seq, frame: index)
                }
                progress.update(index + 1, elapsed: Date().timeIntervalSince(trackStart))
            }
        } catch let e as TrackingLoopError {
            if case .noFrames = e { throw CommandFailure("\(sequence): the sequence has no frames") }
            if let failure = e.underlying as? CommandFailure { throw failure }   // already says what failed
            throw CommandFailure(e.description)
        }
        progress.finish()
        try reporting("cannot write to \(out)") {
            try writer!.finish()
            try output!.commit()
        }
        if let path = videoOut { try reporting("cannot write \(path)") { try writer!.commitVideo() } }
        let count = summary.trackedFrames + 1
        let tracked = Double(max(summary.trackedFrames, 1))
        print(
            String(
                format: "tracked %d frames of %@ (%@ preset, %@ model) into %@ in %.2f s", count, seq.name, preset.name,
                network.model.precision, out, Date().timeIntervalSince(start)))
        if let summary = accuracy.summary { print(summary) }
        if let path = videoOut { print("video: \(count) frames in \(path)") }
        print(
            String(
                format:
                    "per frame: decode %.1f ms, crop %.1f ms, network %.1f ms, post-processing %.1f ms, write %.1f ms; peak memory %.0f MiB",
                summary.decodeSeconds / tracked * 1000, summary.cropSeconds / tracked * 1000,
                summary.networkSeconds / tracked * 1000,
                summary.postSeconds / tracked * 1000, writeSeconds / tracked * 1000, FrameBenchmark.peakResidentMiB()))
    }

    /// frame -> [cx, cy, w, h] from a results.jsonl.
    static func states(_ url: URL) throws -> [Int: [Double]] {
        var out: [Int: [Double]] = [:]
        for line in try String(contentsOf: url, encoding: .utf8).split(separator: "\n") {
            guard let obj = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
                let f = obj["frame"] as? Int
            else { throw CommandFailure("\(url.path): not a results.jsonl line") }
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
            throw CommandFailure(
                "\(seq.name) has no first-frame ground truth: give --init x,y,w,h, --init-polygon or --init-mask")
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

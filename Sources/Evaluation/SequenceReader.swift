import Foundation
import Imaging

public enum SequenceError: Error, Equatable, CustomStringConvertible {
    case notFound(String)
    case noFrames(String)
    case ambiguous(String, String)
    case badGroundTruth(file: String, line: Int, detail: String)
    case groundTruthCount(file: String, frames: Int, lines: Int)
    case unreadableFrame(String, String)
    case ffmpegMissing
    case videoFailed(String)
    case noInitialTarget(String)
    case empty(String)

    public var description: String {
        switch self {
        case .notFound(let p): return "\(p): no such file or folder"
        case .noFrames(let p): return "\(p): no frames (.jpg, .jpeg or .png) found"
        case .ambiguous(let p, let hint): return "\(p): \(hint)"
        case .badGroundTruth(let f, let l, let d): return "\(f) line \(l): \(d)"
        case .groundTruthCount(let f, let n, let l): return "\(f) has \(l) lines for \(n) frames"
        case .unreadableFrame(let p, let why): return "cannot read frame \(p): \(why)"
        case .ffmpegMissing:
            return "reading video needs ffmpeg on PATH (apt-get install ffmpeg), or extract the frames to a folder"
        case .videoFailed(let why): return "video decoding failed: \(why)"
        case .noInitialTarget(let n): return "\(n) has no first-frame ground truth to start the tracker from"
        case .empty(let n): return "\(n): the sequence has no frames"
        }
    }
}

/// A tracking sequence on disk in one of the benchmark layouts, detected from its path.
public struct TrackingSequence: Sendable {
    public enum Layout: String, Sendable { case davis, vot, otb, synthetic, frames, video }

    public var name: String
    public var layout: Layout
    /// Frame files in order (empty for a video).
    public var frames: [URL]
    /// The video file, for `.video`.
    public var video: URL?
    /// Per-frame ground truth (empty when the sequence has none).
    public var groundTruth: [GroundTruth]
    /// Per-frame object masks where the layout has them (DAVIS annotations, synthetic masks/).
    public var masks: [URL?]

    public var frameCount: Int? { layout == .video ? nil : frames.count }

    /// The first frame's target as the benchmark initialises from it: VOT polygon, OTB rectangle, DAVIS mask.
    public var initialTarget: GroundTruth? {
        if let m = masks.first, let url = m, layout == .davis { return .mask(url) }
        return groundTruth.first
    }
}

public enum SequenceReader {
    static let imageExtensions: Set<String> = ["jpg", "jpeg", "png"]
    static let videoExtensions: Set<String> = ["mp4", "avi", "mov", "mkv", "webm", "m4v", "mpg", "mpeg"]

    /// Detects the layout of `url`: a DAVIS sequence folder (`.../JPEGImages/480p/SEQ`), a VOT folder
    /// (`*.jpg` or `color/*.jpg` + `groundtruth.txt`), an OTB folder (`img/*.jpg` + `groundtruth_rect.txt`),
    /// a synthetic sequence (frames + `masks/` + `groundtruth.txt`), a plain frame folder, or a video file.
    public static func open(_ url: URL) throws -> TrackingSequence {
        let fm = FileManager.default
        var isDir: ObjCBool = false
        guard fm.fileExists(atPath: url.path, isDirectory: &isDir) else { throw SequenceError.notFound(url.path) }
        let name = url.standardizedFileURL.lastPathComponent
        if !isDir.boolValue {
            guard videoExtensions.contains(url.pathExtension.lowercased()) else {
                throw SequenceError.ambiguous(url.path, "not a folder of frames or a video file")
            }
            return TrackingSequence(
                name: url.deletingPathExtension().lastPathComponent, layout: .video, frames: [],
                video: url, groundTruth: [], masks: [])
        }
        // DAVIS: .../JPEGImages/<resolution>/<sequence>, annotations in .../Annotations/<resolution>/<sequence>.
        let parts = url.standardizedFileURL.pathComponents
        if parts.count >= 3, parts[parts.count - 3] == "JPEGImages" {
            let frames = try images(in: url)
            let root = url.standardizedFileURL.deletingLastPathComponent().deletingLastPathComponent()
                .deletingLastPathComponent()
            let annotations = root.appendingPathComponent("Annotations").appendingPathComponent(parts[parts.count - 2])
                .appendingPathComponent(name)
            let masks = frames.map { f -> URL? in
                let m = annotations.appendingPathComponent(f.deletingPathExtension().lastPathComponent + ".png")
                return fm.fileExists(atPath: m.path) ? m : nil
            }
            return TrackingSequence(
                name: name, layout: .davis, frames: frames, video: nil,
                groundTruth: masks.map { $0.map(GroundTruth.mask) ?? .missing }, masks: masks)
        }
        if fm.fileExists(atPath: url.appendingPathComponent("JPEGImages").path) {
            let seqs =
                (try? fm.contentsOfDirectory(atPath: url.appendingPathComponent("JPEGImages/480p").path))?.sorted()
                ?? []
            throw SequenceError.ambiguous(
                url.path, "a DAVIS root: name a sequence, e.g. \(url.path)/JPEGImages/480p/\(seqs.first ?? "SEQ")")
        }
        // OTB: img/ + groundtruth_rect*.txt
        let img = url.appendingPathComponent("img")
        if fm.fileExists(atPath: img.path) {
            let frames = try images(in: img)
            let gtFile = (try fm.contentsOfDirectory(atPath: url.path)).sorted().first {
                $0.hasPrefix("groundtruth_rect") && $0.hasSuffix(".txt")
            }
            var gt: [GroundTruth] = []
            if let gtFile {
                gt = try lines(url.appendingPathComponent(gtFile)).enumerated().map {
                    try GroundTruthParser.otbLine($0.element, lineNumber: $0.offset + 1, file: gtFile)
                }
                try checkCount(gt.count, frames.count, gtFile)
            }
            return TrackingSequence(name: name, layout: .otb, frames: frames, video: nil, groundTruth: gt, masks: [])
        }
        // VOT / synthetic: frames directly or in color/, groundtruth.txt beside them.
        let color = url.appendingPathComponent("color")
        let frames = try images(in: fm.fileExists(atPath: color.path) ? color : url)
        let gtURL = url.appendingPathComponent("groundtruth.txt")
        var gt: [GroundTruth] = []
        if fm.fileExists(atPath: gtURL.path) {
            gt = try lines(gtURL).enumerated().map {
                try GroundTruthParser.votLine($0.element, lineNumber: $0.offset + 1, file: "groundtruth.txt")
            }
            try checkCount(gt.count, frames.count, "groundtruth.txt")
        }
        let maskDir = url.appendingPathComponent("masks")
        if fm.fileExists(atPath: maskDir.path) {
            let masks = frames.map { f -> URL? in
                let m = maskDir.appendingPathComponent(f.deletingPathExtension().lastPathComponent + ".png")
                return fm.fileExists(atPath: m.path) ? m : nil
            }
            return TrackingSequence(
                name: name, layout: .synthetic, frames: frames, video: nil, groundTruth: gt, masks: masks)
        }
        return TrackingSequence(
            name: name, layout: gt.isEmpty ? .frames : .vot, frames: frames, video: nil, groundTruth: gt, masks: [])
    }

    static func images(in dir: URL) throws -> [URL] {
        let names = try FileManager.default.contentsOfDirectory(atPath: dir.path)
            .filter { imageExtensions.contains(($0 as NSString).pathExtension.lowercased()) && !$0.hasPrefix(".") }
            .sorted()
        guard !names.isEmpty else { throw SequenceError.noFrames(dir.path) }
        return names.map { dir.appendingPathComponent($0) }
    }

    static func lines(_ url: URL) throws -> [String] {
        guard let text = try? String(contentsOf: url, encoding: .utf8) else {
            throw SequenceError.badGroundTruth(file: url.lastPathComponent, line: 0, detail: "unreadable or not UTF-8")
        }
        var lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        while let last = lines.last, last.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty { lines.removeLast() }
        return lines
    }

    /// Benchmarks sometimes annotate fewer frames than exist (never more).
    static func checkCount(_ lines: Int, _ frames: Int, _ file: String) throws {
        guard lines >= 1, lines <= frames else {
            throw SequenceError.groundTruthCount(file: file, frames: frames, lines: lines)
        }
    }
}

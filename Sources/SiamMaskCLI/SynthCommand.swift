import ArgumentParser
import Foundation
import Imaging
import Synthetic

/// `siammask synth`: a deterministic synthetic tracking sequence (frames, masks, VOT polygons, meta.json).
public struct SynthCommand: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "synth",
        abstract: "Generate a deterministic synthetic tracking sequence with masks and ground truth.",
        discussion: """
            Flat layout: OUT/00000.jpg..., OUT/masks/00000.png... (8-bit grey, 0 background, 255 target), \
            OUT/groundtruth.txt (one VOT polygon a frame: the minimum-area rectangle of the mask's pixel centres, \
            0-based) and OUT/meta.json. DAVIS layout: OUT/JPEGImages/480p/NAME/, OUT/Annotations/480p/NAME/, \
            OUT/sequences.txt and OUT/Synthetic/NAME/{groundtruth.txt,meta.json}; OUT may already hold other \
            sequences. The same options always give the same bytes. Output is written to a temporary folder and \
            renamed into place, so a failure leaves nothing behind.
            """)

    @Option(parsing: .unconditional, help: "Random seed (any unsigned 64-bit integer).")
    var seed: UInt64

    @Option(parsing: .unconditional, help: "Number of frames (1...\(SynthOptions.maxFrames)).")
    var frames: Int

    @Option(help: "Output folder (flat: must not exist or be empty; davis: the dataset root).")
    var out: String

    @Option(parsing: .unconditional, help: "Frame width in pixels.")
    var width: Int = 854

    @Option(parsing: .unconditional, help: "Frame height in pixels.")
    var height: Int = 480

    @Option(help: "easy, medium or hard: speed, clutter, distractors, occlusion, illumination change and blur.")
    var difficulty: String = "medium"

    @Option(help: "Frame image format: jpg or png (masks are always png).")
    var format: String = "jpg"

    @Option(parsing: .unconditional, help: "JPEG quality of the frames (1...100).")
    var quality: Int = 90

    @Option(help: "flat or davis.")
    var layout: String = "flat"

    @Option(help: "Sequence name in the davis layout (default synth-SEED-DIFFICULTY).")
    var name: String?

    @Option(parsing: .unconditional, help: "Threads rendering and encoding frames (the output does not depend on it).")
    var threads: Int = 2

    // Numeric options parse their next argument unconditionally, so that "--width -5" reaches validation and gets
    // a clear message instead of being taken for an option.

    public init() {}

    func options() throws -> SynthOptions {
        guard let level = Difficulty(rawValue: difficulty.lowercased()) else {
            throw ValidationError("--difficulty must be easy, medium or hard (got \"\(difficulty)\")")
        }
        let frameFormat: ImageFileFormat
        switch format.lowercased() {
        case "jpg", "jpeg": frameFormat = .jpeg
        case "png": frameFormat = .png
        default: throw ValidationError("--format must be jpg or png (got \"\(format)\")")
        }
        guard let sequenceLayout = SequenceLayout(rawValue: layout.lowercased()) else {
            throw ValidationError("--layout must be flat or davis (got \"\(layout)\")")
        }
        let options = SynthOptions(
            seed: seed, frames: frames, width: width, height: height, difficulty: level,
            frameFormat: frameFormat, jpegQuality: quality, layout: sequenceLayout,
            sequenceName: name, threads: threads)
        do {
            try options.validate()
        } catch let SynthError.invalidOption(message) {
            throw ValidationError(message)
        }
        return options
    }

    public func validate() throws {
        _ = try options()
        guard !out.isEmpty else { throw ValidationError("--out must name a folder") }
    }

    public func run() throws {
        let options = try options()
        let start = DispatchTime.now().uptimeNanoseconds
        let summary: SynthSummary
        do {
            summary = try SequenceWriter.write(options, to: URL(fileURLWithPath: out))
        } catch let error as SynthError {
            throw CommandFailure("synth: \(error)")
        } catch {
            throw CommandFailure("synth: \(error)")
        }
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        var line =
            "synth: \(options.frames) frames \(options.width)x\(options.height) (\(options.difficulty.rawValue), seed "
            + "\(options.seed)) written to \(summary.framesDirectory.path) in \((seconds * 1000).rounded() / 1000) s"
        if !summary.emptyFrames.isEmpty { line += "; target invisible in \(summary.emptyFrames.count) frame(s)" }
        print(line)
    }
}

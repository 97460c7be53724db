import ArgumentParser
import Evaluation
import Foundation
import Quantization

struct CalibrateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "calibrate",
        abstract: "Record activation ranges by running the float32 tracker over real sequences.",
        discussion: """
            Each sequence is tracked from its first-frame ground truth, so the network sees the crops the tracker sees;
            every input and node output of the per-frame graphs (search and refine) is observed. The observations are
            reduced with --method: mse (default), minmax, percentile[:P] (default P 99.99) or entropy (KL). Writes a versioned
            JSON table (Schemas/calibration-table.md), atomically.
            """)

    @Argument(help: "The float32 .siam model.")
    var model: String

    @Option(name: .customLong("sequence"), help: "A sequence folder or video with ground truth (repeatable).")
    var sequences: [String] = []

    @Option(
        help: "minmax, percentile[:P] (P defaults to 99.99), entropy or mse (the default: best measured, see README).")
    var method: String = "mse"

    @OptionGroup var framesOption: TrackedFramesOption
    var frames: Int? { framesOption.frames }

    @OptionGroup var presetOption: PresetOption
    var preset: String { presetOption.preset }

    @OptionGroup var threadsOption: ThreadsOption
    var threads: Int { threadsOption.threads }

    @Option(help: "Also save each frame's network inputs (search crop, zf) as NPY files here, for peer tools.")
    var saveInputs: String?

    @Option(name: .shortAndLong, help: "Output calibration table (.json).")
    var output: String

    func validate() throws {
        if sequences.isEmpty { throw ValidationError("give at least one --sequence") }
        if CalibrationMethod(parsing: method) == nil {
            throw ValidationError("unknown --method '\(method)' (minmax, percentile[:P], entropy, mse)")
        }
    }

    func run() throws {
        let start = Date()
        let method = CalibrationMethod(parsing: self.method)!
        let network = try loadNetwork(model)
        let seqs = try openSequences(sequences)
        let observation = try reporting("calibration failed") {
            try CalibrationRunner.observe(
                network: network, sequences: seqs, preset: preset, maxFrames: frames, threads: threads,
                saveInputs: saveInputs.map { URL(fileURLWithPath: $0) }
            ) { name, n in
                print("  \(name): \(n) frames")
            }
        }
        let table = CalibrationRunner.table(observation, method: method, model: try modelIdentity(model))
        try reporting("cannot write \(output)") { try table.write(to: URL(fileURLWithPath: output)) }
        print(
            String(
                format: "calibrated %d tensors on %d frames of %d sequences (%@) -> %@ in %.1f s", table.tensors.count,
                observation.frames, seqs.count, method.name, output, Date().timeIntervalSince(start)))
    }
}

/// Opens every sequence, naming the one that fails.
func openSequences(_ paths: [String]) throws -> [TrackingSequence] {
    try paths.map { p in try reporting("cannot open \(p)") { try SequenceReader.open(URL(fileURLWithPath: p)) } }
}

/// "name (N bytes, sha256 ...)" is overkill here: the file name and size identify the model for a person.
func modelIdentity(_ path: String) throws -> String {
    let size = (try? FileManager.default.attributesOfItem(atPath: path)[.size] as? Int) ?? 0
    return "\(URL(fileURLWithPath: path).lastPathComponent) (\(size) bytes)"
}

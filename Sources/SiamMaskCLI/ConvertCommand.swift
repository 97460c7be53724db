import ArgumentParser
import Foundation
import Importers
import ModelFormat
import SiamMaskLayout

struct ConvertCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "convert",
        abstract: "Convert PyTorch checkpoints (.pth, zip or legacy) or ONNX exports into a canonical fp32 .siam file.")

    @Argument(help: "One .pth checkpoint, or one or more ONNX files that together hold the weights.")
    var sources: [String]

    @Option(name: .shortAndLong, help: "Output .siam file (written atomically).")
    var output: String

    @Flag(help: "Accept a checkpoint with missing keys (they become zero weights / identity batch-norm). Dangerous.")
    var allowMissing = false

    @Flag(help: "Accept and ignore state-dict keys that are not part of siammask_sharp.")
    var allowUnexpected = false

    @Option(help: "Default tracker preset stored in the file: vot or davis.")
    var preset: String = "vot"

    @Option(help: "zstd compression level.")
    var level: Int32 = 3

    func run() throws {
        guard ["vot", "davis"].contains(preset) else { throw ValidationError("--preset must be vot or davis") }
        let urls = sources.map { URL(fileURLWithPath: $0) }
        let options = ConversionOptions(
            canonicalization: .init(allowMissing: allowMissing, allowUnexpected: allowUnexpected),
            defaultPreset: preset)
        let start = Date()
        let result = try reporting("cannot convert \(sources.joined(separator: ", "))") {
            try ModelConverter.convert(urls, options: options)
        }
        let out = URL(fileURLWithPath: output)
        try reporting("cannot write \(output)") {
            try SiamFileWriter.write(result.model.siamFile(), to: out, compressionLevel: level)
        }
        let size = (try? FileManager.default.attributesOfItem(atPath: out.path)[.size] as? Int) ?? 0
        for w in result.warnings { print("warning: \(w)") }
        print(
            "converted \(result.sourceDescription) -> \(output): \(result.model.weights.tensors.count) tensors, "
                + "widths \(result.model.widths), \(size) bytes, \(String(format: "%.2f", Date().timeIntervalSince(start))) s"
        )
    }
}

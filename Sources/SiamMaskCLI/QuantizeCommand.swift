import ArgumentParser
import Evaluation
import Foundation
import ModelFormat
import Quantization
import SiamMask
import SiamMaskLayout
import Tensors

struct QuantizeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "quantize",
        abstract: "Quantise a float32 .siam model to int8 with a calibration table.",
        discussion: """
            Weights become int8, symmetric per output channel; biases int32 at the accumulator scale; activations uint8
            per tensor with the table's scales and zero points. Layers matching --keep-float32 (glob on node or module
            names, repeatable) stay float32. With --drift-budget, the quantiser measures each layer's effect on the final
            outputs and keeps the fewest layers in float32 that bring the int8 tracker within the budget on the given
            --sequence(s) (e.g. 0.95, or box_iou=0.95,mask_iou=0.95,center_error=2,sqnr_db=20), with the int8 tracker
            started from the float32 tracker's state on every frame (--free-running: both run free). The per-frame layers run
            in int8; the template branch runs once per target in float32 on the dequantised weights.
            """)

    @Argument(help: "The float32 .siam model.")
    var model: String

    @Option(help: "Calibration table from `siammask calibrate`.")
    var calibration: String

    @Option(name: .customLong("keep-float32"), help: "Keep matching layers in float32 (glob, repeatable).")
    var keepFloat32: [String] = []

    @Option(help: "Drift budget for automatic mixed precision.")
    var driftBudget: String?

    @Option(
        name: .customLong("sequence"), help: "Sequences for the drift budget (repeatable; use calibration sequences).")
    var sequences: [String] = []

    @OptionGroup var framesOption: TrackedFramesOption
    var frames: Int? { framesOption.frames }

    @Flag(help: "Judge the budget on free-running trackers instead of lockstep (see `siammask drift --lockstep`).")
    var freeRunning = false

    @OptionGroup var threadsOption: ThreadsOption
    var threads: Int { threadsOption.threads }

    @Option(
        name: .customLong("weight-bits"),
        help: ArgumentHelp(
            "8, or 7: weights in [-63, 63], so CPUs with AVX2 but no VNNI run int8 layers through vpmaddubsw (about 1.3x faster there; measure the accuracy cost with `siammask drift`).",
            valueName: "bits"))
    var weightBits: Int = 8

    @Flag(
        name: .customLong("winograd-domain"),
        help: ArgumentHelp(
            "Compute the 3x3 stride-1 convolutions of layers 2 and 3 and the correlation blocks' conv_search in the Winograd domain: transformed inputs and weights requantised to 8 bits, 16 instead of 36 products per 2x2 outputs (faster with AVX-512 VNNI or AVX-VNNI; measure the accuracy cost with `siammask drift`). Needs a calibration table with Winograd statistics."
        ))
    var winogradDomain = false

    @Option(help: "zstd compression level.")
    var level: Int32 = 3

    @Option(name: .shortAndLong, help: "Output int8 .siam file (written atomically).")
    var output: String

    func validate() throws {
        if driftBudget != nil, sequences.isEmpty {
            throw ValidationError("--drift-budget needs at least one --sequence")
        }
        if driftBudget == nil, !sequences.isEmpty {
            throw ValidationError("--sequence is only used with --drift-budget")
        }
        if weightBits != 7 && weightBits != 8 { throw ValidationError("--weight-bits must be 7 or 8") }
    }

    func run() throws {
        let start = Date()
        let budget = try driftBudget.map { b in try reporting("invalid --drift-budget") { try DriftBudget(parsing: b) }
        }
        let network = try loadNetwork(model)
        let fp32 = network.model
        guard fp32.quantization == nil else {
            throw CommandFailure("\(model) is already quantised; quantise its float32 original")
        }
        let table = try reporting("cannot read \(calibration)") {
            try CalibrationTable.read(from: URL(fileURLWithPath: calibration))
        }
        var encodings: [String: UInt8Encoding] = [:]
        for t in table.tensors { encodings[t.name] = UInt8Encoding(scale: t.scale, zeroPoint: t.zeroPoint) }
        let nodes = try reporting("cannot quantise") { try SiamMaskQuantizer.quantizableNodes(network) }
        let weightOnly = try SiamMaskQuantizer.weightOnlyModules(network)
        let pinned = SiamMaskQuantizer.nodes(matching: keepFloat32, in: nodes, weightOnly: weightOnly)
        if let unmatched = keepFloat32.first(where: {
            SiamMaskQuantizer.nodes(matching: [$0], in: nodes, weightOnly: weightOnly).isEmpty
        }) {
            throw CommandFailure("--keep-float32 '\(unmatched)' matches no per-frame layer")
        }
        var settings = [
            "calibration.method": table.method.name, "calibration.frames": String(table.frames),
            "calibration.sources": table.sources.joined(separator: ", "), "calibration.model": table.model,
            "quantizer": "siammask quantize 1",
        ]
        if !keepFloat32.isEmpty { settings["keep_float32"] = keepFloat32.joined(separator: ", ") }
        var winograd: [String: [Float]] = [:]
        if winogradDomain {
            let candidates = try SiamMaskQuantizer.defaultWinogradLayers(network).filter { !pinned.contains($0.name) }
            for c in candidates {
                guard let absMax = table.winogradAbsMax(for: c.name) else {
                    throw CommandFailure(
                        "\(calibration) has no Winograd statistics for \(c.name): calibrate again with this version")
                }
                winograd[c.name] = absMax
            }
            settings["winograd_domain"] = candidates.map(\.name).joined(separator: ", ")
        }
        var quantized: SiamMaskModel
        if let budget {
            settings["drift_budget"] = driftBudget!
            let seqs = try openSequences(sequences)
            let outcome = try reporting("mixed-precision search failed") {
                try MixedPrecisionSearch.run(
                    model: fp32, encodings: encodings, alwaysFloat32: pinned, sequences: seqs, budget: budget,
                    options: DriftRunner.Options(
                        maxFrames: frames, threads: threads, layers: false, lockstep: !freeRunning),
                    settings: settings, weightBits: weightBits, winograd: winograd
                ) { print("  " + $0) }
            }
            quantized = outcome.model
            quantized.quantization?.settings["drift_budget.result"] =
                outcome.passed
                ? "met with \(outcome.float32Layers.count) float32 layers" : "not met even with every layer in float32"
            if !outcome.passed { print("warning: the budget is not met even with every per-frame layer in float32") }
        } else {
            quantized = try reporting("cannot quantise") {
                try SiamMaskQuantizer.quantize(
                    fp32, encodings: encodings, float32Nodes: pinned, settings: settings,
                    weightBits: weightBits, winograd: winograd)
            }
        }
        let out = URL(fileURLWithPath: output)
        try reporting("cannot write \(output)") {
            try SiamFileWriter.write(quantized.siamFile(), to: out, compressionLevel: level)
        }
        let q = quantized.quantization!
        let inSize = (try? FileManager.default.attributesOfItem(atPath: model)[.size] as? Int) ?? 0
        let outSize = (try? FileManager.default.attributesOfItem(atPath: output)[.size] as? Int) ?? 0
        let weightOnlyCount = q.layers.values.filter(\.isWeightOnly).count
        print(
            String(
                format:
                    "quantised %@ -> %@ (%@): %d int8 layers, %d with int8 weights and float32 compute, %d float32 layers%@, %d activation encodings, %d -> %d bytes (%.0f%%) in %.1f s",
                model, output, quantized.precision, q.layers.count - weightOnlyCount, weightOnlyCount,
                q.float32Nodes.count,
                q.float32Nodes.isEmpty ? "" : " (" + q.float32Nodes.joined(separator: ", ") + ")",
                q.activations.count, inSize, outSize, 100 * Double(outSize) / Double(max(inSize, 1)),
                Date().timeIntervalSince(start)))
    }
}

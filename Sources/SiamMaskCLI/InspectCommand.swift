import ArgumentParser
import Foundation
import ModelFormat
import SiamMask
import SiamMaskLayout

struct InspectCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "inspect",
        abstract:
            "Show a .siam file's metadata and tensor table, and an int8 model's per-layer precision and parameters.")

    @Argument(help: "The .siam file.")
    var file: String

    func run() throws {
        let url = URL(fileURLWithPath: file)
        let summary = try reporting("cannot read \(file)") { try SiamFileReader.summary(contentsOf: url) }
        print(summary.description)
        guard case .string(let precision)? = summary.metadata["model.precision"], precision != "float32" else { return }
        let network = try loadNetwork(file)
        guard let q = network.model.quantization else { return }
        let nodes = try reporting("cannot list the layers of \(file)") {
            try SiamMaskQuantizer.quantizableNodes(network)
        }
        let float32 = Set(q.float32Nodes)
        print(
            "per-frame layers (\(precision)): \(nodes.count - float32.count) int8, \(float32.count) float32; "
                + "activations uint8 per tensor (scale / zero point), weights int8 per output channel (scale range)")
        func encoding(_ name: String) -> String {
            guard let e = q.activations[name] else { return "-" }
            return String(format: "%.4g / %d", e.scale, e.zeroPoint)
        }
        let width = nodes.map(\.name.count).max() ?? 10
        for n in nodes {
            let int8 = !float32.contains(n.name)
            var weights = "-"
            if let m = n.module, let layer = q.layers[m], let lo = layer.weightScales.min(),
                let hi = layer.weightScales.max()
            {
                weights = String(format: "%.3g..%.3g", lo, hi)
            }
            let line =
                n.name.padding(toLength: width, withPad: " ", startingAt: 0)
                + "  " + (int8 ? "int8   " : "float32") + "  in " + n.inputSource + " " + encoding(n.inputSource)
                + "  out " + (int8 ? encoding(n.name) : "float32") + "  w " + (int8 ? weights : "float32")
            print("  " + line)
        }
        let weightOnly = q.layers.filter { $0.value.isWeightOnly }.keys.sorted()
        if !weightOnly.isEmpty {
            print(
                "int8 weights, float32 compute (template side, once per target; refine deconvolution): "
                    + weightOnly.joined(separator: ", "))
        }
    }
}

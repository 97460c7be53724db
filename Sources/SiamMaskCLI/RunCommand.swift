import ArgumentParser
import Foundation
import ModelFormat
import Runtime
import SiamMask
import SiamMaskLayout
import Tensors

struct RunCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Run one SiamMask graph on .npy inputs and write one NAME.npy per output.",
        discussion: """
            Graphs (float32, NCHW, batch 1, images BGR 0..255):
              template: template [1,3,127,127] -> zf [1,256,7,7]
              search:   search [1,3,255,255], zf -> cls [1,10,25,25], loc [1,20,25,25], corr [1,256,25,25],
                        f0 [1,64,125,125], f1 [1,256,63,63], f2 [1,512,31,31]
              refine:   f0, f1, f2, corr and --pos ROW,COL -> mask [1,1,127,127] (logits)
            Channel counts scale with the model's widths. An int8 model runs its search and refine graphs in int8 (the
            template graph, and everything with --float32, on its dequantised weights in float32).
            """)

    enum GraphName: String, ExpressibleByArgument, CaseIterable { case template, search, refine }

    @Argument(help: "The .siam model.")
    var model: String

    @Option(help: "template, search or refine.")
    var graph: GraphName

    @Option(name: .customLong("input"), help: "NAME=FILE.npy, once per graph input.")
    var inputs: [String] = []

    @Option(help: "Refine position ROW,COL in the 25x25 score map.")
    var pos: String?

    @Option(help: "Output folder (created if needed).")
    var output: String

    @OptionGroup var threadsOption: ThreadsOption
    var threads: Int { threadsOption.threads }

    @Flag(help: "Run an int8 model's dequantised weights in float32.")
    var float32 = false

    @Option(help: "Also write every graph input and node output (dequantised) as NODE.npy into this folder.")
    var dumpActivations: String?

    @Option(
        help: "Run this many more times after the first (packing) run and print the time of every step of the last.")
    var profile: Int?

    func validate() throws {
        if graph == .refine, pos == nil { throw ValidationError("--graph refine needs --pos ROW,COL") }
        if graph != .refine, pos != nil { throw ValidationError("--pos only applies to --graph refine") }
    }

    func run() throws {
        var named: [String: Tensor] = [:]
        for spec in inputs {
            guard let eq = spec.firstIndex(of: "="), eq != spec.startIndex, spec.index(after: eq) != spec.endIndex
            else {
                throw ValidationError("--input expects NAME=FILE.npy, got '\(spec)'")
            }
            let name = String(spec[..<eq]), path = String(spec[spec.index(after: eq)...])
            guard named[name] == nil else { throw ValidationError("input '\(name)' given twice") }
            named[name] = try reporting("cannot read input '\(name)'") { try NPY.read(URL(fileURLWithPath: path)) }
        }
        let loadStart = Date()
        let network = try loadNetwork(model)
        let loadSeconds = Date().timeIntervalSince(loadStart)
        let g: Graph = try reporting("cannot build the \(graph.rawValue) graph") {
            switch graph {
            case .template: return try network.templateGraph()
            case .search: return try network.searchGraph()
            case .refine:
                let parts = pos!.split(separator: ",").map { Int($0.trimmingCharacters(in: .whitespaces)) }
                guard parts.count == 2, let row = parts[0], let col = parts[1] else {
                    throw CommandFailure("--pos expects ROW,COL, got '\(pos!)'")
                }
                return try network.refineGraph(row: row, column: col)
            }
        }
        let runStart = Date()
        let int8 = graph == .template || float32 ? nil : network.int8Configuration
        var dumped: [(String, Tensor)] = []
        let outputs = try reporting("cannot run the \(graph.rawValue) graph") {
            let executor = try Executor(graph: g, threads: threads, int8: int8)
            if dumpActivations != nil {
                executor.observer = { name, shape, values in
                    dumped.append((name, Tensor(shape: shape.dims, floats: Array(values))))
                }
            }
            let first = try executor.run(named)
            guard let repeats = profile else { return first }
            executor.observer = nil
            executor.profiling = true
            var times: [Double] = []
            for _ in 0..<max(1, repeats) {
                let t0 = Date()
                _ = try executor.run(named)
                times.append(Date().timeIntervalSince(t0))
            }
            let steps = executor.lastProfile
            let total = steps.map(\.seconds).reduce(0, +)
            print(
                String(
                    format: "profile: best of %d runs %.1f ms; last run by step (%.1f ms):", times.count,
                    (times.min() ?? 0) * 1000, total * 1000))
            for (name, seconds) in steps.sorted(by: { $0.seconds > $1.seconds }).prefix(25) {
                print(
                    String(format: "  %7.2f ms  %4.1f%%  %@", seconds * 1000, 100 * seconds / max(total, 1e-12), name))
            }
            return first
        }
        let runSeconds = Date().timeIntervalSince(runStart)
        let dir = URL(fileURLWithPath: output)
        try reporting("cannot write to \(output)") {
            try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
            for (name, _) in g.outputs { try NPY.write(outputs[name]!, to: dir.appendingPathComponent(name + ".npy")) }
        }
        if let dump = dumpActivations {
            let d = URL(fileURLWithPath: dump)
            try reporting("cannot write to \(dump)") {
                try FileManager.default.createDirectory(at: d, withIntermediateDirectories: true)
                for (name, t) in dumped { try NPY.write(t, to: d.appendingPathComponent(name + ".npy")) }
            }
        }
        for (name, v) in g.outputs { print("\(name) \(g.shape(of: v).dims)") }
        print(
            String(
                format:
                    "loaded in %.0f ms; %@ graph (%.2f GMAC, %@) ran in %.0f ms with %d thread(s), packing included",
                loadSeconds * 1000, graph.rawValue, Double(g.multiplyAccumulates) / 1e9,
                int8 == nil ? "float32" : network.model.precision,
                runSeconds * 1000, threads))
    }
}

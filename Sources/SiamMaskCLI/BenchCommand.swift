import ArgumentParser
import Evaluation
import Foundation
import Tensors

/// `siammask bench`: times the per-frame network; `--serve` answers frame-count requests on stdin for peer benchmarks.
struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract:
            "Time the tracker's per-frame network (search + refine) and report per-layer throughput against this CPU's peak.",
        discussion: """
            --serve prints one JSON line {"ready": true, ...} once warmed up, then reads stdin: a line with an integer N \
            runs N frames and prints {"frames": N, "ms": [...]}; quit or end of input exits.
            """)

    @Argument(help: "The .siam model.")
    var model: String

    @OptionGroup var threadsOption: ThreadsOption
    var threads: Int { threadsOption.threads }

    @Option(help: "Timed frames.")
    var frames: Int = 20

    @Option(help: "Untimed frames first.")
    var warmup: Int = 3

    @Option(help: "A 1x3x255x255 float32 search crop (.npy); default: a seeded pseudo-image.")
    var search: String?

    @Option(help: "A 1x3x127x127 float32 exemplar crop (.npy); its kernels are computed once, untimed.")
    var template: String?

    @Flag(help: "Print the report as JSON.")
    var json = false

    @Flag(help: "Serve mode: answer frame-count requests on stdin with JSON lines (no profiling).")
    var serve = false

    func run() throws {
        // CommandFailure rather than ValidationError: one line, without the usage text.
        if frames < 1 { throw CommandFailure("--frames must be at least 1, not \(frames)") }
        if warmup < 0 { throw CommandFailure("--warmup must not be negative, not \(warmup)") }
        let crop = try search.map { path in
            try reporting("cannot read --search \(path)") { try NPY.read(URL(fileURLWithPath: path)) }
        }
        let exemplar = try template.map { path in
            try reporting("cannot read --template \(path)") { try NPY.read(URL(fileURLWithPath: path)) }
        }
        guard FileManager.default.fileExists(atPath: model) else {
            throw CommandFailure("cannot load \(model): no such file")
        }
        let bench = try reporting("cannot benchmark \(model)") {
            try FrameBenchmark(model: URL(fileURLWithPath: model), threads: threads, search: crop, template: exemplar)
        }
        if serve {
            _ = try reporting("warm-up failed") { try bench.runFrames(warmup) }
            print(bench.readyLine())
            fflush(nil)
            while let line = readLine() {
                guard let answer = bench.respond(to: line) else { break }
                print(answer)
                fflush(nil)
            }
            return
        }
        let report = try reporting("benchmark failed") { try bench.measure(frames: frames, warmup: warmup) }
        print(json ? report.json : report.text)
    }
}

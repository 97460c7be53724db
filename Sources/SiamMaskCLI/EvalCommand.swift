import ArgumentParser
import Evaluation
import Foundation
import Imaging
import SiamMask

struct EvalCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "eval",
        abstract: "Score a model on VOT, OTB or DAVIS with the benchmark's own protocol, metrics and result files.",
        discussion: """
            siammask eval MODEL.siam --dataset vot|otb|davis ROOT [--compare OTHER.siam] --out DIR
            siammask eval MODEL.siam --dataset ... ROOT --shard K/N --out DIR/shard-K      (or --shard-from-env)
            siammask eval --merge DIR/shard-0 DIR/shard-1 ... --out DIR

            Writes DIR/results/<model>/ in the toolkit's own layout (VOT baseline/<seq>/<seq>_001.txt, got10k <seq>.txt,
            DAVIS <seq>/<frame>.png), DIR/report.json (Schemas/eval-report.md), DIR/report.md with DIR/plots/*.svg,
            DIR/eval-run.json (what was run, for --merge) and DIR/timing.json (the only file with times in it).
            Scores are computed from the result files read back from disk. Sequences are split between shards by frame
            count (largest first, each to the least-loaded shard), K counting from 0; merging the N shard folders gives
            the same report.json and report.md bytes as one unsharded run. The folder is written atomically.
            """)

    @Argument(help: "MODEL.siam and the dataset ROOT (none with --merge).")
    var inputs: [String] = []

    @Option(help: "The benchmark: vot, otb or davis.")
    var dataset: String?

    @Option(
        help:
            "Sequences to evaluate: a comma-separated list or a file with one name a line (e.g. ImageSets/2017/val.txt)."
    )
    var sequences: String?

    @Option(help: "A second model (e.g. the int8 of MODEL) evaluated the same way and reported side by side.")
    var compare: String?

    @OptionGroup var presetOption: PresetOption

    @OptionGroup var threadsOption: ThreadsOption

    @Option(
        help:
            "Evaluate only the first N frames of each sequence (quick checks; scores then differ from the full benchmark's)."
    )
    var frames: Int?

    @Option(help: "Run shard K of N (0 <= K < N) of the sequences.")
    var shard: String?

    @Flag(
        help:
            "Take the shard from SLURM_ARRAY_TASK_ID/SLURM_ARRAY_TASK_COUNT or a Kubernetes Indexed Job's JOB_COMPLETION_INDEX."
    )
    var shardFromEnv = false

    @Option(help: "The shard count for --shard-from-env under Kubernetes (else SIAMMASK_SHARD_COUNT).")
    var shardCount: Int?

    @Option(parsing: .upToNextOption, help: "Shard output folders to combine into one report.")
    var merge: [String] = []

    @Option(help: "Output folder (must not exist, or be empty).")
    var out: String

    func validate() throws {
        if !merge.isEmpty {
            guard inputs.isEmpty, dataset == nil, sequences == nil, compare == nil, shard == nil, !shardFromEnv,
                frames == nil
            else {
                throw ValidationError("--merge takes only shard folders and --out")
            }
            return
        }
        guard let dataset else { throw ValidationError("give --dataset vot, otb or davis (or --merge)") }
        guard BenchmarkKind(rawValue: dataset.lowercased()) != nil else {
            throw ValidationError("--dataset must be vot, otb or davis (got '\(dataset)')")
        }
        guard inputs.count == 2 else {
            throw ValidationError("expected MODEL.siam and the dataset ROOT, got \(inputs.count) argument(s)")
        }
        if let f = frames, f < 2 {
            throw ValidationError("--frames must be at least 2 (the first frame only starts the tracker)")
        }
        if shard != nil && shardFromEnv { throw ValidationError("give --shard or --shard-from-env, not both") }
        if let shard { do { _ = try ShardSpec(parsing: shard) } catch { throw ValidationError("\(error)") } }
        if shardCount != nil && !shardFromEnv { throw ValidationError("--shard-count goes with --shard-from-env") }
    }

    func run() throws {
        if merge.isEmpty { try evaluate() } else { try mergeShards() }
    }

    private func evaluate() throws {
        let start = Date()
        let kind = BenchmarkKind(rawValue: dataset!.lowercased())!
        let root = URL(fileURLWithPath: inputs[1])
        let only = try sequences.map { s in
            try reporting("invalid --sequences") { try BenchmarkDataset.parseSequenceList(s, root: root) }
        }
        let data = try reporting("cannot open the \(kind.rawValue) dataset") {
            try BenchmarkDataset(kind: kind, root: root, only: only)
        }
        let spec: ShardSpec
        if shardFromEnv {
            spec = try reporting("cannot read the shard") {
                try ShardSpec.fromEnvironment(ProcessInfo.processInfo.environment, count: shardCount)
            }
        } else {
            spec = try shard.map { try ShardSpec(parsing: $0) } ?? .whole
        }

        var paths = [inputs[0]]
        if let compare { paths.append(compare) }
        var networks: [SiamMaskNetwork] = []
        var models: [EvalModel] = []
        for path in paths {
            let network = try loadNetwork(path)
            let presetName = try reporting(path) {
                try presetOption.value.resolved(for: network.model, davisProtocol: kind == .davis).name
            }
            networks.append(network)
            models.append(
                try reporting("cannot read \(path)") {
                    try EvalModel.describe(
                        URL(fileURLWithPath: path), precision: network.model.precision, preset: presetName)
                })
        }
        if models.count == 2, models[0].name == models[1].name {
            throw CommandFailure(
                "the two models are both named '\(models[0].name)'; results are filed by model name, so give them different file names"
            )
        }

        let opened = try data.sequenceNames.map { name in
            try reporting("cannot open sequence \(name)") { try data.sequence(name) }
        }
        let chosen = spec.select(opened.map { ($0.name, BenchmarkDataset.frames($0, limit: frames)) })
        let mine = opened.filter { chosen.contains($0.name) }
        let manifest = EvalRunManifest(
            kind: kind, root: data.root.path, sequences: data.sequenceNames, frameLimit: frames,
            models: models, shard: spec, shardSequences: chosen)

        let output = try OutputFolder(URL(fileURLWithPath: out))
        let work = try mine.map { s in
            try reporting("cannot read \(s.name)") {
                try BenchmarkRunner.work(kind: kind, sequence: s, frameLimit: frames)
            }
        }
        let progress = EvalProgress(total: work.reduce(0, +) * models.count)
        var timing: [EvalTiming.Entry] = []
        for (model, network) in zip(models, networks) {
            let session = try reporting("cannot start the tracker") {
                try TrackerSession(
                    network: network, parameters: network.model.presets[model.preset]!, threads: threadsOption.threads)
            }
            let tracker = SessionBenchmarkTracker(session)
            for (sequence, units) in zip(mine, work) {
                let t0 = Date()
                let evaluated = try reporting("\(model.name) on \(sequence.name)") {
                    try BenchmarkRunner.run(
                        kind: kind, sequence: sequence, tracker: tracker, trackerName: model.name, out: output.staging,
                        frameLimit: frames
                    ) { progress.step("\(model.name) \(sequence.name)") }
                }
                let seconds = Date().timeIntervalSince(t0)
                timing.append(
                    EvalTiming.Entry(
                        model: model.name, sequence: sequence.name, frames: evaluated,
                        passes: units / max(evaluated, 1), seconds: seconds))
                progress.sequenceDone(
                    "\(model.name) \(sequence.name): \(evaluated) frames in \(String(format: "%.1f", seconds)) s")
            }
        }
        progress.finish()
        let report = try reporting("cannot score the results") {
            try EvalOutput.finish(manifest, dataset: data, in: output.staging)
        }
        try reporting("cannot write \(out)") {
            try AtomicFile.write(
                EvalTiming(threads: threadsOption.threads, entries: timing).jsonData(),
                to: output.staging.appendingPathComponent(EvalOutput.timingJSON))
            try output.commit()
        }
        printSummary(report, shard: spec, seconds: Date().timeIntervalSince(start))
    }

    private func mergeShards() throws {
        let start = Date()
        let shards = try merge.map { path -> (folder: URL, manifest: EvalRunManifest) in
            let url = URL(fileURLWithPath: path)
            return (url, try reporting("cannot merge") { try EvalRunManifest.read(url) })
        }
        let whole = try reporting("cannot merge") { try EvalRunManifest.merged(shards) }
        let data = try reporting("cannot open the \(whole.kind.rawValue) dataset the shards ran on") {
            try BenchmarkDataset(kind: whole.kind, root: URL(fileURLWithPath: whole.root), only: whole.sequences)
        }
        let output = try OutputFolder(URL(fileURLWithPath: out))
        var entries: [EvalTiming.Entry] = []
        var threads: Int?
        for (folder, _) in shards {
            try reporting("cannot merge \(folder.path)") {
                try EvalOutput.copyResults(from: folder, to: output.staging)
            }
            if let t = try? EvalTiming.read(folder.appendingPathComponent(EvalOutput.timingJSON)) {
                entries += t.entries
                threads = threads ?? t.threads
            }
        }
        let report = try reporting("cannot score the merged results") {
            try EvalOutput.finish(whole, dataset: data, in: output.staging)
        }
        try reporting("cannot write \(out)") {
            try AtomicFile.write(
                EvalTiming(threads: threads ?? 1, entries: entries).jsonData(),
                to: output.staging.appendingPathComponent(EvalOutput.timingJSON))
            try output.commit()
        }
        printSummary(report, shard: .whole, seconds: Date().timeIntervalSince(start))
    }

    private func printSummary(_ report: EvalReport, shard: ShardSpec, seconds: Double) {
        let shardNote = shard.count > 1 ? " (shard \(shard))" : ""
        print(
            "\(report.dataset.kind.rawValue) \(report.dataset.name)\(shardNote): \(report.dataset.sequences.count) sequences, \(report.dataset.frames) frames per model"
        )
        for (model, scores) in zip(report.models, report.benchmarkScores) {
            let metrics = EvalReport.summaryMetrics(scores).map {
                "\($0.0) \($0.1.map { String(format: "%.4f", $0) } ?? "n/a")"
            }
            print("  \(model.name) (\(model.precision)): " + metrics.joined(separator: ", "))
        }
        if let c = report.comparison {
            print(
                "  \(c.candidate) − \(c.reference): "
                    + c.summary.map { "\($0.metric) \($0.difference.map { String(format: "%+.4f", $0) } ?? "n/a")" }
                    .joined(separator: ", "))
        }
        print(String(format: "report in %@ (%.1f s)", out, seconds))
    }
}

/// Progress on stderr: a bar with frames/s and ETA when stderr is a terminal, else one line per finished sequence
/// (readable in a batch job's log).
final class EvalProgress {
    let total: Int
    let terminal = isatty(2) != 0
    private var done = 0
    private let start = Date()
    private var lastDraw = Date.distantPast

    init(total: Int) { self.total = max(total, 1) }

    private var rate: Double { Double(done) / max(Date().timeIntervalSince(start), 1e-6) }

    private var eta: String {
        guard done > 0 else { return "--:--" }
        let s = Int((Double(total - done) / rate).rounded())
        return s >= 3600
            ? String(format: "%d:%02d:%02d", s / 3600, s / 60 % 60, s % 60) : String(format: "%d:%02d", s / 60, s % 60)
    }

    func step(_ label: String) {
        done += 1
        guard terminal, Date().timeIntervalSince(lastDraw) > 0.1 || done == total else { return }
        lastDraw = Date()
        let width = 30, filled = min(width, width * done / total)
        let line =
            "[" + String(repeating: "#", count: filled) + String(repeating: " ", count: width - filled) + "]"
            + String(format: " %d/%d frames  %.1f frames/s  ETA %@  %@", done, total, rate, eta, label)
        FileHandle.standardError.write(Data(("\r\u{1B}[K" + line).utf8))
    }

    func sequenceDone(_ text: String) {
        guard !terminal else { return }
        FileHandle.standardError.write(
            Data(String(format: "%@ (%d/%d frames, %.1f frames/s, ETA %@)\n", text, done, total, rate, eta).utf8))
    }

    func finish() {
        if terminal { FileHandle.standardError.write(Data("\n".utf8)) }
    }
}

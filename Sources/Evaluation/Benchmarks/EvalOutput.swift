import Foundation
import Imaging

/// The files of an eval output folder besides the result files: `eval-run.json`, `report.json`, `report.md`,
/// `plots/*.svg` (deterministic) and `timing.json` (wall-clock times, kept apart so the rest is reproducible).
public enum EvalOutput {
    public static let reportJSON = "report.json"
    public static let reportMarkdown = "report.md"
    public static let plotsFolder = "plots"
    public static let timingJSON = "timing.json"

    /// Scores the result files in `folder` (one tracker per model of `manifest`) over the manifest's shard
    /// sequences and writes the manifest, report and plots there. The same manifest and result files always give
    /// the same bytes, whether they came from one run or a merge of shards.
    @discardableResult
    public static func finish(
        _ manifest: EvalRunManifest, dataset: BenchmarkDataset, in folder: URL
    ) throws -> EvalReport {
        let sequences = manifest.shardSequences
        var frames = 0
        for name in sequences {
            frames += BenchmarkDataset.frames(try dataset.sequence(name), limit: manifest.frameLimit)
        }
        let scores = try manifest.models.map {
            try BenchmarkScoring.score(
                dataset: dataset, sequences: sequences, out: folder, tracker: $0.name, frameLimit: manifest.frameLimit)
        }
        let report = EvalReport.make(
            kind: manifest.kind, datasetName: URL(fileURLWithPath: manifest.root).lastPathComponent,
            sequences: sequences, frames: frames, frameLimit: manifest.frameLimit,
            models: manifest.models, scores: scores)
        try AtomicFile.write(manifest.jsonData(), to: folder.appendingPathComponent(EvalRunManifest.fileName))
        try AtomicFile.write(report.jsonData(), to: folder.appendingPathComponent(reportJSON))
        try AtomicFile.write(Data(report.markdown().utf8), to: folder.appendingPathComponent(reportMarkdown))
        let plots = folder.appendingPathComponent(plotsFolder)
        try FileManager.default.createDirectory(at: plots, withIntermediateDirectories: true)
        for p in report.plots() { try AtomicFile.write(Data(p.svg.utf8), to: plots.appendingPathComponent(p.name)) }
        return report
    }

    /// Copies every file under `source/results` into `destination/results`; a file present twice (two shards
    /// claiming one sequence) is an error.
    public static func copyResults(from source: URL, to destination: URL) throws {
        let fm = FileManager.default
        let base = source.appendingPathComponent(BenchmarkResultFiles.folder).standardizedFileURL
        guard let walker = fm.enumerator(at: base, includingPropertiesForKeys: [.isRegularFileKey]) else {
            throw ShardError("\(source.path) has no \(BenchmarkResultFiles.folder)/ folder")
        }
        let prefix = base.path + "/"
        for case let url as URL in walker
        where (try? url.resourceValues(forKeys: [.isRegularFileKey]).isRegularFile) == true {
            let path = url.standardizedFileURL.path
            guard path.hasPrefix(prefix) else { continue }
            let target = destination.appendingPathComponent(BenchmarkResultFiles.folder).appendingPathComponent(
                String(path.dropFirst(prefix.count)))
            guard !fm.fileExists(atPath: target.path) else { throw ShardError("\(target.path) comes from two shards") }
            try fm.createDirectory(at: target.deletingLastPathComponent(), withIntermediateDirectories: true)
            try fm.copyItem(at: url, to: target)
        }
    }
}

/// `timing.json`: seconds per model and sequence (not reproducible, hence apart from the report).
public struct EvalTiming: Codable, Equatable, Sendable {
    public struct Entry: Codable, Equatable, Sendable {
        public var model: String
        public var sequence: String
        public var frames: Int
        /// Tracker passes over the frames (DAVIS: one per object).
        public var passes: Int
        public var seconds: Double
        public var msPerFrame: Double

        public init(model: String, sequence: String, frames: Int, passes: Int, seconds: Double) {
            self.model = model
            self.sequence = sequence
            self.frames = frames
            self.passes = passes
            self.seconds = seconds
            msPerFrame = seconds * 1000 / Double(max(frames * passes, 1))
        }
    }

    public var threads: Int
    public var entries: [Entry]

    public init(threads: Int, entries: [Entry]) {
        self.threads = threads
        self.entries = entries.sorted { ($0.model, $0.sequence) < ($1.model, $1.sequence) }
    }

    public func jsonData() throws -> Data {
        try EvalJSON.encode(self)
    }

    public static func read(_ url: URL) throws -> EvalTiming {
        return try EvalJSON.decoder.decode(EvalTiming.self, from: Data(contentsOf: url))
    }
}

/// The JSON form of every eval file (report, run manifest, timing): pretty-printed, sorted snake_case keys and a
/// trailing newline, so equal contents give equal bytes.
enum EvalJSON {
    static func encode<T: Encodable>(_ value: T) throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        encoder.keyEncodingStrategy = .convertToSnakeCase
        var data = try encoder.encode(value)
        data.append(0x0A)
        return data
    }

    static var decoder: JSONDecoder {
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        return decoder
    }
}

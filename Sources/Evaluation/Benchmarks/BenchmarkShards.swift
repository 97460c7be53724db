import Foundation
import ModelFormat

/// Shard K of N (K counts from 0, as Slurm array indices and Kubernetes completion indices do).
///
/// Sequences are assigned by frame count, not by name: sorted by frames (descending, then name), each goes to the
/// shard with the fewest frames so far (ties: the lowest index). Every shard computes the same assignment from the
/// same dataset, and the shards' wall times come out nearly equal even when a dataset mixes 40- and 1500-frame
/// sequences (round-robin by name would not).
public struct ShardSpec: Codable, Equatable, Sendable, CustomStringConvertible {
    public var index: Int
    public var count: Int

    public static let whole = ShardSpec(uncheckedIndex: 0, count: 1)

    init(uncheckedIndex index: Int, count: Int) {
        self.index = index
        self.count = count
    }

    public init(index: Int, count: Int) throws {
        guard count >= 1 else { throw ShardError("the shard count must be at least 1, got \(count)") }
        guard (0..<count).contains(index) else {
            throw ShardError("shard index \(index) is outside 0...\(count - 1) (indices count from 0)")
        }
        self.index = index
        self.count = count
    }

    /// "K/N", e.g. "0/3", "2/3".
    public init(parsing text: String) throws {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2, let k = Int(parts[0].trimmingCharacters(in: .whitespaces)),
            let n = Int(parts[1].trimmingCharacters(in: .whitespaces))
        else {
            throw ShardError("--shard expects K/N with 0 <= K < N (e.g. 0/3), got '\(text)'")
        }
        try self.init(index: k, count: n)
    }

    /// From a scheduler's environment: a Slurm array job (`SLURM_ARRAY_TASK_ID` minus `SLURM_ARRAY_TASK_MIN`, of
    /// `SLURM_ARRAY_TASK_COUNT`), or a Kubernetes Indexed Job (`JOB_COMPLETION_INDEX`, of `count` or
    /// `SIAMMASK_SHARD_COUNT`, since Kubernetes does not export the completion count). `count` overrides either count.
    public static func fromEnvironment(_ env: [String: String], count: Int? = nil) throws -> ShardSpec {
        func integer(_ key: String) throws -> Int? {
            guard let v = env[key] else { return nil }
            guard let i = Int(v.trimmingCharacters(in: .whitespaces)) else {
                throw ShardError("\(key)='\(v)' is not an integer")
            }
            return i
        }
        if let id = try integer("SLURM_ARRAY_TASK_ID") {
            let low = try integer("SLURM_ARRAY_TASK_MIN") ?? 0
            guard let n = try count ?? integer("SLURM_ARRAY_TASK_COUNT") else {
                throw ShardError(
                    "SLURM_ARRAY_TASK_ID is set but SLURM_ARRAY_TASK_COUNT is not (run as an array job, or give --shard-count)"
                )
            }
            return try ShardSpec(index: id - low, count: n)
        }
        if let id = try integer("JOB_COMPLETION_INDEX") {
            guard let n = try count ?? integer("SIAMMASK_SHARD_COUNT") else {
                throw ShardError(
                    "JOB_COMPLETION_INDEX is set but the shard count is not: give --shard-count N or set SIAMMASK_SHARD_COUNT (the Job's completions)"
                )
            }
            return try ShardSpec(index: id, count: n)
        }
        throw ShardError(
            "--shard-from-env: neither SLURM_ARRAY_TASK_ID (Slurm array job) nor JOB_COMPLETION_INDEX (Kubernetes Indexed Job) is set"
        )
    }

    /// Each shard's sequence names (sorted), from every sequence's frame count.
    public static func assignment(_ sequences: [(name: String, frames: Int)], count: Int) -> [[String]] {
        let order = sequences.sorted { $0.frames != $1.frames ? $0.frames > $1.frames : $0.name < $1.name }
        var load = [Int](repeating: 0, count: count)
        var shards = [[String]](repeating: [], count: count)
        for s in order {
            let target = load.indices.min { load[$0] != load[$1] ? load[$0] < load[$1] : $0 < $1 }!
            load[target] += s.frames
            shards[target].append(s.name)
        }
        return shards.map { $0.sorted() }
    }

    public func select(_ sequences: [(name: String, frames: Int)]) -> [String] {
        Self.assignment(sequences, count: count)[index]
    }

    public var description: String { "\(index)/\(count)" }
}

public struct ShardError: Error, Equatable, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// A model as reports name it: the tracker name is the file's name without `.siam`; size and CRC-32C identify the
/// exact file without a path (so runs on different machines and shards agree).
public struct EvalModel: Codable, Equatable, Sendable {
    public var name: String
    public var file: String
    public var bytes: Int
    public var crc32c: String
    public var precision: String
    public var preset: String

    public init(name: String, file: String, bytes: Int, crc32c: String, precision: String, preset: String) {
        self.name = name
        self.file = file
        self.bytes = bytes
        self.crc32c = crc32c
        self.precision = precision
        self.preset = preset
    }

    /// Describes the file at `url` (reads it once for the checksum).
    public static func describe(_ url: URL, precision: String, preset: String) throws -> EvalModel {
        let data = try Data(contentsOf: url, options: .mappedIfSafe)
        let crc = data.withUnsafeBytes { CRC32C.checksum($0) }
        var name = url.lastPathComponent
        if name.hasSuffix(".siam") { name.removeLast(5) }
        return EvalModel(
            name: name, file: url.lastPathComponent, bytes: data.count, crc32c: String(format: "%08x", crc),
            precision: precision, preset: preset)
    }
}

/// `eval-run.json`: what a run (or one shard of it) evaluated, enough for `--merge` to re-score the union.
public struct EvalRunManifest: Codable, Equatable, Sendable {
    public static let fileName = "eval-run.json"
    public static let formatName = "siammask-eval-run"

    public var format: String = formatName
    public var version: Int = 1
    public var kind: BenchmarkKind
    /// The dataset root as this run saw it (absolute); a merge reads the ground truth from here.
    public var root: String
    /// Every sequence of the run, sorted (all shards).
    public var sequences: [String]
    public var frameLimit: Int?
    public var models: [EvalModel]
    public var shard: ShardSpec
    /// The sequences this shard evaluated.
    public var shardSequences: [String]

    public init(
        kind: BenchmarkKind, root: String, sequences: [String], frameLimit: Int?, models: [EvalModel], shard: ShardSpec,
        shardSequences: [String]
    ) {
        self.kind = kind
        self.root = root
        self.sequences = sequences
        self.frameLimit = frameLimit
        self.models = models
        self.shard = shard
        self.shardSequences = shardSequences
    }

    public func jsonData() throws -> Data {
        try EvalJSON.encode(self)
    }

    public static func read(_ directory: URL) throws -> EvalRunManifest {
        let url = directory.appendingPathComponent(fileName)
        guard let data = try? Data(contentsOf: url) else {
            throw ShardError("\(directory.path) is not an eval output folder (no \(fileName))")
        }
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        do {
            let m = try decoder.decode(EvalRunManifest.self, from: data)
            guard m.format == formatName, m.version == 1 else {
                throw ShardError("\(url.path): not a version-1 \(formatName) file")
            }
            return m
        } catch let e as ShardError { throw e } catch {
            throw ShardError("\(url.path): \(error)")
        }
    }

    /// The manifest of the whole run from its shards' manifests: same dataset, limit and models, every shard index
    /// 0..<N exactly once, and together exactly the run's sequences.
    public static func merged(_ shards: [(folder: URL, manifest: EvalRunManifest)]) throws -> EvalRunManifest {
        guard let first = shards.first?.manifest else { throw ShardError("--merge needs at least one shard folder") }
        for (folder, m) in shards {
            let what: String? =
                m.kind != first.kind
                ? "dataset \(m.kind.rawValue) against \(first.kind.rawValue)"
                : m.root != first.root
                    ? "dataset root \(m.root) against \(first.root)"
                    : m.sequences != first.sequences
                        ? "a different sequence list"
                        : m.frameLimit != first.frameLimit
                            ? "a different --frames"
                            : m.models != first.models
                                ? "different models (name, size, CRC-32C or preset)"
                                : m.shard.count != first.shard.count
                                    ? "\(m.shard.count) shards against \(first.shard.count)"
                                    : nil
            if let what { throw ShardError("\(folder.path) does not belong with \(shards[0].folder.path): \(what)") }
        }
        let indices = shards.map(\.manifest.shard.index).sorted()
        guard indices == Array(0..<first.shard.count) else {
            let missing = Set(0..<first.shard.count).subtracting(indices).sorted()
            let duplicate = Dictionary(grouping: indices, by: { $0 }).filter { $0.value.count > 1 }.keys.sorted()
            var parts: [String] = []
            if !missing.isEmpty {
                parts.append("missing shard \(missing.map { "\($0)/\(first.shard.count)" }.joined(separator: ", "))")
            }
            if !duplicate.isEmpty {
                parts.append(
                    "shard \(duplicate.map { "\($0)/\(first.shard.count)" }.joined(separator: ", ")) given twice")
            }
            throw ShardError("cannot merge: " + parts.joined(separator: "; "))
        }
        let covered = shards.flatMap(\.manifest.shardSequences)
        guard covered.sorted() == first.sequences else {
            throw ShardError(
                "cannot merge: the shards' sequences do not add up to the run's \(first.sequences.count) sequences")
        }
        var whole = first
        whole.shard = .whole
        whole.shardSequences = first.sequences
        return whole
    }
}

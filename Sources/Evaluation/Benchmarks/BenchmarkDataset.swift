import Foundation
import Imaging

/// The three benchmark families `siammask eval` runs.
public enum BenchmarkKind: String, Codable, Sendable, CaseIterable {
    case vot, otb, davis

    public var title: String {
        switch self {
        case .vot: return "VOT short-term (baseline, with re-initialisation)"
        case .otb: return "OTB one-pass evaluation (OPE)"
        case .davis: return "DAVIS semi-supervised video object segmentation"
        }
    }
}

public enum EvalError: Error, Equatable, CustomStringConvertible {
    case notADataset(String)
    case unknownSequences([String], root: String)
    case noSequences(String)
    case badResult(String)
    case mismatch(String)

    public var description: String {
        switch self {
        case .notADataset(let why): return why
        case .unknownSequences(let names, let root):
            return "\(root) has no sequence named \(names.joined(separator: ", "))"
        case .noSequences(let root): return "\(root): no sequences to evaluate"
        case .badResult(let why): return why
        case .mismatch(let why): return why
        }
    }
}

/// A benchmark dataset on disk in its own layout, with the sequences to evaluate (sorted by name, so every run and
/// every shard sees the same order):
/// - VOT: `ROOT/list.txt` names the sequences (else every folder holding a `groundtruth.txt`); each `ROOT/SEQ` has
///   frames (or `color/`) and `groundtruth.txt`.
/// - OTB: every folder `ROOT/SEQ` with `img/` and `groundtruth_rect.txt` (OTB-2015, as got10k reads it).
/// - DAVIS: `ROOT/JPEGImages/480p/SEQ` and `ROOT/Annotations/480p/SEQ` (every sequence folder by default; name a
///   split with `ImageSets/2017/val.txt` through `only`).
public struct BenchmarkDataset: Sendable {
    public let kind: BenchmarkKind
    public let root: URL
    public let sequenceNames: [String]

    /// - Parameter only: sequence names to keep (nil: all). Unknown names are an error naming them.
    public init(kind: BenchmarkKind, root: URL, only: [String]? = nil) throws {
        let fm = FileManager.default
        var isDir: ObjCBool = false
        guard fm.fileExists(atPath: root.path, isDirectory: &isDir), isDir.boolValue else {
            throw EvalError.notADataset("\(root.path): no such folder (the \(kind.rawValue) dataset root)")
        }
        let available = try Self.list(kind: kind, root: root)
        guard !available.isEmpty else { throw EvalError.noSequences(root.path) }
        var names = available
        if let only {
            let known = Set(available)
            let unknown = only.filter { !known.contains($0) }
            guard unknown.isEmpty else { throw EvalError.unknownSequences(unknown, root: root.path) }
            names = Array(Set(only))
        }
        guard !names.isEmpty else { throw EvalError.noSequences(root.path) }
        self.kind = kind
        self.root = root.standardizedFileURL
        sequenceNames = names.sorted()
    }

    /// The folder a sequence is opened from.
    public func sequenceURL(_ name: String) -> URL {
        kind == .davis
            ? root.appendingPathComponent("JPEGImages/480p").appendingPathComponent(name)
            : root.appendingPathComponent(name)
    }

    public func sequence(_ name: String) throws -> TrackingSequence {
        try SequenceReader.open(sequenceURL(name))
    }

    /// Frames evaluated in a sequence: all, or the first `frameLimit`.
    public static func frames(_ sequence: TrackingSequence, limit: Int?) -> Int {
        min(sequence.frames.count, limit ?? Int.max)
    }

    static func list(kind: BenchmarkKind, root: URL) throws -> [String] {
        let fm = FileManager.default
        func subfolders(_ dir: URL) -> [String] {
            ((try? fm.contentsOfDirectory(atPath: dir.path)) ?? []).filter { name in
                var d: ObjCBool = false
                return !name.hasPrefix(".")
                    && fm.fileExists(atPath: dir.appendingPathComponent(name).path, isDirectory: &d) && d.boolValue
            }.sorted()
        }
        switch kind {
        case .vot:
            let list = root.appendingPathComponent("list.txt")
            if fm.fileExists(atPath: list.path) {
                let text = (try? String(contentsOf: list, encoding: .utf8)) ?? ""
                let names = text.split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }
                    .filter { !$0.isEmpty }
                for n in names
                where !fm.fileExists(
                    atPath: root.appendingPathComponent(n).appendingPathComponent("groundtruth.txt").path)
                {
                    throw EvalError.notADataset(
                        "\(list.path) names \(n), but \(root.path)/\(n)/groundtruth.txt does not exist")
                }
                return names
            }
            let names = subfolders(root).filter {
                fm.fileExists(atPath: root.appendingPathComponent($0).appendingPathComponent("groundtruth.txt").path)
            }
            if names.isEmpty {
                throw EvalError.notADataset(
                    "\(root.path) is not a VOT dataset root: no list.txt and no sequence folder with a groundtruth.txt")
            }
            return names
        case .otb:
            let names = subfolders(root).filter {
                fm.fileExists(atPath: root.appendingPathComponent($0).appendingPathComponent("img").path)
            }
            if names.isEmpty {
                throw EvalError.notADataset(
                    "\(root.path) is not an OTB dataset root: no sequence folder with img/ and groundtruth_rect.txt")
            }
            return names
        case .davis:
            let images = root.appendingPathComponent("JPEGImages/480p")
            guard fm.fileExists(atPath: images.path) else {
                throw EvalError.notADataset("\(root.path) is not a DAVIS dataset root: no JPEGImages/480p folder")
            }
            return subfolders(images)
        }
    }

    /// Sequence names from `--sequences`: a file with one name a line (e.g. DAVIS `ImageSets/2017/val.txt`, looked
    /// up as given, then under the root), or a comma-separated list.
    public static func parseSequenceList(_ text: String, root: URL) throws -> [String] {
        let fm = FileManager.default
        for candidate in [URL(fileURLWithPath: text), root.appendingPathComponent(text)] {
            var d: ObjCBool = false
            if fm.fileExists(atPath: candidate.path, isDirectory: &d), !d.boolValue {
                guard let content = try? String(contentsOf: candidate, encoding: .utf8) else {
                    throw EvalError.notADataset("\(candidate.path): cannot read the sequence list")
                }
                let names = content.split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }
                    .filter { !$0.isEmpty }
                guard !names.isEmpty else { throw EvalError.noSequences(candidate.path) }
                return names
            }
        }
        let names = text.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        guard !names.isEmpty else { throw EvalError.notADataset("--sequences '\(text)' names no sequence") }
        return names
    }
}

import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

public struct DriftWriteError: Error, CustomStringConvertible {
    public var description: String
}

extension DriftReport {
    public static let jsonFileName = "drift.json"
    public static let svgFileName = "drift.svg"
    public static let markdownFileName = "drift.md"

    /// Pretty-printed, sorted keys, trailing newline. Throws on a NaN (a non-finite tracker output is a bug to see).
    public func jsonData() throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        var data = try encoder.encode(self)
        data.append(0x0A)
        return data
    }

    public static func read(from url: URL) throws -> DriftReport {
        try JSONDecoder().decode(DriftReport.self, from: Data(contentsOf: url))
    }

    /// Writes drift.json, drift.svg and drift.md into `directory` (created if missing). Each file is written under a
    /// temporary name in the same directory and renamed into place only after all three were written, so a failure
    /// leaves no partial file and no temporary behind. Returns the three URLs.
    @discardableResult
    public func write(to directory: URL) throws -> [URL] {
        let contents: [(String, Data)] = [
            (Self.jsonFileName, try jsonData()),
            (Self.svgFileName, Data(svg().utf8)),
            (Self.markdownFileName, Data(markdown().utf8)),
        ]
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        var temporaries: [URL] = []
        defer { for t in temporaries { try? FileManager.default.removeItem(at: t) } }
        for (name, data) in contents {
            let temp = directory.appendingPathComponent(".\(name).\(UUID().uuidString).tmp")
            temporaries.append(temp)
            try data.write(to: temp)
        }
        var finals: [URL] = []
        for (temp, (name, _)) in zip(temporaries, contents) {
            let target = directory.appendingPathComponent(name)
            // rename(2) replaces an existing file atomically, which FileManager.moveItem does not do.
            guard rename(temp.path, target.path) == 0 else {
                throw DriftWriteError(
                    description:
                        "Cannot move \(temp.lastPathComponent) to \(target.path): \(String(cString: strerror(errno))).")
            }
            finals.append(target)
        }
        temporaries.removeAll()
        return finals
    }
}

import Dispatch
import Foundation
import Imaging

/// What `SequenceWriter.write` produced.
public struct SynthSummary: Sendable {
    /// The output folder (`--out`).
    public var directory: URL
    /// Where the frames, masks, groundtruth.txt and meta.json ended up.
    public var framesDirectory: URL
    public var masksDirectory: URL
    public var groundtruthFile: URL
    public var metaFile: URL
    /// One VOT polygon line per frame, as written.
    public var groundtruth: [String]
    /// Frames in which the target is not visible at all (their polygon is all zeros).
    public var emptyFrames: [Int]
}

/// Writes a generated sequence to disk atomically: everything goes into a temporary folder beside the target and
/// is renamed into place at the end; on failure the temporary folder is removed and nothing is left behind.
public enum SequenceWriter {
    /// zlib level for the masks (no row filters, run-length deflate: about 1 ms and under 1 KB a 854x480 mask).
    public static let maskPNGLevel = 6
    public static let framePNGLevel = 3

    @discardableResult
    public static func write(_ options: SynthOptions, to directory: URL) throws -> SynthSummary {
        let generator = try SequenceGenerator(options: options)
        return try write(generator, to: directory)
    }

    @discardableResult
    public static func write(_ generator: SequenceGenerator, to directory: URL) throws -> SynthSummary {
        let directory = directory.standardizedFileURL
        switch generator.options.layout {
        case .flat: return try writeFlat(generator, to: directory)
        case .davis: return try writeDAVIS(generator, to: directory)
        }
    }

    // MARK: - Layouts

    static func writeFlat(_ generator: SequenceGenerator, to out: URL) throws -> SynthSummary {
        try requireAbsentOrEmpty(out)
        let temporary = try makeTemporaryDirectory(beside: out)
        do {
            let masks = temporary.appendingPathComponent("masks")
            try createDirectory(masks)
            let result = try renderAll(generator, frames: temporary, masks: masks)
            try writeText(
                result.lines.map { $0 + "\n" }.joined(), to: temporary.appendingPathComponent("groundtruth.txt"))
            try writeText(meta(generator, emptyFrames: result.empty), to: temporary.appendingPathComponent("meta.json"))
            try moveIntoPlace(temporary, out)
            return SynthSummary(
                directory: out, framesDirectory: out, masksDirectory: out.appendingPathComponent("masks"),
                groundtruthFile: out.appendingPathComponent("groundtruth.txt"),
                metaFile: out.appendingPathComponent("meta.json"), groundtruth: result.lines,
                emptyFrames: result.empty)
        } catch {
            try? FileManager.default.removeItem(at: temporary)
            throw error
        }
    }

    /// Relative locations of one sequence inside a DAVIS root.
    struct DAVISPaths {
        let frames: String, masks: String, extra: String
        init(_ name: String) {
            frames = "JPEGImages/480p/\(name)"
            masks = "Annotations/480p/\(name)"
            extra = "Synthetic/\(name)"
        }
        var all: [String] { [extra, masks, frames] }
    }

    static func writeDAVIS(_ generator: SequenceGenerator, to root: URL) throws -> SynthSummary {
        let name = generator.options.resolvedSequenceName
        let paths = DAVISPaths(name)
        let fm = FileManager.default
        var isDirectory: ObjCBool = false
        let rootExists = fm.fileExists(atPath: root.path, isDirectory: &isDirectory)
        if rootExists && !isDirectory.boolValue { throw SynthError.outputExists(path: root.path) }
        for p in paths.all where fm.fileExists(atPath: root.appendingPathComponent(p).path) {
            throw SynthError.outputExists(path: root.appendingPathComponent(p).path)
        }
        // A new root is built whole in a temporary folder beside it; an existing root gets the sequence's folders
        // built in a hidden temporary folder inside it, then moved in (frames last, since readers list those).
        let temporary =
            rootExists
            ? try makeTemporaryDirectory(in: root, prefix: ".synth-tmp-\(name)")
            : try makeTemporaryDirectory(beside: root)
        var moved: [URL] = []
        var createdParents: [URL] = []
        do {
            for p in paths.all { try createDirectory(temporary.appendingPathComponent(p), intermediate: true) }
            let result = try renderAll(
                generator, frames: temporary.appendingPathComponent(paths.frames),
                masks: temporary.appendingPathComponent(paths.masks))
            let extra = temporary.appendingPathComponent(paths.extra)
            try writeText(result.lines.map { $0 + "\n" }.joined(), to: extra.appendingPathComponent("groundtruth.txt"))
            try writeText(meta(generator, emptyFrames: result.empty), to: extra.appendingPathComponent("meta.json"))
            let listURL = root.appendingPathComponent("sequences.txt")
            var list = rootExists ? ((try? String(contentsOf: listURL, encoding: .utf8)) ?? "") : ""
            let names = list.split(whereSeparator: \.isNewline).map(String.init)
            if !names.contains(name) {
                if !list.isEmpty && !list.hasSuffix("\n") { list += "\n" }
                list += name + "\n"
            }
            if rootExists {
                for p in paths.all {
                    let parent = root.appendingPathComponent(p).deletingLastPathComponent()
                    for ancestor in [parent.deletingLastPathComponent(), parent]
                    where !fm.fileExists(atPath: ancestor.path) {
                        try createDirectory(ancestor)
                        createdParents.append(ancestor)
                    }
                }
                for p in paths.all {
                    try moveIntoPlace(temporary.appendingPathComponent(p), root.appendingPathComponent(p))
                    moved.append(root.appendingPathComponent(p))
                }
                try writeText(list, to: listURL)
                try? fm.removeItem(at: temporary)
            } else {
                try writeText(list, to: temporary.appendingPathComponent("sequences.txt"))
                try moveIntoPlace(temporary, root)
            }
            return SynthSummary(
                directory: root, framesDirectory: root.appendingPathComponent(paths.frames),
                masksDirectory: root.appendingPathComponent(paths.masks),
                groundtruthFile: root.appendingPathComponent(paths.extra + "/groundtruth.txt"),
                metaFile: root.appendingPathComponent(paths.extra + "/meta.json"),
                groundtruth: result.lines, emptyFrames: result.empty)
        } catch {
            for url in moved.reversed() { try? fm.removeItem(at: url) }
            for url in createdParents.reversed() { try? fm.removeItem(at: url) }
            try? fm.removeItem(at: temporary)
            throw error
        }
    }

    // MARK: - Rendering

    final class Shared: @unchecked Sendable {
        let lock = NSLock()
        var lines: [String]
        var areas: [Int]
        var error: Error?
        init(count: Int) {
            lines = Array(repeating: "", count: count)
            areas = Array(repeating: 0, count: count)
        }
        var failed: Bool { lock.lock(); defer { lock.unlock() }; return error != nil }
        func fail(_ e: Error) { lock.lock(); if error == nil { error = e }; lock.unlock() }
        func store(_ t: Int, _ line: String, _ area: Int) {
            lock.lock(); lines[t] = line; areas[t] = area; lock.unlock()
        }
    }

    static func frameName(_ t: Int) -> String {
        let digits = String(t)
        return String(repeating: "0", count: max(0, 5 - digits.count)) + digits
    }

    static let emptyPolygon = Array(repeating: "0.00", count: 8).joined(separator: ",")

    static func renderAll(
        _ generator: SequenceGenerator, frames: URL, masks: URL
    ) throws -> (lines: [String], empty: [Int]) {
        let options = generator.options
        let count = options.frames
        let threads = min(options.threads, count)
        let shared = Shared(count: count)
        let frameExtension = options.frameFormat == .jpeg ? "jpg" : "png"
        DispatchQueue.concurrentPerform(iterations: threads) { worker in
            let encoder = JPEGEncoder()
            var image = Image(width: generator.width, height: generator.height, format: .bgr)
            var mask = Image(width: generator.width, height: generator.height, format: .grey)
            var scratch: [UInt8] = []
            var t = worker
            while t < count, !shared.failed {
                do {
                    let area = image.pixels.withUnsafeMutableBufferPointer { px in
                        mask.pixels.withUnsafeMutableBufferPointer { mk in
                            generator.draw(
                                frame: t, pixels: px.baseAddress!, mask: mk.baseAddress!, effects: true,
                                targetKey: nil, scratch: &scratch)
                        }
                    }
                    let line = area == 0 ? emptyPolygon : (MinAreaRect.of(mask: mask)?.votLine ?? emptyPolygon)
                    let name = frameName(t)
                    try image.write(
                        to: frames.appendingPathComponent("\(name).\(frameExtension)"), format: options.frameFormat,
                        quality: options.jpegQuality, pngLevel: framePNGLevel, encoder: encoder)
                    try mask.write(
                        to: masks.appendingPathComponent("\(name).png"), format: .png, pngLevel: maskPNGLevel,
                        pngFilter: .none)
                    shared.store(t, line, area)
                } catch {
                    shared.fail(error)
                }
                t += threads
            }
        }
        if let error = shared.error {
            if case let ImageError.cannotWrite(path, reason) = error {
                throw SynthError.cannotWrite(path: path, reason: reason)
            }
            throw error
        }
        return (shared.lines, shared.areas.indices.filter { shared.areas[$0] == 0 })
    }

    // MARK: - Metadata

    static func jsonString(_ s: String) -> String {
        var out = "\""
        for scalar in s.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            default:
                if scalar.value < 0x20 {
                    let hex = String(scalar.value, radix: 16)
                    out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        return out + "\""
    }

    /// meta.json, with a fixed key order so that it is byte-identical for identical options.
    static func meta(_ g: SequenceGenerator, emptyFrames: [Int]) -> String {
        let o = g.options
        let fields: [(String, String)] = [
            ("generator", jsonString("siammask synth")),
            ("generator_version", String(SequenceGenerator.version)),
            ("seed", String(o.seed)),
            ("difficulty", jsonString(o.difficulty.rawValue)),
            ("width", String(o.width)),
            ("height", String(o.height)),
            ("frames", String(o.frames)),
            ("frame_format", jsonString(o.frameFormat == .jpeg ? "jpg" : "png")),
            ("jpeg_quality", String(o.jpegQuality)),
            ("layout", jsonString(o.layout.rawValue)),
            ("sequence", jsonString(o.resolvedSequenceName)),
            (
                "masks",
                jsonString(
                    "PNG, 8-bit grey, 0 = background, 255 = target (exact coverage at pixel centres, after occlusion)")
            ),
            (
                "groundtruth",
                jsonString(
                    "minimum-area rectangle of the mask's pixel centres: x1,y1,x2,y2,x3,y3,x4,y4, 0-based pixels, clockwise from the leftmost corner; all zeros when the target is not visible"
                )
            ),
            ("target_shape", jsonString(g.targetShape.rawValue)),
            ("target_texture", jsonString(g.targetTexture.rawValue)),
            ("distractors", String(g.distractorCount)),
            ("occluders", String(g.occluderCount)),
            ("blur", g.hasBlur ? "true" : "false"),
            ("empty_frames", "[" + emptyFrames.map(String.init).joined(separator: ",") + "]"),
        ]
        return "{\n" + fields.map { "  \(jsonString($0.0)): \($0.1)" }.joined(separator: ",\n") + "\n}\n"
    }

    // MARK: - File system

    static func describe(_ error: Error) -> String {
        let ns = error as NSError
        if let underlying = ns.userInfo[NSUnderlyingErrorKey] as? NSError, underlying.domain == NSPOSIXErrorDomain {
            return String(cString: strerror(Int32(underlying.code)))
        }
        return ns.localizedDescription
    }

    static func requireAbsentOrEmpty(_ url: URL) throws {
        let fm = FileManager.default
        var isDirectory: ObjCBool = false
        guard fm.fileExists(atPath: url.path, isDirectory: &isDirectory) else { return }
        if !isDirectory.boolValue { throw SynthError.outputExists(path: url.path) }
        let contents = (try? fm.contentsOfDirectory(atPath: url.path)) ?? ["?"]
        if !contents.isEmpty { throw SynthError.outputExists(path: url.path) }
    }

    static func randomSuffix() -> String {
        // Only names a temporary folder; the generated content never depends on it.
        String(UInt32.random(in: 0...UInt32.max), radix: 16)
    }

    static func makeTemporaryDirectory(beside url: URL) throws -> URL {
        let parent = url.deletingLastPathComponent()
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: parent.path, isDirectory: &isDirectory), isDirectory.boolValue
        else {
            throw SynthError.cannotCreate(path: url.path, reason: "parent folder \(parent.path) does not exist")
        }
        do {
            return try makeTemporaryDirectory(in: parent, prefix: url.lastPathComponent + ".tmp")
        } catch let SynthError.cannotCreate(_, reason) {
            throw SynthError.cannotCreate(
                path: url.path, reason: "\(reason) (creating a temporary folder in \(parent.path))")
        }
    }

    static func makeTemporaryDirectory(in parent: URL, prefix: String) throws -> URL {
        let url = parent.appendingPathComponent("\(prefix)-\(randomSuffix())")
        try createDirectory(url)
        return url
    }

    static func createDirectory(_ url: URL, intermediate: Bool = false) throws {
        if intermediate {
            do {
                try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
            } catch {
                throw SynthError.cannotCreate(path: url.path, reason: describe(error))
            }
        } else if mkdir(url.path, 0o755) != 0 {
            throw SynthError.cannotCreate(path: url.path, reason: String(cString: strerror(errno)))
        }
    }

    static func writeText(_ text: String, to url: URL) throws {
        do {
            try AtomicFile.write(Array(text.utf8), to: url)
        } catch let ImageError.cannotWrite(path, reason) {
            throw SynthError.cannotWrite(path: path, reason: reason)
        }
    }

    /// rename(2): atomic; replaces an empty directory at the destination.
    static func moveIntoPlace(_ from: URL, _ to: URL) throws {
        if rename(from.path, to.path) != 0 {
            let reason =
                errno == ENOTEMPTY || errno == EEXIST
                ? "it already exists and is not empty" : String(cString: strerror(errno))
            throw SynthError.cannotCreate(path: to.path, reason: reason)
        }
    }
}

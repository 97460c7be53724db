import Evaluation
import Foundation
import Imaging
import SiamMask

/// An output folder written atomically: everything goes into a hidden staging folder beside it, renamed into place
/// at the end. A failure leaves the destination untouched and removes the staging folder.
final class OutputFolder {
    let destination: URL
    let staging: URL
    private var committed = false

    init(_ destination: URL) throws {
        let fm = FileManager.default
        var isDir: ObjCBool = false
        if fm.fileExists(atPath: destination.path, isDirectory: &isDir) {
            guard isDir.boolValue, (try? fm.contentsOfDirectory(atPath: destination.path))?.isEmpty == true else {
                throw CommandFailure(
                    "\(destination.path) already exists and is not an empty folder; choose another --out")
            }
        }
        let parent = destination.deletingLastPathComponent()
        do { try fm.createDirectory(at: parent, withIntermediateDirectories: true) } catch {
            throw CommandFailure("cannot create \(parent.path): \(error.localizedDescription)")
        }
        self.destination = destination
        staging = parent.appendingPathComponent(
            ".\(destination.lastPathComponent).partial-\(UUID().uuidString.prefix(8))")
        do { try fm.createDirectory(at: staging, withIntermediateDirectories: false) } catch {
            throw CommandFailure("cannot write in \(parent.path): \(error.localizedDescription)")
        }
    }

    func commit() throws {
        let fm = FileManager.default
        if fm.fileExists(atPath: destination.path) { try fm.removeItem(at: destination) }   // empty, checked above
        try fm.moveItem(at: staging, to: destination)
        committed = true
    }

    deinit {
        if !committed { try? FileManager.default.removeItem(at: staging) }
    }
}

/// Writes polygons.txt (VOT result format), results.jsonl, DAVIS-style masks, overlay frames and, with a video
/// writer, the same overlays as a video.
struct TrackOutputWriter {
    let folder: URL
    let overlays: Bool
    let video: VideoWriter?
    // Streamed (inside the staging folder, so still atomic): a tracker on a long stream keeps no per-frame text.
    private let polygons: AppendingTextFile
    private let results: AppendingTextFile
    private let encoder = JPEGEncoder()

    init(folder: URL, overlays: Bool, video: VideoWriter? = nil) throws {
        self.folder = folder
        self.overlays = overlays
        self.video = video
        try FileManager.default.createDirectory(
            at: folder.appendingPathComponent("masks"), withIntermediateDirectories: true)
        if overlays {
            try FileManager.default.createDirectory(
                at: folder.appendingPathComponent("overlay"), withIntermediateDirectories: true)
        }
        polygons = try AppendingTextFile(folder.appendingPathComponent("polygons.txt"))
        results = try AppendingTextFile(folder.appendingPathComponent("results.jsonl"))
    }

    static func name(_ index: Int) -> String { String(format: "%05d", index) }

    static func format(_ v: Double) -> String { String(format: "%.4f", v) }

    mutating func writeInitial(
        frame: Image, center: (x: Double, y: Double), size: (width: Double, height: Double),
        target: TrackerInitialization
    ) throws {
        let x0 = center.x - size.width / 2, y0 = center.y - size.height / 2
        let corners = [(x0, y0), (x0 + size.width, y0), (x0 + size.width, y0 + size.height), (x0, y0 + size.height)]
        try polygons.append(corners.flatMap { [Self.format($0.0), Self.format($0.1)] }.joined(separator: ",") + "\n")
        let poly = corners.flatMap { [$0.0, $0.1] }
        try results.append(
            "{\"frame\":0,\"init\":true,\"cx\":\(center.x),\"cy\":\(center.y),\"w\":\(size.width),\"h\":\(size.height),"
                + "\"score\":null,\"best\":null,\"lost\":null,\"polygon\":\(json(poly))}\n")
        var mask = [UInt8](repeating: 0, count: frame.width * frame.height)
        if case .mask(let m, _, _) = target {
            mask = m.map { $0 != 0 ? 255 : 0 }
        } else {
            let xa = max(0, Int(x0.rounded(.down))), xb = min(frame.width, Int((x0 + size.width).rounded(.up)))
            let ya = max(0, Int(y0.rounded(.down))), yb = min(frame.height, Int((y0 + size.height).rounded(.up)))
            if xa < xb { for y in ya..<max(ya, yb) { for x in xa..<xb { mask[y * frame.width + x] = 255 } } }
        }
        try writeFrame(frame: frame, index: 0, mask: mask, polygon: corners.map { (x: $0.0, y: $0.1) })
    }

    mutating func write(frame: Image, index: Int, result: TrackResult) throws {
        let poly = result.polygon.flatMap { [$0.x, $0.y] }
        try polygons.append(poly.map(Self.format).joined(separator: ",") + "\n")
        try results.append(
            "{\"frame\":\(index),\"cx\":\(result.center.x),\"cy\":\(result.center.y),\"w\":\(result.size.width),"
                + "\"h\":\(result.size.height),\"score\":\(result.score),\"best\":\(result.best),"
                + "\"best_pscore\":\(result.bestPScore),\"second_pscore\":\(result.secondPScore),\"lost\":\(result.isTargetLost),"
                + "\"polygon\":\(json(poly))}\n")
        try writeFrame(frame: frame, index: index, mask: result.mask.map { $0 != 0 ? 255 : 0 }, polygon: result.polygon)
    }

    private func writeFrame(frame: Image, index: Int, mask: [UInt8], polygon: [(x: Double, y: Double)]) throws {
        let m = try Image(width: frame.width, height: frame.height, channels: 1, pixels: mask)
        try m.write(to: folder.appendingPathComponent("masks/\(Self.name(index)).png"), format: .png)
        guard overlays || video != nil else { return }
        var o = frame
        Overlay.tint(&o, mask: mask)
        Overlay.polygon(&o, polygon)
        if overlays {
            try o.write(
                to: folder.appendingPathComponent("overlay/\(Self.name(index)).jpg"), format: .jpeg, quality: 85,
                encoder: encoder)
        }
        try video?.write(o)
    }

    /// Writes the text files and finishes the video (still at its temporary name: `commitVideo` moves it).
    func finish() throws {
        try polygons.close()
        try results.close()
        try video?.close()
    }

    func commitVideo() throws { try video?.commit() }

    private func json(_ v: [Double]) -> String { "[" + v.map { "\($0)" }.joined(separator: ",") + "]" }
}

/// A text file written line by line through a 64 KiB buffer (the staging folder it lives in makes it atomic).
final class AppendingTextFile {
    private let handle: FileHandle
    private let url: URL
    private var buffer = Data()

    init(_ url: URL) throws {
        guard FileManager.default.createFile(atPath: url.path, contents: nil) else {
            throw CommandFailure("cannot create \(url.path)")
        }
        self.url = url
        handle = try FileHandle(forWritingTo: url)
        buffer.reserveCapacity(1 << 16)
    }

    func append(_ text: String) throws {
        buffer.append(contentsOf: text.utf8)
        if buffer.count >= 1 << 16 { try flush() }
    }

    private func flush() throws {
        guard !buffer.isEmpty else { return }
        do { try handle.write(contentsOf: buffer) } catch {
            throw CommandFailure("cannot write \(url.path): \(error.localizedDescription)")
        }
        buffer.removeAll(keepingCapacity: true)
    }

    func close() throws {
        try flush()
        try handle.synchronize()
        try handle.close()
    }

    deinit { try? handle.close() }
}

/// Drawing for overlay frames a person can look at: the mask tinted red, the rotated box in green.
enum Overlay {
    static func tint(_ image: inout Image, mask: [UInt8]) {
        for i in 0..<mask.count where mask[i] != 0 {
            image.pixels[3 * i + 2] = UInt8((Int(image.pixels[3 * i + 2]) + 255) / 2)
            image.pixels[3 * i] = UInt8(Int(image.pixels[3 * i]) / 2)
            image.pixels[3 * i + 1] = UInt8(Int(image.pixels[3 * i + 1]) / 2)
        }
    }

    static func polygon(_ image: inout Image, _ points: [(x: Double, y: Double)]) {
        guard points.count > 1 else { return }
        for k in 0..<points.count {
            let a = points[k], b = points[(k + 1) % points.count]
            let steps = Int(max(abs(b.x - a.x), abs(b.y - a.y)).rounded(.up)) + 1
            guard steps < 100_000 else { continue }
            for s in 0...steps {
                let t = Double(s) / Double(steps)
                let x = Int((a.x + (b.x - a.x) * t).rounded()), y = Int((a.y + (b.y - a.y) * t).rounded())
                for dy in -1...1 { for dx in -1...1 { put(&image, x + dx, y + dy) } }
            }
        }
    }

    private static func put(_ image: inout Image, _ x: Int, _ y: Int) {
        guard x >= 0, y >= 0, x < image.width, y < image.height else { return }
        let i = 3 * (y * image.width + x)
        image.pixels[i] = 0; image.pixels[i + 1] = 255; image.pixels[i + 2] = 0
    }
}

/// A one-line progress bar with frames per second, shown only when stderr is a terminal.
final class ProgressBar {
    let total: Int?
    let enabled = isatty(2) != 0

    init(total: Int?) { self.total = total }

    func update(_ done: Int, elapsed: Double) {
        guard enabled else { return }
        let fps = elapsed > 0 ? Double(done - 1) / elapsed : 0
        var line: String
        if let total, total > 0 {
            let width = 30, filled = min(width, width * done / total)
            line =
                "[" + String(repeating: "#", count: filled) + String(repeating: " ", count: width - filled)
                + "] \(done)/\(total)"
        } else {
            line = "\(done) frames"
        }
        line += String(format: "  %.1f fps", fps)
        FileHandle.standardError.write(Data(("\r" + line).utf8))
    }

    func finish() {
        if enabled { FileHandle.standardError.write(Data("\n".utf8)) }
    }
}

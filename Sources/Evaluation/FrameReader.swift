import Foundation
import Imaging

/// Frames of a sequence, in order, decoded to BGR: image files through Imaging, videos through an `ffmpeg` pipe.
public final class FrameReader {
    private let sequence: TrackingSequence
    private var index = 0
    private var video: VideoPipe?

    public init(_ sequence: TrackingSequence) throws {
        self.sequence = sequence
        if let v = sequence.video { video = try VideoPipe(v) }
    }

    /// The next frame, or nil at the end. A frame that cannot be decoded is an error naming it.
    public func next() throws -> Image? {
        defer { index += 1 }
        if let video { return try video.next() }
        guard index < sequence.frames.count else { return nil }
        let url = sequence.frames[index]
        do { return try Image.read(contentsOf: url, as: .bgr) } catch {
            throw SequenceError.unreadableFrame(url.path, String(describing: error))
        }
    }
}

/// Raw BGR frames from `ffmpeg -f rawvideo -pix_fmt bgr24`, sized by `ffprobe`.
final class VideoPipe {
    let width: Int
    let height: Int
    private let process: Process
    private let handle: FileHandle

    static func which(_ tool: String) -> URL? {
        for dir in (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin").split(separator: ":") {
            let url = URL(fileURLWithPath: String(dir)).appendingPathComponent(tool)
            if FileManager.default.isExecutableFile(atPath: url.path) { return url }
        }
        return nil
    }

    init(_ url: URL) throws {
        guard let ffmpeg = Self.which("ffmpeg"), let ffprobe = Self.which("ffprobe") else {
            throw SequenceError.ffmpegMissing
        }
        let probe = Process()
        probe.executableURL = ffprobe
        probe.arguments = [
            "-v", "error", "-select_streams", "v:0", "-show_entries", "stream=width,height", "-of", "csv=p=0:s=x",
            url.path,
        ]
        let out = Pipe()
        probe.standardOutput = out
        probe.standardError = Pipe()
        try probe.run()
        let text = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        probe.waitUntilExit()
        let dims = text.trimmingCharacters(in: .whitespacesAndNewlines).split(separator: "x").compactMap { Int($0) }
        guard probe.terminationStatus == 0, dims.count == 2, dims[0] > 0, dims[1] > 0, dims[0] <= 1 << 15,
            dims[1] <= 1 << 15
        else {
            throw SequenceError.videoFailed("ffprobe found no video stream in \(url.lastPathComponent)")
        }
        width = dims[0]
        height = dims[1]
        process = Process()
        process.executableURL = ffmpeg
        process.arguments = ["-v", "error", "-nostdin", "-i", url.path, "-f", "rawvideo", "-pix_fmt", "bgr24", "-"]
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = FileHandle.nullDevice
        try process.run()
        handle = pipe.fileHandleForReading
    }

    func next() throws -> Image? {
        let size = width * height * 3
        var data = Data()
        while data.count < size {
            let chunk = handle.readData(ofLength: size - data.count)
            if chunk.isEmpty { break }
            data.append(chunk)
        }
        if data.isEmpty {
            process.waitUntilExit()
            if process.terminationStatus != 0 {
                throw SequenceError.videoFailed("ffmpeg exited with \(process.terminationStatus)")
            }
            return nil
        }
        guard data.count == size else {
            throw SequenceError.videoFailed("truncated frame (\(data.count) of \(size) bytes)")
        }
        return try Image(width: width, height: height, channels: 3, pixels: [UInt8](data))
    }

    deinit {
        if process.isRunning { process.terminate() }
    }
}

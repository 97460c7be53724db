import Foundation
import Imaging

public enum VideoWriterError: Error, Equatable, CustomStringConvertible {
    case ffmpegMissing
    case frameSize(expected: String, actual: String)
    case failed(String)

    public var description: String {
        switch self {
        case .ffmpegMissing: return "writing video needs ffmpeg on PATH (apt-get install ffmpeg, or Tools/setup.sh)"
        case .frameSize(let e, let a): return "video frames must all be \(e), got \(a)"
        case .failed(let why): return "video encoding failed: \(why)"
        }
    }
}

/// BGR frames written as a video through an `ffmpeg` pipe (raw bgr24 in; yuv420p out, in the container the file
/// name's extension picks with ffmpeg's default codec for it: H.264 for .mp4), atomically: ffmpeg writes a hidden temporary file beside the destination, renamed into
/// place by `finish`; anything else (an error, `cancel`, deinit before `finish`) removes it.
public final class VideoWriter {
    public let destination: URL
    public let width: Int
    public let height: Int
    private let temporary: URL
    private let log: URL
    private let process: Process
    private let input: FileHandle
    private var closed = false
    private var committed = false
    public private(set) var frameCount = 0

    /// Whether `ffmpeg` is on PATH.
    public static var isAvailable: Bool { VideoPipe.which("ffmpeg") != nil }

    /// - Parameters:
    ///   - framesPerSecond: the video's frame rate (a frame sequence carries none; DAVIS was shot at 24).
    public init(destination: URL, width: Int, height: Int, framesPerSecond: Int = 25) throws {
        guard width > 0, height > 0, framesPerSecond > 0 else {
            throw VideoWriterError.failed("invalid size \(width)x\(height) or rate \(framesPerSecond)")
        }
        guard let ffmpeg = VideoPipe.which("ffmpeg") else { throw VideoWriterError.ffmpegMissing }
        // A peer that dies while we write must give an error, not kill this process with SIGPIPE.
        signal(SIGPIPE, SIG_IGN)
        self.destination = destination
        self.width = width
        self.height = height
        let dir = destination.deletingLastPathComponent()
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: dir.path, isDirectory: &isDir), isDir.boolValue else {
            throw VideoWriterError.failed("\(dir.path) is not an existing folder")
        }
        let tag = UUID().uuidString.prefix(8)
        // The temporary name keeps the extension: ffmpeg picks the container from it.
        temporary = dir.appendingPathComponent(
            ".\(destination.deletingPathExtension().lastPathComponent).partial-\(tag).\(destination.pathExtension)")
        log = FileManager.default.temporaryDirectory.appendingPathComponent("siammask-ffmpeg-\(tag).log")
        guard FileManager.default.createFile(atPath: log.path, contents: nil) else {
            throw VideoWriterError.failed("cannot create \(log.path)")
        }
        process = Process()
        process.executableURL = ffmpeg
        // yuv420p (what players expect) needs even sides: an odd side is padded by one black pixel.
        process.arguments = [
            "-v", "error", "-nostdin", "-y", "-f", "rawvideo", "-pix_fmt", "bgr24", "-s", "\(width)x\(height)",
            "-r", "\(framesPerSecond)", "-i", "-", "-vf", "pad=ceil(iw/2)*2:ceil(ih/2)*2",
            "-pix_fmt", "yuv420p", "-an", temporary.path,
        ]
        let pipe = Pipe()
        process.standardInput = pipe
        process.standardOutput = FileHandle.nullDevice
        let errors = try FileHandle(forWritingTo: log)
        process.standardError = errors
        defer { try? errors.close() }   // ffmpeg holds its own descriptor
        do { try process.run() } catch {
            try? FileManager.default.removeItem(at: log)
            throw VideoWriterError.failed("cannot start ffmpeg: \(error)")
        }
        input = pipe.fileHandleForWriting
    }

    /// Appends one BGR frame of the video's size.
    public func write(_ frame: Image) throws {
        guard !closed else { throw VideoWriterError.failed("the video is already finished") }
        guard frame.width == width, frame.height == height, frame.channels == 3 else {
            throw VideoWriterError.frameSize(
                expected: "\(width)x\(height) BGR", actual: "\(frame.width)x\(frame.height)x\(frame.channels)")
        }
        do { try input.write(contentsOf: Data(frame.pixels)) } catch {
            throw VideoWriterError.failed("ffmpeg stopped reading: \(closeAndExplain())")
        }
        frameCount += 1
    }

    /// Ends the stream and waits for ffmpeg; the file is complete at its temporary name. Then `commit` moves it.
    public func close() throws {
        guard !closed else { return }
        let why = closeAndExplain()
        guard process.terminationStatus == 0 else { throw VideoWriterError.failed(why) }
        guard frameCount > 0 else { throw VideoWriterError.failed("no frames were written") }
    }

    /// Renames the finished video into place (replacing an older file of that name).
    public func commit() throws {
        try close()
        // rename(2) replaces an older file in one step (FileManager's replaceItemAt is not atomic on Linux).
        guard rename(temporary.path, destination.path) == 0 else {
            throw VideoWriterError.failed(
                "cannot move the video to \(destination.path): \(String(cString: strerror(errno)))")
        }
        committed = true
    }

    /// Closes the pipe, waits for ffmpeg and returns what it said (its last lines) or its exit status.
    private func closeAndExplain() -> String {
        if !closed {
            closed = true
            try? input.close()
            process.waitUntilExit()
        }
        let text = (try? String(contentsOf: log, encoding: .utf8)) ?? ""
        let lines = text.split(separator: "\n").suffix(3).joined(separator: " / ")
        return lines.isEmpty ? "ffmpeg exited with status \(process.terminationStatus)" : "ffmpeg: \(lines)"
    }

    deinit {
        if !closed {
            try? input.close()
            process.waitUntilExit()
        }
        if !committed { try? FileManager.default.removeItem(at: temporary) }
        try? FileManager.default.removeItem(at: log)
    }
}

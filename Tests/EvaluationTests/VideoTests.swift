import Evaluation
import Foundation
import Imaging
import TestSupport
import XCTest

/// Video input through ffmpeg: a losslessly encoded clip decodes to exactly the frames it was made from.
final class VideoTests: XCTestCase {
    func ffmpeg() throws -> URL {
        for dir in (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin").split(separator: ":") {
            let url = URL(fileURLWithPath: String(dir)).appendingPathComponent("ffmpeg")
            if FileManager.default.isExecutableFile(atPath: url.path) { return url }
        }
        throw XCTSkip("ffmpeg is not installed (Tools/setup.sh installs it): video input test skipped")
    }

    func testLosslessVideoDecodesToTheSameFrames() throws {
        let exe = try ffmpeg()
        let dir = try TestPaths.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        // Three deterministic 64x48 frames written as PNG, encoded as raw BGR video in an AVI.
        var frames: [Image] = []
        for k in 0..<3 {
            var px = [UInt8](repeating: 0, count: 64 * 48 * 3)
            for i in 0..<px.count { px[i] = UInt8(truncatingIfNeeded: i &* 31 &+ k &* 77) }
            let img = try Image(width: 64, height: 48, channels: 3, pixels: px)
            try img.write(to: dir.appendingPathComponent(String(format: "%05d.png", k)))
            frames.append(img)
        }
        let video = dir.appendingPathComponent("clip.avi")
        let p = Process()
        p.executableURL = exe
        p.arguments = [
            "-v", "error", "-framerate", "5", "-i", dir.appendingPathComponent("%05d.png").path,
            "-c:v", "rawvideo", "-pix_fmt", "bgr24", video.path,
        ]
        try p.run()
        p.waitUntilExit()
        XCTAssertEqual(p.terminationStatus, 0)
        let seq = try SequenceReader.open(video)
        XCTAssertEqual(seq.layout, .video)
        let reader = try FrameReader(seq)
        var decoded: [Image] = []
        while let f = try reader.next() { decoded.append(f) }
        XCTAssertEqual(decoded, frames)
    }

    func testCorruptVideoIsAClearError() throws {
        _ = try ffmpeg()
        let dir = try TestPaths.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let bad = dir.appendingPathComponent("broken.mp4")
        try Data(repeating: 0x42, count: 4096).write(to: bad)
        let seq = try SequenceReader.open(bad)
        XCTAssertThrowsError(try FrameReader(seq)) {
            guard case SequenceError.videoFailed? = $0 as? SequenceError else { return XCTFail("\($0)") }
        }
    }
}

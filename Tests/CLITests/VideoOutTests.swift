import Foundation
import TestSupport
import XCTest

/// `track --video-out`: the overlay frames as a video through ffmpeg, read back with ffprobe; atomic; a clear error
/// without ffmpeg.
final class VideoOutTests: XCTestCase {
    typealias Result = CLITests.Result

    func run(_ tool: URL, _ args: [String], environment: [String: String]? = nil) throws -> Result {
        try CLITests.runProcess(tool, args, environment: environment)
    }

    static func which(_ tool: String) -> URL? {
        for dir in (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin").split(separator: ":") {
            let url = URL(fileURLWithPath: String(dir)).appendingPathComponent(tool)
            if FileManager.default.isExecutableFile(atPath: url.path) { return url }
        }
        return nil
    }

    /// Frame count (decoded, not the container's claim), width and height of a video's first stream.
    func probe(_ video: URL) throws -> (frames: Int, width: Int, height: Int) {
        let ffprobe = try XCTUnwrap(Self.which("ffprobe"), "ffprobe comes with ffmpeg")
        let r = try run(
            ffprobe,
            [
                "-v", "error", "-count_frames", "-select_streams", "v:0",
                "-show_entries", "stream=nb_read_frames,width,height", "-of", "default=noprint_wrappers=1", video.path,
            ])
        XCTAssertEqual(r.status, 0, r.stderr)
        var fields: [String: Int] = [:]
        for line in r.stdout.split(separator: "\n") {
            let kv = line.split(separator: "=")
            if kv.count == 2 { fields[String(kv[0])] = Int(kv[1]) }
        }
        return (
            try XCTUnwrap(fields["nb_read_frames"]), try XCTUnwrap(fields["width"]), try XCTUnwrap(fields["height"])
        )
    }

    func testTrackWritesTheOverlayVideo() throws {
        guard Self.which("ffmpeg") != nil else {
            throw XCTSkip("ffmpeg is not installed (Tools/setup.sh installs it): --video-out test skipped")
        }
        let exe = try XCTUnwrap(CLITests.executable, "run `swift build --build-tests` first")
        let dir = try TestPaths.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let seq = dir.appendingPathComponent("seq").path
        var r = try run(
            exe, ["synth", "--seed", "21", "--frames", "5", "--width", "160", "--height", "120", "--out", seq])
        XCTAssertEqual(r.status, 0, r.stderr)
        let siam = TestPaths.fixture(FixtureFiles.siam).path

        // With overlay images and the video: every frame (the first included) in both.
        let video = dir.appendingPathComponent("track.mp4")
        r = try run(
            exe,
            [
                "track", siam, "--sequence", seq, "--out", dir.appendingPathComponent("a").path, "--video-out",
                video.path,
            ])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stdout.contains("video: 5 frames"), r.stdout)
        var v = try probe(video)
        XCTAssertEqual(v.frames, 5)
        XCTAssertEqual(v.width, 160)
        XCTAssertEqual(v.height, 120)
        XCTAssertEqual(
            try FileManager.default.contentsOfDirectory(atPath: dir.appendingPathComponent("a/overlay").path).count, 5)

        // --no-overlay: no overlay images, the video all the same; --frames limits both; an existing file is replaced.
        r = try run(
            exe,
            [
                "track", siam, "--sequence", seq, "--out", dir.appendingPathComponent("b").path, "--no-overlay",
                "--frames", "3", "--video-out", video.path,
            ])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir.appendingPathComponent("b/overlay").path))
        v = try probe(video)
        XCTAssertEqual(v.frames, 3)

        // ffmpeg failing (no muxer for the extension): one line naming the cause; no output folder, no partial video.
        r = try run(
            exe,
            [
                "track", siam, "--sequence", seq, "--out", dir.appendingPathComponent("c").path,
                "--video-out", dir.appendingPathComponent("track.notavideo").path,
            ])
        XCTAssertNotEqual(r.status, 0)
        XCTAssertTrue(r.stderr.contains("video encoding failed"), r.stderr)
        let left = try FileManager.default.contentsOfDirectory(atPath: dir.path)
        XCTAssertFalse(left.contains("c"), "\(left)")
        XCTAssertEqual(left.filter { $0.contains("partial") || $0.hasSuffix(".notavideo") }, [], "\(left)")
    }

    func testMissingFfmpegIsAClearErrorBeforeAnyWork() throws {
        let exe = try XCTUnwrap(CLITests.executable, "run `swift build --build-tests` first")
        let dir = try TestPaths.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let seq = dir.appendingPathComponent("seq").path
        var r = try run(
            exe, ["synth", "--seed", "22", "--frames", "2", "--width", "96", "--height", "64", "--out", seq])
        XCTAssertEqual(r.status, 0, r.stderr)
        let empty = dir.appendingPathComponent("no-tools")
        try FileManager.default.createDirectory(at: empty, withIntermediateDirectories: true)
        r = try run(
            exe,
            [
                "track", TestPaths.fixture(FixtureFiles.siam).path, "--sequence", seq, "--out",
                dir.appendingPathComponent("t").path,
                "--video-out", dir.appendingPathComponent("t.mp4").path,
            ], environment: ["PATH": empty.path])
        XCTAssertNotEqual(r.status, 0)
        XCTAssertTrue(r.stderr.contains("needs ffmpeg on PATH"), r.stderr)
        XCTAssertEqual(
            r.stderr.trimmingCharacters(in: .whitespacesAndNewlines).split(separator: "\n").count, 1, r.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir.appendingPathComponent("t").path))
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir.appendingPathComponent("t.mp4").path))
    }
}

import Foundation
import TestSupport
import XCTest

/// `siammask soak`: a short run on the fixture model gives the verdict lines, exit 0 within loose limits, and a JSON
/// report whose per-frame series cover every frame; bad options are refused.
final class SoakCommandTests: XCTestCase {
    func run(_ args: [String]) throws -> (status: Int32, stdout: String, stderr: String) {
        let exe = try XCTUnwrap(CLITests.executable, "the siammask executable was not built next to the tests")
        let p = Process()
        p.executableURL = exe
        p.arguments = args
        let out = Pipe(), err = Pipe()
        p.standardOutput = out
        p.standardError = err
        try p.run()
        let o = out.fileHandleForReading.readDataToEndOfFile(), e = err.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return (p.terminationStatus, String(decoding: o, as: UTF8.self), String(decoding: e, as: UTF8.self))
    }

    func testShortSoakWritesTheVerdictAndTheReport() throws {
        let dir = try TestPaths.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let report = dir.appendingPathComponent("soak.json")
        // 20 frames: windows of 2 frames, so the limits are loose; this checks the plumbing, Tools/soak.sh the soak.
        let r = try run([
            "soak", TestPaths.fixture(FixtureFiles.siam).path, "--frames", "20", "--width", "160", "--height", "120",
            "--threads", "2", "--max-growth", "1000", "--time-tolerance", "100", "--report", report.path,
        ])
        XCTAssertEqual(r.status, 0, r.stdout + r.stderr)
        for text in [
            "resident:", "peak resident:", "cpu time per frame", "non-finite frames: 0 ok",
            "state outside the image: 0 ok",
            "soak PASSED",
        ] {
            XCTAssertTrue(r.stdout.contains(text), "'\(text)' in\n\(r.stdout)")
        }
        let json = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: report)) as? [String: Any])
        XCTAssertEqual(json["frames"] as? Int, 20)
        XCTAssertEqual(json["passed"] as? Bool, true)
        let series = try XCTUnwrap(json["per_frame"] as? [String: [Any]])
        for key in ["resident_kib", "peak_kib", "wall_ms", "cpu_ms", "score", "lost", "width", "height"] {
            XCTAssertEqual(series[key]?.count, 20, key)
        }
        let summary = try XCTUnwrap(json["summary"] as? [String: Double])
        XCTAssertGreaterThan(summary["resident_end_mib"] ?? 0, 1)
    }

    func testBadOptionsAreRefused() throws {
        for args in [
            ["--frames", "5"], ["--frames", "20", "--max-growth", "0"], ["--frames", "20", "--difficulty", "extreme"],
        ] {
            let r = try run(["soak", TestPaths.fixture(FixtureFiles.siam).path] + args)
            XCTAssertNotEqual(r.status, 0, args.joined(separator: " "))
            XCTAssertFalse(r.stderr.contains("Fatal error"), r.stderr)
        }
    }
}

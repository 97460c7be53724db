import Foundation
import Tensors
import TestSupport
import XCTest

/// `siammask bench`: the report (text and JSON), the serve protocol driven through pipes, and bad input.
final class BenchCommandTests: XCTestCase {
    typealias Result = CLITests.Result

    func run(_ args: [String], stdin: String? = nil) throws -> Result {
        let exe = try XCTUnwrap(CLITests.executable, "the siammask executable was not built next to the tests")
        return try CLITests.runProcess(exe, args, stdin: stdin)
    }

    var model: String { TestPaths.fixture(FixtureFiles.siam).path }

    func testTextReportHasTimesLayersTiersAndMemory() throws {
        let r = try run(["bench", model, "--frames", "2", "--warmup", "1"])
        XCTAssertEqual(r.status, 0, r.stderr)
        for text in [
            "model load:", "median", "p10", "p90", "peak memory", "fp32 ", "features.features.conv1",
            "refine_model.post2", "% peak",
        ] {
            XCTAssertTrue(r.stdout.contains(text), "'\(text)' in\n\(r.stdout)")
        }
    }

    func testJSONReportHasTheExpectedKeysAndPositiveNumbers() throws {
        let f = { (name: String) in TestPaths.fixture(name).path }
        let r = try run([
            "bench", model, "--frames", "2", "--warmup", "0", "--json", "--search", f(FixtureFiles.searchInput),
            "--template", f(FixtureFiles.templateInput),
        ])
        XCTAssertEqual(r.status, 0, r.stderr)
        let json = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any], r.stdout)
        XCTAssertEqual(json["precision"] as? String, "float32")
        XCTAssertEqual(json["frames"] as? Int, 2)
        XCTAssertTrue(json["int8_tier"] is NSNull)
        let tier = try XCTUnwrap(json["fp32_tier"] as? String)
        // Winograd runs on the fast tiers unless switched off; the reference tier is always direct.
        let environment = ProcessInfo.processInfo.environment
        XCTAssertEqual(json["winograd"] as? Bool, tier != "reference" && environment["SIAMMASK_WINOGRAD"] != "0")
        for key in ["load_ms", "gmac_per_frame", "peak_memory_mib"] {
            XCTAssertGreaterThan(json[key] as? Double ?? 0, 0, key)
        }
        let frame = try XCTUnwrap(json["frame_ms"] as? [String: Any])
        XCTAssertEqual((frame["all"] as? [Double])?.count, 2)
        for key in ["median", "p10", "p90"] { XCTAssertGreaterThan(frame[key] as? Double ?? 0, 0, key) }
        let layers = try XCTUnwrap(json["layers"] as? [[String: Any]])
        let conv1 = try XCTUnwrap(layers.first { $0["step"] as? String == "features.features.conv1" })
        XCTAssertGreaterThan(conv1["gmac"] as? Double ?? 0, 0)
        XCTAssertGreaterThan(conv1["gops"] as? Double ?? 0, 0)
        XCTAssertGreaterThan(conv1["ms"] as? Double ?? 0, 0)
        // The fixture's conv1 on the search crop: 4 out channels x 125 x 125, 3 x 7 x 7 taps each (width 1/16).
        XCTAssertEqual(conv1["gmac"] as? Double ?? 0, Double(64 / 16 * 125 * 125 * 3 * 49) / 1e9, accuracy: 1e-12)
        XCTAssertTrue(layers.contains { $0["step"] as? String == "refine_model.post2" })
    }

    func testServeAnswersFrameRequestsAndQuits() throws {
        let r = try run(["bench", model, "--serve", "--warmup", "1"], stdin: "2\nthree\n1\nquit\n5\n")
        XCTAssertEqual(r.status, 0, r.stderr)
        let lines = r.stdout.split(separator: "\n").map(String.init)
        XCTAssertEqual(lines.count, 4, r.stdout)
        let objects = try lines.map {
            try XCTUnwrap(JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any], $0)
        }
        XCTAssertEqual(objects[0]["ready"] as? Bool, true)
        XCTAssertEqual(objects[0]["precision"] as? String, "float32")
        XCTAssertEqual(objects[0]["threads"] as? Int, 1)
        XCTAssertGreaterThan(objects[0]["load_ms"] as? Double ?? 0, 0)
        XCTAssertTrue(objects[0]["int8_tier"] is NSNull)
        XCTAssertEqual(objects[1]["frames"] as? Int, 2)
        XCTAssertEqual((objects[1]["ms"] as? [Double])?.filter { $0 > 0 }.count, 2)
        XCTAssertNotNil(objects[2]["error"] as? String)
        XCTAssertEqual((objects[3]["ms"] as? [Double])?.count, 1)
        // End of input also ends the session.
        let eof = try run(["bench", model, "--serve", "--warmup", "0", "--threads", "2"], stdin: "1\n")
        XCTAssertEqual(eof.status, 0, eof.stderr)
        XCTAssertEqual(eof.stdout.split(separator: "\n").count, 2, eof.stdout)
    }

    func testBadInputGivesOneLineAndNonZeroExit() throws {
        let dir = try TestPaths.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let wrong = dir.appendingPathComponent("wrong.npy")
        try NPY.write(Tensor(shape: [1, 3, 127, 127], floats: [Float](repeating: 1, count: 3 * 127 * 127)), to: wrong)
        let cases: [([String], String)] = [
            (["bench", dir.appendingPathComponent("missing.siam").path], "cannot load"),
            (["bench", model, "--search", wrong.path], "--search must be a 1x3x255x255 float32 array"),
            (["bench", model, "--template", dir.appendingPathComponent("none.npy").path], "cannot read --template"),
            (["bench", model, "--frames", "0"], "--frames must be at least 1"),
            (["bench", model, "--threads", "0"], "--threads must be between 1 and 256"),
        ]
        for (args, message) in cases {
            let r = try run(args)
            XCTAssertNotEqual(r.status, 0, "\(args)")
            XCTAssertTrue(r.stderr.contains(message), "\(args): \(r.stderr)")
            XCTAssertEqual(
                r.stderr.trimmingCharacters(in: .whitespacesAndNewlines).split(separator: "\n").count, 1,
                "\(args): \(r.stderr)")
            XCTAssertEqual(r.stdout, "", "\(args)")
        }
    }
}

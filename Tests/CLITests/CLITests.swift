import Foundation
import Tensors
import TestSupport
import XCTest

/// End-to-end runs of the `siammask` executable: exit codes, one-line errors, written files.
final class CLITests: XCTestCase {
    struct Result { let status: Int32; let stdout: String; let stderr: String }

    /// The `siammask` binary built beside the test bundle (`swift build --build-tests` builds every product).
    static let executable: URL? = {
        var candidates: [URL] = [Bundle.main.bundleURL, Bundle.main.bundleURL.deletingLastPathComponent()]
        let arg0 = URL(fileURLWithPath: CommandLine.arguments[0])
        candidates += [arg0.deletingLastPathComponent(), arg0.deletingLastPathComponent().deletingLastPathComponent()]
        for dir in candidates {
            let url = dir.appendingPathComponent("siammask")
            if FileManager.default.isExecutableFile(atPath: url.path) { return url }
        }
        return nil
    }()

    func run(_ args: [String]) throws -> Result {
        guard let exe = Self.executable else {
            XCTFail("the siammask executable was not built next to the tests; run `swift build --build-tests` first")
            throw CocoaError(.fileNoSuchFile)
        }
        return try Self.runProcess(exe, args)
    }

    /// Runs `tool` to completion with `stdin` written to its input, capturing both outputs. `environment` replaces the
    /// inherited one (nil: inherit). Every CLI test target's runner.
    static func runProcess(
        _ tool: URL, _ args: [String], environment: [String: String]? = nil,
        stdin: String? = nil
    ) throws -> Result {
        let p = Process()
        p.executableURL = tool
        p.arguments = args
        if let environment { p.environment = environment }
        let out = Pipe(), err = Pipe(), input = Pipe()
        p.standardOutput = out
        p.standardError = err
        p.standardInput = input
        try p.run()
        if let stdin { input.fileHandleForWriting.write(Data(stdin.utf8)) }
        try input.fileHandleForWriting.close()
        let o = out.fileHandleForReading.readDataToEndOfFile(), e = err.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return Result(
            status: p.terminationStatus, stdout: String(decoding: o, as: UTF8.self),
            stderr: String(decoding: e, as: UTF8.self))
    }

    func testConvertInspectAndRunEveryGraph() throws {
        let dir = try TestPaths.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let model = dir.appendingPathComponent("m.siam").path
        var r = try run(["convert", TestPaths.fixture(FixtureFiles.zipBareModulePrefix).path, "-o", model])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: model)).prefix(8), Data("SIAMMASK".utf8))
        r = try run(["inspect", model])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stdout.contains("model.architecture"), r.stdout)
        XCTAssertTrue(r.stdout.contains("features.features.conv1.weight"), r.stdout)

        let f = { (name: String) in TestPaths.fixture(name).path }
        let out = dir.appendingPathComponent("out").path
        r = try run([
            "run", model, "--graph", "template", "--input", "template=" + f(FixtureFiles.templateInput), "--output",
            out,
        ])
        XCTAssertEqual(r.status, 0, r.stderr)
        r = try run([
            "run", model, "--graph", "search", "--input", "search=" + f(FixtureFiles.searchInput),
            "--input", "zf=\(out)/zf.npy", "--output", out, "--threads", "2",
        ])
        XCTAssertEqual(r.status, 0, r.stderr)
        r = try run([
            "run", model, "--graph", "refine", "--pos", "3,21", "--output", out,
            "--input", "f0=\(out)/f0.npy", "--input", "f1=\(out)/f1.npy", "--input", "f2=\(out)/f2.npy", "--input",
            "corr=\(out)/corr.npy",
        ])
        XCTAssertEqual(r.status, 0, r.stderr)
        // The chain ran on our own intermediate outputs; each stage still lands within the golden tolerance
        // because every stage's error is far below it.
        for (name, golden) in [
            ("zf", FixtureFiles.zf), ("cls", FixtureFiles.searchOutputs["cls"]!),
            ("mask", FixtureFiles.refineMask(3, 21)),
        ] {
            let ours = try NPY.read(URL(fileURLWithPath: "\(out)/\(name).npy")),
                ref = try NPY.read(TestPaths.fixture(golden))
            XCTAssertEqual(ours.shape, ref.shape)
            let (e, m) = compare(ours, ref)
            XCTAssertLessThanOrEqual(e, 2 * (Tolerance.graphRelative * m + Tolerance.graphAbsolute), name)
        }
    }

    /// Bad arguments and bad files: one clear line on stderr, a non-zero exit, nothing written.
    func testBadInputGivesOneLineAndNonZeroExit() throws {
        let dir = try TestPaths.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let siam = TestPaths.fixture(FixtureFiles.siam).path
        let junk = dir.appendingPathComponent("junk.siam")
        try Data(repeating: 7, count: 100).write(to: junk)
        let out = dir.appendingPathComponent("never").path
        let cases: [([String], String)] = [
            (["convert", dir.appendingPathComponent("missing.pth").path, "-o", "\(out)/x.siam"], "cannot convert"),
            (["convert", junk.path, "-o", "\(out)/x.siam"], "neither a PyTorch checkpoint"),
            (["inspect", junk.path], "cannot read"),
            (["run", junk.path, "--graph", "template", "--output", out], "cannot load"),
            (["run", siam, "--graph", "refine", "--output", out], "--pos"),
            (["run", siam, "--graph", "template", "--output", out], "missing graph input 'template'"),
            (
                [
                    "run", siam, "--graph", "template", "--input",
                    "template=" + TestPaths.fixture(FixtureFiles.searchInput).path, "--output", out,
                ], "has shape"
            ),
            (["run", siam, "--graph", "template", "--input", "template", "--output", out], "NAME=FILE.npy"),
            (
                ["run", siam, "--graph", "template", "--input", "template=" + junk.path, "--output", out],
                "cannot read input"
            ),
            (["run", siam, "--graph", "refine", "--pos", "30,2", "--output", out], "outside"),
            (["run", siam, "--graph", "bogus", "--output", out], "bogus"),
        ]
        for (args, expected) in cases {
            let r = try run(args)
            XCTAssertNotEqual(r.status, 0, args.joined(separator: " "))
            XCTAssertTrue(r.stderr.contains(expected), "\(args.joined(separator: " ")): stderr was \(r.stderr)")
            XCTAssertFalse(r.stderr.contains("Fatal error"), r.stderr)
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: out), "a failed command left output behind")
    }

    /// synth -> track on the synthetic layout (ground-truth init), every output file written, and the VOT/JSON formats.
    func testSynthThenTrackWritesEveryOutput() throws {
        let dir = try TestPaths.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let seq = dir.appendingPathComponent("seq").path
        var r = try run(["synth", "--seed", "11", "--frames", "6", "--width", "320", "--height", "240", "--out", seq])
        XCTAssertEqual(r.status, 0, r.stderr)
        let out = dir.appendingPathComponent("track").path
        r = try run(["track", TestPaths.fixture(FixtureFiles.siam).path, "--sequence", seq, "--out", out])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stdout.contains("per frame: decode"), r.stdout)
        let polygons = try String(contentsOfFile: "\(out)/polygons.txt", encoding: .utf8).split(separator: "\n")
        XCTAssertEqual(polygons.count, 6)
        XCTAssertTrue(polygons.allSatisfy { $0.split(separator: ",").count == 8 })
        let results = try String(contentsOfFile: "\(out)/results.jsonl", encoding: .utf8).split(separator: "\n")
        XCTAssertEqual(results.count, 6)
        let last = try JSONSerialization.jsonObject(with: Data(results[5].utf8)) as! [String: Any]
        for key in ["frame", "cx", "cy", "w", "h", "score", "best", "lost", "polygon"] {
            XCTAssertNotNil(last[key], key)
        }
        XCTAssertNotNil(last["lost"] as? Bool, "lost is true or false after the first frame")
        for f in 0..<6 {
            XCTAssertTrue(FileManager.default.fileExists(atPath: String(format: "%@/masks/%05d.png", out, f)))
            XCTAssertTrue(FileManager.default.fileExists(atPath: String(format: "%@/overlay/%05d.jpg", out, f)))
        }
        // The output folder exists now: a second run refuses instead of mixing results.
        r = try run(["track", TestPaths.fixture(FixtureFiles.siam).path, "--sequence", seq, "--out", out])
        XCTAssertNotEqual(r.status, 0)
        XCTAssertTrue(r.stderr.contains("already exists"), r.stderr)
    }

    /// Bad tracking input: one line, non-zero exit, no output folder and no staging folder left behind.
    /// The int8 pipeline through the executable: calibrate -> quantize -> inspect -> track -> drift (within budget and
    /// over it), with the files each step promises and one-line errors for bad input.
    func testCalibrateQuantizeTrackAndDrift() throws {
        let dir = try TestPaths.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let model = TestPaths.fixture(FixtureFiles.siam).path
        let seq = dir.appendingPathComponent("seq").path, calib = dir.appendingPathComponent("calib.json").path
        let int8 = dir.appendingPathComponent("int8.siam").path
        var r = try run(["synth", "--seed", "12", "--frames", "4", "--width", "320", "--height", "240", "--out", seq])
        XCTAssertEqual(r.status, 0, r.stderr)
        r = try run([
            "calibrate", model, "--sequence", seq, "--method", "entropy", "--save-inputs",
            dir.appendingPathComponent("inputs").path, "-o", calib,
        ])
        XCTAssertEqual(r.status, 0, r.stderr)
        let table =
            try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: calib))) as! [String: Any]
        XCTAssertEqual(table["format"] as? String, "siammask-calibration")
        XCTAssertEqual(table["method"] as? String, "entropy")
        XCTAssertEqual(table["frames"] as? Int, 3)
        XCTAssertTrue(
            FileManager.default.fileExists(atPath: dir.appendingPathComponent("inputs/seq_00003_search.npy").path))

        r = try run(["quantize", model, "--calibration", calib, "--keep-float32", "refine_model.post*", "-o", int8])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stdout.contains("(mixed)"), r.stdout)
        r = try run(["inspect", int8])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stdout.contains("model.precision (string) = \"mixed\""), r.stdout)
        XCTAssertTrue(r.stdout.contains("refine_model.post2") && r.stdout.contains("float32"), r.stdout)
        XCTAssertTrue(r.stdout.contains("features.features.conv1") && r.stdout.contains("in search 1 / 0"), r.stdout)

        r = try run([
            "track", int8, "--sequence", seq, "--no-overlay", "--out", dir.appendingPathComponent("track").path,
        ])
        XCTAssertEqual(r.status, 0, r.stderr)

        // Winograd-domain layers: recorded in the file, tracked with; a table without the statistics is refused.
        let wd = dir.appendingPathComponent("wd.siam").path
        r = try run(["quantize", model, "--calibration", calib, "--winograd-domain", "-o", wd])
        XCTAssertEqual(r.status, 0, r.stderr)
        r = try run(["inspect", wd])
        XCTAssertTrue(r.stdout.contains("quant.winograd_domain.layers"), r.stdout)
        XCTAssertTrue(r.stdout.contains("features.features.layer3.0.downsample"), r.stdout)
        r = try run([
            "track", wd, "--sequence", seq, "--no-overlay", "--out", dir.appendingPathComponent("track-wd").path,
        ])
        XCTAssertEqual(r.status, 0, r.stderr)
        var stripped = table
        stripped["winograd"] = nil
        let oldTable = dir.appendingPathComponent("old-calib.json")
        try JSONSerialization.data(withJSONObject: stripped).write(to: oldTable)
        let refused = dir.appendingPathComponent("refused.siam").path
        r = try run(["quantize", model, "--calibration", oldTable.path, "--winograd-domain", "-o", refused])
        XCTAssertNotEqual(r.status, 0)
        XCTAssertTrue(r.stderr.contains("no Winograd statistics"), r.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: refused))
        let out = dir.appendingPathComponent("drift").path
        r = try run(["drift", model, int8, "--sequence", seq, "--budget", "box_iou=0,mask_iou=0", "--out", out])
        XCTAssertEqual(r.status, 0, r.stderr + r.stdout)
        for f in ["drift.json", "drift.md", "drift.svg"] {
            XCTAssertTrue(FileManager.default.fileExists(atPath: "\(out)/\(f)"), f)
        }
        let report =
            try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: "\(out)/drift.json")))
            as! [String: Any]
        let summary = report["summary"] as! [String: Any]
        XCTAssertEqual(report["mode"] as? String, "free-running")
        XCTAssertEqual(summary["frames"] as? Int, 3)
        for key in ["box_iou_mean", "mask_iou_mean", "center_error_px_mean"] {
            XCTAssertNotNil(summary[key] as? Double, key)
        }
        let layers = report["layers"] as! [[String: Any]]
        XCTAssertEqual(layers.first?["name"] as? String, "features.features.conv1")
        XCTAssertEqual(
            layers.first { $0["name"] as? String == "refine_model.post2" }?["precision"] as? String, "float32")
        // An impossible budget: the report is still written, and the exit status says it failed.
        let over = dir.appendingPathComponent("drift-over").path
        r = try run(["drift", model, int8, "--sequence", seq, "--budget", "sqnr_db=199", "--lockstep", "--out", over])
        XCTAssertEqual(r.status, 1, r.stdout + r.stderr)
        XCTAssertTrue(r.stdout.contains("over budget"), r.stdout)
        XCTAssertTrue(r.stdout.contains("drift (lockstep)"), r.stdout)
        XCTAssertTrue(try String(contentsOfFile: "\(over)/drift.md", encoding: .utf8).contains("**lockstep**"))

        // Bad input: one line, non-zero exit, nothing written.
        for (args, message) in [
            (
                [
                    "quantize", model, "--calibration", seq + "/groundtruth.txt", "-o",
                    dir.appendingPathComponent("x.siam").path,
                ], "cannot read"
            ),
            (
                [
                    "quantize", model, "--calibration", calib, "--keep-float32", "nothing.like.this", "-o",
                    dir.appendingPathComponent("x.siam").path,
                ], "matches no"
            ),
            (
                ["quantize", int8, "--calibration", calib, "-o", dir.appendingPathComponent("x.siam").path],
                "already quantised"
            ),
            (["calibrate", int8, "--sequence", seq, "-o", dir.appendingPathComponent("x.json").path], "float32 model"),
            (
                [
                    "calibrate", model, "--sequence", seq, "--method", "median", "-o",
                    dir.appendingPathComponent("x.json").path,
                ], "unknown --method"
            ),
            (
                [
                    "drift", model, int8, "--sequence", seq, "--budget", "box_iou=2", "--out",
                    dir.appendingPathComponent("x").path,
                ], "budget"
            ),
        ] {
            r = try run(args)
            XCTAssertNotEqual(r.status, 0, args.joined(separator: " "))
            // The first line says what is wrong (option errors add ArgumentParser's usage lines after it).
            XCTAssertTrue(r.stderr.split(separator: "\n").first?.contains(message) ?? false, "\(args): \(r.stderr)")
        }
        for leftover in ["x.siam", "x.json", "x"] {
            XCTAssertFalse(FileManager.default.fileExists(atPath: dir.appendingPathComponent(leftover).path), leftover)
        }
    }

    func testTrackBadInputLeavesNothing() throws {
        let dir = try TestPaths.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let seq = dir.appendingPathComponent("seq")
        var r = try run([
            "synth", "--seed", "3", "--frames", "3", "--width", "160", "--height", "120", "--out", seq.path,
        ])
        XCTAssertEqual(r.status, 0, r.stderr)
        let siam = TestPaths.fixture(FixtureFiles.siam).path
        let empty = dir.appendingPathComponent("empty")
        try FileManager.default.createDirectory(at: empty, withIntermediateDirectories: true)
        let corrupt = dir.appendingPathComponent("corrupt")
        try FileManager.default.copyItem(at: seq, to: corrupt)
        try Data([0xFF, 0xD8, 0xFF, 0xE0, 0, 0x10]).write(to: corrupt.appendingPathComponent("00001.jpg"))
        let out = dir.appendingPathComponent("out").path
        let cases: [([String], String)] = [
            (["--sequence", seq.path, "--init", "500,500,20,20"], "outside"),
            (["--sequence", seq.path, "--init", "10,10,0,20"], "zero or negative size"),
            (["--sequence", seq.path, "--init", "10,10,20"], "4 comma-separated numbers"),
            (["--sequence", empty.path], "no frames"),
            (["--sequence", dir.appendingPathComponent("missing").path], "no such file"),
            (["--sequence", corrupt.path], "00001.jpg"),
            (["--sequence", seq.path, "--init-mask", dir.appendingPathComponent("nope.png").path], "cannot read mask"),
            (["--sequence", seq.path, "--preset", "turbo"], "unknown preset"),
        ]
        for (args, expected) in cases {
            r = try run(["track", siam, "--out", out] + args)
            XCTAssertNotEqual(r.status, 0, args.joined(separator: " "))
            XCTAssertTrue(r.stderr.contains(expected), "\(args.joined(separator: " ")): \(r.stderr)")
            XCTAssertFalse(FileManager.default.fileExists(atPath: out), "\(args): output left behind")
            let leftovers = try FileManager.default.contentsOfDirectory(atPath: dir.path).filter {
                $0.contains("partial")
            }
            XCTAssertEqual(leftovers, [], "\(args): staging folder left behind")
        }
    }
}

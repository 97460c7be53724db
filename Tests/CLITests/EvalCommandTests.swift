import Foundation
import Imaging
import TestSupport
import XCTest

/// `siammask eval` end to end with the trained test model (Models/siammask-synth.pth, converted in each test). Debug
/// builds track about one frame a second, so the sequences are a few frames long (cost noted on each test).
final class EvalCommandTests: XCTestCase {
    typealias Result = CLITests.Result

    func run(_ args: [String], environment: [String: String]? = nil) throws -> Result {
        guard let exe = CLITests.executable else {
            XCTFail("the siammask executable was not built next to the tests; run `swift build --build-tests` first")
            throw CocoaError(.fileNoSuchFile)
        }
        let merged = environment.map { ProcessInfo.processInfo.environment.merging($0) { $1 } }
        return try CLITests.runProcess(exe, args, environment: merged)
    }

    func ok(
        _ args: [String], environment: [String: String]? = nil, file: StaticString = #filePath, line: UInt = #line
    ) throws -> Result {
        let r = try run(args, environment: environment)
        XCTAssertEqual(r.status, 0, "\(args.joined(separator: " ")): \(r.stderr)", file: file, line: line)
        return r
    }

    func trainedModel(in dir: URL) throws -> String {
        let model = dir.appendingPathComponent("synth.siam").path
        _ = try ok([
            "convert", TestPaths.packageRoot.appendingPathComponent("Models/siammask-synth.pth").path, "-o", model,
        ])
        return model
    }

    /// Every regular file under `dir`, relative path -> bytes.
    func files(_ dir: URL, excluding: Set<String> = []) throws -> [String: Data] {
        var out: [String: Data] = [:]
        let base = dir.standardizedFileURL.path + "/"
        for case let url as URL in FileManager.default.enumerator(at: dir, includingPropertiesForKeys: nil)! {
            var isDir: ObjCBool = false
            guard FileManager.default.fileExists(atPath: url.path, isDirectory: &isDir), !isDir.boolValue else {
                continue
            }
            let rel = String(url.standardizedFileURL.path.dropFirst(base.count))
            if !excluding.contains(rel) { out[rel] = try Data(contentsOf: url) }
        }
        return out
    }

    func json(_ url: URL) throws -> [String: Any] {
        try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as! [String: Any]
    }

    /// Bad input: one clear line, non-zero exit, nothing written (no tracking; under a second).
    func testEvalErrors() throws {
        let dir = try TestPaths.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let model = TestPaths.fixture(FixtureFiles.siam).path
        let vot = dir.appendingPathComponent("vot")
        try FileManager.default.createDirectory(at: vot, withIntermediateDirectories: true)
        _ = try ok([
            "synth", "--seed", "1", "--frames", "2", "--width", "160", "--height", "120", "--out",
            vot.appendingPathComponent("s1").path,
        ])
        let out = dir.appendingPathComponent("out").path
        let copy = dir.appendingPathComponent("siammask.siam").path
        try FileManager.default.copyItem(atPath: model, toPath: copy)
        let cases: [([String], String)] = [
            ([model, "--dataset", "got10k", vot.path], "--dataset must be vot, otb or davis"),
            ([model, "--dataset", "vot", vot.path, "--shard", "3/3"], "outside 0...2"),
            ([model, "--dataset", "vot", vot.path, "--shard", "one/3"], "K/N"),
            ([model, "--dataset", "vot", vot.path, "--shard", "0/2", "--shard-from-env"], "not both"),
            ([model, "--dataset", "vot", dir.appendingPathComponent("missing").path], "no such folder"),
            ([model, "--dataset", "otb", vot.path], "not an OTB dataset root"),
            ([model, "--dataset", "davis", vot.path], "not a DAVIS dataset root"),
            ([model, "--dataset", "vot", vot.path, "--sequences", "s1,nope"], "no sequence named nope"),
            ([model, "--dataset", "vot", vot.path, "--frames", "1"], "--frames must be at least 2"),
            ([model, "--dataset", "vot", vot.path, "--compare", copy], "both named 'siammask'"),
            ([model, "--dataset", "vot", vot.path, "--shard-from-env"], "neither SLURM_ARRAY_TASK_ID"),
            ([model, vot.path], "--dataset"),
            (["--merge", vot.path], "not an eval output folder"),
            (["--merge", vot.path, "--dataset", "vot"], "--merge takes only"),
        ]
        for (args, message) in cases {
            let r = try run(["eval"] + args + ["--out", out])
            XCTAssertNotEqual(r.status, 0, args.joined(separator: " "))
            XCTAssertTrue(
                r.stderr.split(separator: "\n").first?.contains(message) ?? false,
                "\(args.joined(separator: " ")): \(r.stderr)")
            XCTAssertFalse(FileManager.default.fileExists(atPath: out), "\(args): output left behind")
            XCTAssertEqual(
                try FileManager.default.contentsOfDirectory(atPath: dir.path).filter { $0.contains("partial") }, [],
                "\(args): staging left")
        }
    }

    /// Three VOT sequences run whole, then as 3 shards (by --shard and by the Slurm / Kubernetes environment) merged:
    /// the same result files and byte-identical report.json, report.md and plots. The shards track every frame again,
    /// so this is also the determinism check (two runs, same bytes). Cost: 2 x 9 tracked frames (about 25 s debug).
    func testVOTShardsMergedEqualTheUnshardedRun() throws {
        let dir = try TestPaths.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let model = try trainedModel(in: dir)
        let root = dir.appendingPathComponent("vot")
        try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
        for (seed, frames) in [(21, 5), (22, 4), (23, 3)] {
            _ = try ok([
                "synth", "--seed", "\(seed)", "--frames", "\(frames)", "--width", "240", "--height", "180",
                "--out", root.appendingPathComponent("seq\(seed)").path,
            ])
        }
        let whole = dir.appendingPathComponent("whole")
        let r = try ok(["eval", model, "--dataset", "vot", root.path, "--out", whole.path])
        XCTAssertTrue(r.stdout.contains("3 sequences, 12 frames per model"), r.stdout)
        XCTAssertTrue(r.stderr.contains("frames/s") && r.stderr.contains("ETA"), "progress on stderr: \(r.stderr)")
        for name in ["seq21", "seq22", "seq23"] {
            let lines = try String(
                contentsOf: whole.appendingPathComponent("results/synth/baseline/\(name)/\(name)_001.txt"),
                encoding: .utf8
            )
            .split(separator: "\n")
            XCTAssertEqual(lines.first, "1")
            XCTAssertEqual(lines.count, Int(name.suffix(2))! == 21 ? 5 : Int(name.suffix(2))! == 22 ? 4 : 3)
        }
        let report = try json(whole.appendingPathComponent("report.json"))
        XCTAssertEqual(report["schema"] as? String, "siammask-eval-report")
        let vot = ((report["scores"] as! [[String: Any]])[0]["vot"] as! [String: Any])
        XCTAssertEqual(vot["frames"] as? Int, 12)
        XCTAssertEqual((vot["sequences"] as! [[String: Any]]).count, 3)
        XCTAssertNotNil(try? json(whole.appendingPathComponent("timing.json"))["entries"])

        // Shards 0 and 1 by option, shard 2 from a Slurm array's environment; then a Kubernetes-style shard 1 too.
        var shardDirs: [URL] = []
        for k in 0..<3 {
            let d = dir.appendingPathComponent("shard\(k)")
            shardDirs.append(d)
            if k < 2 {
                _ = try ok(["eval", model, "--dataset", "vot", root.path, "--shard", "\(k)/3", "--out", d.path])
            } else {
                _ = try ok(
                    ["eval", model, "--dataset", "vot", root.path, "--shard-from-env", "--out", d.path],
                    environment: [
                        "SLURM_ARRAY_TASK_ID": "3", "SLURM_ARRAY_TASK_MIN": "1", "SLURM_ARRAY_TASK_COUNT": "3",
                    ])
            }
        }
        // Largest first: seq21 (5 frames), seq22 (4), seq23 (3) go to shards 0, 1, 2.
        let shardManifests = try shardDirs.map { try json($0.appendingPathComponent("eval-run.json")) }
        XCTAssertEqual(shardManifests.map { $0["shard_sequences"] as! [String] }, [["seq21"], ["seq22"], ["seq23"]])
        let merged = dir.appendingPathComponent("merged")
        _ = try ok(["eval", "--merge"] + shardDirs.map(\.path) + ["--out", merged.path])
        let a = try files(whole, excluding: ["timing.json"]), b = try files(merged, excluding: ["timing.json"])
        XCTAssertEqual(a.keys.sorted(), b.keys.sorted())
        for (name, bytes) in a {
            XCTAssertEqual(bytes, b[name], "\(name) differs between the unsharded run and the merge")
        }
        XCTAssertTrue(
            a.keys.contains("report.md") && a.keys.contains("plots/vot-eao.svg") && a.keys.contains("eval-run.json"))
        XCTAssertEqual((try json(merged.appendingPathComponent("timing.json"))["entries"] as! [Any]).count, 3)

        // A Kubernetes Indexed Job's shard 1 is the same shard; a merge missing a shard is refused.
        let k8s = dir.appendingPathComponent("k8s1")
        _ = try ok(
            ["eval", model, "--dataset", "vot", root.path, "--shard-from-env", "--out", k8s.path],
            environment: ["JOB_COMPLETION_INDEX": "1", "SIAMMASK_SHARD_COUNT": "3"])
        XCTAssertEqual(
            try Data(contentsOf: k8s.appendingPathComponent("results/synth/baseline/seq22/seq22_001.txt")),
            a["results/synth/baseline/seq22/seq22_001.txt"])
        let bad = try run([
            "eval", "--merge", shardDirs[0].path, k8s.path, "--out", dir.appendingPathComponent("bad").path,
        ])
        XCTAssertNotEqual(bad.status, 0)
        XCTAssertTrue(bad.stderr.contains("missing shard 2/3"), bad.stderr)
    }

    /// OTB (got10k layout, 1-based boxes) and DAVIS (two objects in a palette annotation, one pass each, combined
    /// label maps) on synthetic sequences. Cost: OTB 3 + DAVIS 2 x 3 tracked frames (about 12 s debug).
    func testOTBAndDAVISOnSyntheticSequences() throws {
        let dir = try TestPaths.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let model = try trainedModel(in: dir)
        let fm = FileManager.default

        // OTB: frames in img/0001.jpg..., groundtruth_rect.txt with the synthetic polygons' bounding boxes, 1-based.
        let flat = dir.appendingPathComponent("flat")
        _ = try ok(["synth", "--seed", "41", "--frames", "4", "--width", "240", "--height", "180", "--out", flat.path])
        let otb = dir.appendingPathComponent("otb/Synth41")
        try fm.createDirectory(at: otb.appendingPathComponent("img"), withIntermediateDirectories: true)
        var rects: [String] = []
        for (i, line) in try String(contentsOf: flat.appendingPathComponent("groundtruth.txt"), encoding: .utf8).split(
            separator: "\n"
        ).enumerated() {
            try fm.copyItem(
                at: flat.appendingPathComponent(String(format: "%05d.jpg", i)),
                to: otb.appendingPathComponent(String(format: "img/%04d.jpg", i + 1)))
            let v = line.split(separator: ",").map { Double($0)! }
            let xs = stride(from: 0, to: 8, by: 2).map { v[$0] }, ys = stride(from: 1, to: 8, by: 2).map { v[$0] }
            rects.append("\(xs.min()! + 1)\t\(ys.min()! + 1)\t\(xs.max()! - xs.min()!)\t\(ys.max()! - ys.min()!)")
        }
        try (rects.joined(separator: "\n") + "\n").write(
            to: otb.appendingPathComponent("groundtruth_rect.txt"), atomically: true, encoding: .utf8)
        let otbOut = dir.appendingPathComponent("otb-out")
        var r = try ok([
            "eval", model, "--dataset", "otb", dir.appendingPathComponent("otb").path, "--out", otbOut.path,
        ])
        XCTAssertTrue(r.stdout.contains("success_auc"), r.stdout)
        let boxes = try String(contentsOf: otbOut.appendingPathComponent("results/synth/Synth41.txt"), encoding: .utf8)
            .split(separator: "\n")
        XCTAssertEqual(boxes.count, 4)
        // Frame 0 is the initial box, in the ground truth's own 1-based pixels, "%.3f" as got10k writes.
        let g = rects[0].split(separator: "\t").map { Double($0)! }
        XCTAssertEqual(String(boxes[0]), g.map { String(format: "%.3f", $0) }.joined(separator: ","))
        let otbScores =
            (try json(otbOut.appendingPathComponent("report.json"))["scores"] as! [[String: Any]])[0]["otb"]
            as! [String: Any]
        XCTAssertEqual((otbScores["success_curve"] as! [Double]).count, 21)
        XCTAssertGreaterThan(otbScores["auc"] as! Double, 0.5, "the trained model follows the synthetic target")
        for plot in ["otb-success.svg", "otb-precision.svg", "otb-sequences.svg"] {
            XCTAssertTrue(fm.fileExists(atPath: otbOut.appendingPathComponent("plots/\(plot)").path), plot)
        }

        // DAVIS-2017 style: the synthetic target is object 1, a fixed 24x24 patch in the corner object 2 (palette PNGs).
        let davis = dir.appendingPathComponent("davis")
        _ = try ok([
            "synth", "--seed", "42", "--frames", "4", "--width", "240", "--height", "180", "--layout", "davis",
            "--name", "two", "--out", davis.path,
        ])
        let annotations = davis.appendingPathComponent("Annotations/480p/two")
        var truth: [[UInt8]] = []
        for f in 0..<4 {
            let url = annotations.appendingPathComponent(String(format: "%05d.png", f))
            var labels = try Image.read(contentsOf: url, as: .grey).pixels.map { $0 != 0 ? UInt8(1) : 0 }
            for y in 150..<174 { for x in 8..<32 where labels[y * 240 + x] == 0 { labels[y * 240 + x] = 2 } }
            truth.append(labels)
            try LabelMap(width: 240, height: 180, labels: labels, indexed: true).writeIndexedPNG(to: url)
        }
        let davisOut = dir.appendingPathComponent("davis-out")
        r = try ok(["eval", model, "--dataset", "davis", davis.path, "--out", davisOut.path])
        XCTAssertTrue(r.stdout.contains("j_and_f"), r.stdout)
        let frame0 = try LabelMap.read(contentsOf: davisOut.appendingPathComponent("results/synth/two/00000.png"))
        XCTAssertTrue(frame0.indexed)
        XCTAssertEqual(frame0.labels, truth[0], "frame 0 holds the given masks")
        let frame3 = try LabelMap.read(contentsOf: davisOut.appendingPathComponent("results/synth/two/00003.png"))
        XCTAssertEqual(Set(frame3.labels), [0, 1, 2], "both objects tracked into one label map")
        let report = try json(davisOut.appendingPathComponent("report.json"))
        let objects =
            ((report["scores"] as! [[String: Any]])[0]["davis"] as! [String: Any])["objects"] as! [[String: Any]]
        XCTAssertEqual(objects.map { $0["object"] as! Int }, [1, 2])
        XCTAssertEqual((report["models"] as! [[String: Any]])[0]["preset"] as? String, "davis")
        let timing = try json(davisOut.appendingPathComponent("timing.json"))["entries"] as! [[String: Any]]
        XCTAssertEqual(timing.first?["passes"] as? Int, 2, "one pass per object")
    }

    /// The real footage of ../shared/data (DAVIS tennis + car-shadow, VOT bag, OTB Crossing), the trained model in
    /// float32 and int8 side by side (--compare), first 3 frames of each sequence. Cost: calibration on 2 frames,
    /// then (2 + 2 + 2 + 2) tracked frames x 2 models (about 25 s debug).
    func testSharedDataCompareFloat32AndInt8() throws {
        guard let data = TestPaths.sharedData else {
            throw XCTSkip(
                "../shared/data is absent (DAVIS tennis + car-shadow, VOT bag, OTB Crossing); the real-footage eval is skipped"
            )
        }
        let dir = try TestPaths.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let model = try trainedModel(in: dir)
        let calibration = dir.appendingPathComponent("cal")
        _ = try ok([
            "synth", "--seed", "51", "--frames", "3", "--width", "240", "--height", "180", "--out", calibration.path,
        ])
        let table = dir.appendingPathComponent("cal.json").path,
            int8 = dir.appendingPathComponent("synth-int8.siam").path
        _ = try ok(["calibrate", model, "--sequence", calibration.path, "--method", "minmax", "-o", table])
        _ = try ok(["quantize", model, "--calibration", table, "-o", int8])
        let expected: [(String, String, [String], [String])] = [
            (
                "davis", "DAVIS", ["car-shadow", "tennis"],
                ["j_and_f", "j_mean", "j_recall", "j_decay", "f_mean", "f_recall", "f_decay"]
            ),
            ("vot", "VOT", ["bag"], ["eao", "accuracy", "robustness", "failures"]),
            ("otb", "OTB", ["Crossing"], ["success_auc", "precision_20px"]),
        ]
        for (kind, folder, sequences, metrics) in expected {
            let out = dir.appendingPathComponent(kind)
            let r = try ok([
                "eval", model, "--dataset", kind, data.appendingPathComponent(folder).path, "--compare", int8,
                "--frames", "3", "--out", out.path,
            ])
            XCTAssertTrue(r.stdout.contains("synth-int8 − synth"), r.stdout)
            let report = try json(out.appendingPathComponent("report.json"))
            XCTAssertEqual((report["dataset"] as! [String: Any])["sequences"] as! [String], sequences)
            XCTAssertEqual(
                (report["models"] as! [[String: Any]]).map { $0["precision"] as! String }, ["float32", "int8"])
            let comparison = report["comparison"] as! [String: Any]
            XCTAssertEqual((comparison["summary"] as! [[String: Any]]).map { $0["metric"] as! String }, metrics)
            let md = try String(contentsOf: out.appendingPathComponent("report.md"), encoding: .utf8)
            XCTAssertTrue(md.contains("| synth-int8 − synth |"), md)
            for m in ["synth", "synth-int8"] {
                XCTAssertTrue(
                    FileManager.default.fileExists(atPath: out.appendingPathComponent("results/\(m)").path),
                    "\(kind) \(m)")
            }
        }
    }
}

import Foundation
import XCTest
@testable import Evaluation

final class BenchmarkShardReportTests: XCTestCase {
    func testShardSpecParsingAndEnvironment() throws {
        XCTAssertEqual(try ShardSpec(parsing: "2/3"), try ShardSpec(index: 2, count: 3))
        for bad in ["3/3", "-1/2", "1/0", "a/b", "1", "1/2/3", ""] {
            XCTAssertThrowsError(try ShardSpec(parsing: bad), bad)
        }
        // Slurm: the task id relative to the array's first index.
        XCTAssertEqual(
            try ShardSpec.fromEnvironment([
                "SLURM_ARRAY_TASK_ID": "12", "SLURM_ARRAY_TASK_MIN": "10", "SLURM_ARRAY_TASK_COUNT": "4",
            ]),
            try ShardSpec(index: 2, count: 4))
        XCTAssertEqual(
            try ShardSpec.fromEnvironment(["SLURM_ARRAY_TASK_ID": "1", "SLURM_ARRAY_TASK_COUNT": "2"]),
            try ShardSpec(index: 1, count: 2))
        // Kubernetes Indexed Job: the count from the option, else SIAMMASK_SHARD_COUNT.
        XCTAssertEqual(
            try ShardSpec.fromEnvironment(["JOB_COMPLETION_INDEX": "0"], count: 5), try ShardSpec(index: 0, count: 5))
        XCTAssertEqual(
            try ShardSpec.fromEnvironment(["JOB_COMPLETION_INDEX": "4", "SIAMMASK_SHARD_COUNT": "5"]),
            try ShardSpec(index: 4, count: 5))
        for (env, message) in [
            ([String: String](), "neither"), (["JOB_COMPLETION_INDEX": "1"], "shard count"),
            (["SLURM_ARRAY_TASK_ID": "1"], "SLURM_ARRAY_TASK_COUNT"),
            (["SLURM_ARRAY_TASK_ID": "x", "SLURM_ARRAY_TASK_COUNT": "2"], "not an integer"),
            (["JOB_COMPLETION_INDEX": "5", "SIAMMASK_SHARD_COUNT": "5"], "outside"),
        ] {
            XCTAssertThrowsError(try ShardSpec.fromEnvironment(env)) {
                XCTAssertTrue("\($0)".contains(message), "\(env): \($0)")
            }
        }
    }

    /// Largest first to the least-loaded shard: every sequence exactly once, loads balanced, the same answer for any
    /// input order.
    func testShardAssignmentBalancesFramesAndCoversEverySequence() {
        let seqs: [(name: String, frames: Int)] = [
            ("a", 100), ("b", 90), ("c", 10), ("d", 10), ("e", 80), ("f", 30), ("g", 30),
        ]
        let shards = ShardSpec.assignment(seqs, count: 3)
        // a100->0, b90->1, e80->2, f30->2 (110), g30->1 (120), c10->0 (110), d10->0 (tie 110/110: lowest index)
        XCTAssertEqual(shards, [["a", "c", "d"], ["b", "g"], ["e", "f"]])
        XCTAssertEqual(shards.flatMap { $0 }.sorted(), seqs.map(\.name).sorted())
        XCTAssertEqual(ShardSpec.assignment(seqs.reversed(), count: 3), shards)
        XCTAssertEqual(ShardSpec.assignment(seqs, count: 1), [seqs.map(\.name)])
        XCTAssertEqual(ShardSpec.assignment([("x", 5)], count: 3), [["x"], [], []])
    }

    func manifest(_ index: Int, of count: Int, _ mine: [String], models: [EvalModel]? = nil) -> EvalRunManifest {
        EvalRunManifest(
            kind: .vot, root: "/data/vot", sequences: ["a", "b", "c"], frameLimit: nil,
            models: models ?? [
                EvalModel(name: "m", file: "m.siam", bytes: 10, crc32c: "00000001", precision: "float32", preset: "vot")
            ],
            shard: try! ShardSpec(index: index, count: count), shardSequences: mine)
    }

    func testMergeChecksTheShardsBelongTogether() throws {
        let dir = URL(fileURLWithPath: "/x")
        let whole = try EvalRunManifest.merged([
            (dir, manifest(1, of: 2, ["b"])), (dir, manifest(0, of: 2, ["a", "c"])),
        ])
        XCTAssertEqual(whole.shard, .whole)
        XCTAssertEqual(whole.shardSequences, ["a", "b", "c"])
        XCTAssertEqual(whole, manifest(0, of: 1, ["a", "b", "c"]))
        let other = [
            EvalModel(name: "m", file: "m.siam", bytes: 10, crc32c: "00000002", precision: "float32", preset: "vot")
        ]
        for (shards, message) in [
            ([manifest(0, of: 2, ["a", "c"])], "missing shard 1/2"),
            ([manifest(0, of: 2, ["a", "c"]), manifest(0, of: 2, ["a", "c"])], "given twice"),
            ([manifest(0, of: 2, ["a"]), manifest(1, of: 2, ["b"])], "do not add up"),
            ([manifest(0, of: 2, ["a", "c"]), manifest(1, of: 2, ["b"], models: other)], "different models"),
            ([manifest(0, of: 2, ["a", "c"]), manifest(1, of: 3, ["b"])], "shards against"),
        ] {
            XCTAssertThrowsError(try EvalRunManifest.merged(shards.map { (dir, $0) })) {
                XCTAssertTrue("\($0)".contains(message), "\(message): \($0)")
            }
        }
        // The manifest survives its JSON.
        let dirURL = FileManager.default.temporaryDirectory.appendingPathComponent("manifest-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dirURL, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dirURL) }
        try manifest(1, of: 2, ["b"]).jsonData().write(to: dirURL.appendingPathComponent(EvalRunManifest.fileName))
        XCTAssertEqual(try EvalRunManifest.read(dirURL), manifest(1, of: 2, ["b"]))
        XCTAssertThrowsError(try EvalRunManifest.read(dirURL.appendingPathComponent("nothing"))) {
            XCTAssertTrue("\($0)".contains("not an eval output folder"))
        }
    }

    func otbScores(_ auc: Double, _ names: [String]) -> BenchmarkScores {
        let curve = (0...20).map { _ in auc }, precision = (0...50).map { Double($0) / 50 }
        return BenchmarkScores(
            otb: OTBScores(
                successCurve: curve, auc: auc, precisionCurve: precision, precision20: 0.4,
                sequences: names.map {
                    OTBSequenceScore(
                        name: $0, frames: 5, successCurve: curve, auc: auc, precisionCurve: precision, precision20: 0.4)
                }))
    }

    /// --compare: differences are candidate - reference, per metric and per sequence, in the JSON and the Markdown;
    /// the report has no path or time in it and survives its JSON; keys are snake_case.
    func testComparisonReportIsDeterministicAndComplete() throws {
        let models = [
            EvalModel(
                name: "fp32", file: "fp32.siam", bytes: 4, crc32c: "0000000a", precision: "float32", preset: "vot"),
            EvalModel(name: "int8", file: "int8.siam", bytes: 1, crc32c: "0000000b", precision: "int8", preset: "vot"),
        ]
        let make = {
            EvalReport.make(
                kind: .otb, datasetName: "OTB100", sequences: ["A", "B"], frames: 10, frameLimit: nil, models: models,
                scores: [self.otbScores(0.75, ["A", "B"]), self.otbScores(0.5, ["A", "B"])])
        }
        let report = make()
        let c = try XCTUnwrap(report.comparison)
        XCTAssertEqual(c.reference, "fp32")
        XCTAssertEqual(c.summary.first { $0.metric == "success_auc" }?.difference, -0.25)
        XCTAssertEqual(c.sequences.map(\.sequence), ["A", "B"])
        XCTAssertEqual(c.sequences[1].metrics[0].difference, -0.25)
        let json = try report.jsonData()
        XCTAssertEqual(json, try make().jsonData())
        XCTAssertEqual(try EvalReport.decode(json), report)
        let text = String(decoding: json, as: UTF8.self)
        for key in [
            "\"schema\" : \"siammask-eval-report\"", "\"version\" : 1", "\"success_curve\"", "\"precision20\"",
            "\"protocol_name\"", "\"crc32c\"",
        ] {
            XCTAssertTrue(text.contains(key), key)
        }
        let md = report.markdown()
        XCTAssertEqual(md, make().markdown())
        XCTAssertTrue(md.contains("| success_auc | 0.7500 | 0.5000 | -0.2500 |"), md)
        XCTAssertTrue(md.contains("| A | 0.7500 | 0.5000 | -0.2500 |"), md)
        XCTAssertTrue(md.contains("![otb-success.svg](plots/otb-success.svg)"), md)
        let plots = report.plots()
        XCTAssertEqual(plots.map(\.name), ["otb-success.svg", "otb-precision.svg", "otb-sequences.svg"])
        XCTAssertTrue(plots[0].svg.contains("fp32 (AUC 0.7500)") && plots[0].svg.contains("int8 (AUC 0.5000)"))
        XCTAssertEqual(
            plots[2].svg.components(separatedBy: "<rect x=").count - 1, 1 + 4 + 2,
            "background, 2 x 2 bars, 2 legend keys")
        // One model: no comparison in the report at all.
        let single = EvalReport.make(
            kind: .otb, datasetName: "OTB100", sequences: ["A"], frames: 5, frameLimit: 5, models: [models[0]],
            scores: [otbScores(0.75, ["A"])])
        XCTAssertNil(single.comparison)
        XCTAssertFalse(String(decoding: try single.jsonData(), as: UTF8.self).contains("comparison"))
    }
}

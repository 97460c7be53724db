import Evaluation
import Foundation
import TestSupport
import XCTest

/// The case format shared by Tools/check_metrics.py (SIAMMASK_METRICS_CASES=<folder>/cases.json) and the committed
/// golden set (Tests/Goldens/metrics-golden.json). Texts are given inline or as paths relative to the case file.
struct MetricCases: Decodable {
    struct Overlap: Decodable { var a: [Double]; var b: [Double]; var bounds: [Double]?; var reference: Double? }
    struct VOTSequence: Decodable {
        var name: String; var width: Double; var height: Double
        var result: String?; var resultPath: String?; var groundTruth: String?; var groundTruthPath: String?
    }
    struct VOTDataset: Decodable { var name: String; var sequences: [VOTSequence]; var reference: VOTReference? }
    struct VOTReference: Decodable {
        var overlaps: [[Double]]?; var accuracy: [Double?]; var failures: [Int]
        var datasetAccuracy: Double?; var eaoCurve: [Double]; var lengthRange: [Int]; var eao: Double?
    }
    struct OTBSequence: Decodable {
        var name: String
        var result: String?; var resultPath: String?; var groundTruth: String?; var groundTruthPath: String?
    }
    struct OTBDataset: Decodable { var name: String; var sequences: [OTBSequence]; var reference: OTBReference? }
    struct OTBReference: Decodable {
        var successCurves: [[Double]]; var precisionCurves: [[Double]]
        var successCurve: [Double]; var precisionCurve: [Double]; var auc: Double; var precision20: Double
    }
    struct DAVISSequence: Decodable {
        var name: String; var width: Int; var height: Int; var frames: Int; var objects: [Int]
        /// frames x height x width label bytes, base64 inline or a raw file.
        var predicted: String?; var predictedPath: String?; var groundTruth: String?; var groundTruthPath: String?
    }
    struct DAVISDataset: Decodable { var name: String; var sequences: [DAVISSequence]; var reference: DAVISReference? }
    struct DAVISReference: Decodable {
        var j: [[Double]]; var f: [[Double]]   // per object, per evaluated frame
        var jStatistics: [[Double]]; var fStatistics: [[Double]]   // per object: mean, recall, decay
        var jMean: Double; var fMean: Double; var jAndF: Double
    }
    struct Range: Decodable { var lengths: [Int]; var reference: [Int]? }
    var overlaps: [Overlap] = []
    var vot: [VOTDataset] = []
    var otb: [OTBDataset] = []
    var davis: [DAVISDataset] = []
    var ranges: [Range] = []
}

/// What our code computes for a case file (written back for the check script).
struct MetricResults: Encodable {
    struct VOTResult: Encodable { var scores: VOTScores; var overlaps: [[Double]] }
    struct DAVISResult: Encodable { var scores: DAVISScores; var j: [[Double]]; var f: [[Double]] }
    var overlaps: [Double] = []
    var vot: [VOTResult] = []
    var otb: [OTBScores] = []
    var davis: [DAVISResult] = []
    var ranges: [[Int]?] = []
}

enum MetricCaseRunner {
    static func text(_ inline: String?, _ path: String?, base: URL) throws -> String {
        if let inline { return inline }
        guard let path else { throw CocoaError(.fileNoSuchFile) }
        return try String(contentsOf: base.appendingPathComponent(path), encoding: .utf8)
    }

    static func bytes(_ inline: String?, _ path: String?, base: URL) throws -> [UInt8] {
        if let inline, let d = Data(base64Encoded: inline) { return [UInt8](d) }
        guard let path else { throw CocoaError(.fileNoSuchFile) }
        return [UInt8](try Data(contentsOf: base.appendingPathComponent(path)))
    }

    static func points(_ v: [Double]) -> [Point] {
        v.count == 4
            ? Box(x: v[0], y: v[1], width: v[2], height: v[3]).corners
            : stride(from: 0, to: v.count - 1, by: 2).map { Point(v[$0], v[$0 + 1]) }
    }

    static func lines(_ text: String) -> [String] {
        var l = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        while let last = l.last, last.trimmingCharacters(in: .whitespaces).isEmpty { l.removeLast() }
        return l
    }

    static func votInputs(_ d: MetricCases.VOTDataset, base: URL) throws -> [VOTSequenceInput] {
        try d.sequences.map { s in
            let result = try VOTMetrics.parseResult(try text(s.result, s.resultPath, base: base))
            let gt = try lines(try text(s.groundTruth, s.groundTruthPath, base: base)).enumerated().map {
                try GroundTruthParser.votLine($1, lineNumber: $0 + 1, file: s.name)
            }
            return VOTSequenceInput(name: s.name, result: result, groundTruth: gt, imageSize: (s.width, s.height))
        }
    }

    static func otbInputs(_ d: MetricCases.OTBDataset, base: URL) throws -> [OTBSequenceInput] {
        try d.sequences.map { s in
            let boxes = try OTBMetrics.parseResult(try text(s.result, s.resultPath, base: base))
            let gt = try lines(try text(s.groundTruth, s.groundTruthPath, base: base)).enumerated().map {
                try GroundTruthParser.otbLine($1, lineNumber: $0 + 1, file: s.name)
            }
            return OTBSequenceInput(name: s.name, boxes: boxes, groundTruth: gt)
        }
    }

    static func davisInputs(_ d: MetricCases.DAVISDataset, base: URL) throws -> [DAVISSequenceInput] {
        try d.sequences.map { s in
            let n = s.width * s.height
            let p = try bytes(s.predicted, s.predictedPath, base: base),
                g = try bytes(s.groundTruth, s.groundTruthPath, base: base)
            guard p.count == n * s.frames, g.count == n * s.frames else { throw CocoaError(.fileReadCorruptFile) }
            let split = { (b: [UInt8]) in (0..<s.frames).map { Array(b[($0 * n)..<(($0 + 1) * n)]) } }
            return DAVISSequenceInput(
                name: s.name, width: s.width, height: s.height, predicted: split(p),
                groundTruth: split(g), objects: s.objects)
        }
    }

    /// Per-object, per-frame J and F over the evaluated frames (1..<n-1), for frame-level comparison.
    static func davisPerFrame(_ seqs: [DAVISSequenceInput]) -> (j: [[Double]], f: [[Double]]) {
        var js: [[Double]] = [], fs: [[Double]] = []
        for s in seqs where s.groundTruth.count >= 3 {
            for k in s.objects {
                var j: [Double] = [], f: [Double] = []
                for t in 1..<(s.groundTruth.count - 1) {
                    let p = s.predicted[t].map { $0 == UInt8(k) ? UInt8(1) : 0 }
                    let g = s.groundTruth[t].map { $0 == UInt8(k) ? UInt8(1) : 0 }
                    j.append(DAVISMetrics.regionSimilarity(p, g))
                    f.append(DAVISMetrics.boundaryAccuracy(p, g, width: s.width, height: s.height))
                }
                js.append(j); fs.append(f)
            }
        }
        return (js, fs)
    }

    static func run(_ cases: MetricCases, base: URL) throws -> MetricResults {
        var out = MetricResults()
        out.overlaps = cases.overlaps.map { o in
            RegionOverlap.overlap(points(o.a), points(o.b), bounds: o.bounds.map { ($0[0], $0[1]) })
        }
        for d in cases.vot {
            let inputs = try votInputs(d, base: base)
            out.vot.append(.init(scores: VOTMetrics.score(inputs), overlaps: inputs.map(VOTMetrics.overlaps)))
        }
        out.otb = try cases.otb.map { OTBMetrics.score(try otbInputs($0, base: base)) }
        for d in cases.davis {
            let inputs = try davisInputs(d, base: base)
            let per = davisPerFrame(inputs)
            out.davis.append(.init(scores: DAVISMetrics.score(inputs), j: per.j, f: per.f))
        }
        out.ranges = cases.ranges.map { r in VOTMetrics.evaluationRange(lengths: r.lengths).map { [$0.low, $0.high] } }
        return out
    }
}

final class MetricsReferenceTests: XCTestCase {
    /// Scores the check script's cases (Tools/check_metrics.py sets SIAMMASK_METRICS_CASES to its cases.json) and
    /// writes our results beside them as ours.json; the script compares them with the reference toolkits. Without the
    /// variable (CI), the same path runs on a copy of the committed golden cases, so the hook itself stays tested.
    func testScoresTheCheckScriptsCases() throws {
        var url: URL
        if let path = ProcessInfo.processInfo.environment["SIAMMASK_METRICS_CASES"] {
            url = URL(fileURLWithPath: path)
        } else {
            let folder = FileManager.default.temporaryDirectory.appendingPathComponent(
                "metrics-cases-\(UUID().uuidString)")
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            addTeardownBlock { try? FileManager.default.removeItem(at: folder) }
            url = folder.appendingPathComponent("cases.json")
            try FileManager.default.copyItem(
                at: TestPaths.packageRoot.appendingPathComponent("Tests/Goldens/metrics-golden.json"), to: url)
        }
        let cases = try JSONDecoder().decode(MetricCases.self, from: Data(contentsOf: url))
        let results = try MetricCaseRunner.run(cases, base: url.deletingLastPathComponent())
        let encoder = JSONEncoder()
        encoder.nonConformingFloatEncodingStrategy = .convertToString(
            positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        let data = try encoder.encode(results)
        let target = url.deletingLastPathComponent().appendingPathComponent("ours.json")
        try data.write(to: target, options: .atomic)
        let written = try JSONSerialization.jsonObject(with: Data(contentsOf: target)) as? [String: Any]
        XCTAssertEqual((written?["overlaps"] as? [Any])?.count, cases.overlaps.count)
        XCTAssertEqual((written?["vot"] as? [Any])?.count, cases.vot.count)
        XCTAssertEqual((written?["davis"] as? [Any])?.count, cases.davis.count)
    }

    /// The committed golden set: inputs and the values the reference toolkits (got10k, vot-toolkit, the official
    /// DAVIS definitions) computed for them, checked without Python.
    func testMatchesCommittedReferenceGoldens() throws {
        let url = TestPaths.packageRoot.appendingPathComponent("Tests/Goldens/metrics-golden.json")
        let cases = try JSONDecoder().decode(MetricCases.self, from: Data(contentsOf: url))
        XCTAssertFalse(
            cases.overlaps.isEmpty || cases.vot.isEmpty || cases.otb.isEmpty || cases.davis.isEmpty
                || cases.ranges.isEmpty)
        let ours = try MetricCaseRunner.run(cases, base: url.deletingLastPathComponent())
        let tol = 1e-9
        for (i, o) in cases.overlaps.enumerated() {
            XCTAssertEqual(ours.overlaps[i], try XCTUnwrap(o.reference), accuracy: tol, "overlap case \(i)")
        }
        for (d, result) in zip(cases.vot, ours.vot) {
            let ref = try XCTUnwrap(d.reference)
            for (k, s) in result.scores.sequences.enumerated() {
                XCTAssertEqual(s.failures, ref.failures[k], d.name)
                XCTAssertEqual(s.accuracy == nil, ref.accuracy[k] == nil, d.name)
                if let a = s.accuracy, let r = ref.accuracy[k] {
                    XCTAssertEqual(a, r, accuracy: tol, "\(d.name) \(s.name)")
                }
            }
            if let refOverlaps = ref.overlaps {
                for (a, b) in zip(result.overlaps, refOverlaps) { assertClose(a, b, tol, "\(d.name) overlaps") }
            }
            XCTAssertEqual(result.scores.accuracy ?? .nan, ref.datasetAccuracy ?? .nan, accuracy: tol)
            assertClose(result.scores.eaoCurve, ref.eaoCurve, tol, "\(d.name) EAO curve")
            XCTAssertEqual(result.scores.lengthRange, ref.lengthRange, d.name)
            XCTAssertEqual(result.scores.eao ?? .nan, ref.eao ?? .nan, accuracy: tol, d.name)
        }
        for (d, result) in zip(cases.otb, ours.otb) {
            let ref = try XCTUnwrap(d.reference)
            for (k, s) in result.sequences.enumerated() {
                assertClose(s.successCurve, ref.successCurves[k], tol, "\(d.name) \(s.name) success")
                assertClose(s.precisionCurve, ref.precisionCurves[k], tol, "\(d.name) \(s.name) precision")
            }
            assertClose(result.successCurve, ref.successCurve, tol, d.name)
            assertClose(result.precisionCurve, ref.precisionCurve, tol, d.name)
            XCTAssertEqual(result.auc, ref.auc, accuracy: tol);
            XCTAssertEqual(result.precision20, ref.precision20, accuracy: tol)
        }
        for (d, result) in zip(cases.davis, ours.davis) {
            let ref = try XCTUnwrap(d.reference)
            for (a, b) in zip(result.j, ref.j) { assertClose(a, b, tol, "\(d.name) J") }
            for (a, b) in zip(result.f, ref.f) { assertClose(a, b, tol, "\(d.name) F") }
            for (k, o) in result.scores.objects.enumerated() {
                assertClose([o.j.mean, o.j.recall, o.j.decay], ref.jStatistics[k], tol, "\(d.name) J statistics")
                assertClose([o.f.mean, o.f.recall, o.f.decay], ref.fStatistics[k], tol, "\(d.name) F statistics")
            }
            XCTAssertEqual(result.scores.j.mean, ref.jMean, accuracy: tol)
            XCTAssertEqual(result.scores.f.mean, ref.fMean, accuracy: tol)
            XCTAssertEqual(result.scores.jAndF, ref.jAndF, accuracy: tol)
        }
        for (r, range) in zip(cases.ranges, ours.ranges) { XCTAssertEqual(range, r.reference, "\(r.lengths)") }
    }

    private func assertClose(
        _ a: [Double], _ b: [Double], _ tol: Double, _ label: String,
        file: StaticString = #filePath, line: UInt = #line
    ) {
        XCTAssertEqual(a.count, b.count, label, file: file, line: line)
        let worst = zip(a, b).map { abs($0 - $1) }.max() ?? 0
        XCTAssertLessThanOrEqual(worst, tol, label, file: file, line: line)
    }
}

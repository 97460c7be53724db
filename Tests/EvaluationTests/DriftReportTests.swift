import Evaluation
import Foundation
import TestSupport
import XCTest
#if canImport(FoundationXML)
import FoundationXML
#endif

/// Collects element names, path ids and text of an SVG; fails the parse on malformed XML.
private final class SVGCollector: NSObject, XMLParserDelegate {
    var elements: [String] = []
    var pathIDs: [String] = []
    var text = ""
    func parser(
        _ parser: XMLParser, didStartElement name: String, namespaceURI: String?, qualifiedName: String?,
        attributes: [String: String] = [:]
    ) {
        elements.append(name)
        if name == "path", let id = attributes["id"] {
            pathIDs.append(id)
            XCTAssertFalse(attributes["d", default: ""].isEmpty, "path \(id) has no data")
        }
    }
    func parser(_ parser: XMLParser, foundCharacters string: String) { text += string }
}

final class DriftReportTests: XCTestCase {
    let reference = DriftReport.ModelDescription(path: "models/davis.siam", int8Layers: 0, float32Layers: 60)
    let candidate = DriftReport.ModelDescription(path: "models/davis-int8.siam", int8Layers: 52, float32Layers: 8)

    /// Two sequences; ground truth on some frames only (b/2 has the reference's box IoU alone, which counts for neither).
    func handMadeFrames() -> [FrameDrift] {
        [
            FrameDrift(
                sequence: "a", frame: 1, boxIoU: 0.9, polygonIoU: 0.8, maskIoU: 0.7, centerErrorPx: 1,
                scoreReference: 0.9, scoreCandidate: 0.8, referenceGTBoxIoU: 0.8, candidateGTBoxIoU: 0.7),
            FrameDrift(
                sequence: "a", frame: 2, boxIoU: 0.4, polygonIoU: 0.5, maskIoU: 0.6, centerErrorPx: 5,
                scoreReference: 0.5, scoreCandidate: 0.7, referenceGTBoxIoU: 0.6, candidateGTBoxIoU: 0.5,
                referenceGTMaskIoU: 0.9, candidateGTMaskIoU: 0.8),
            FrameDrift(
                sequence: "a", frame: 3, boxIoU: 1, polygonIoU: 1, maskIoU: 1, centerErrorPx: 0,
                scoreReference: 0.6, scoreCandidate: 0.6),
            FrameDrift(
                sequence: "b <&> \"q\"", frame: 1, boxIoU: 0.6, polygonIoU: 0.6, maskIoU: 0.2, centerErrorPx: 3,
                scoreReference: 0.3, scoreCandidate: 0.4, referenceGTMaskIoU: 0.5, candidateGTMaskIoU: 0.3),
            FrameDrift(
                sequence: "b <&> \"q\"", frame: 2, boxIoU: 0.1, polygonIoU: 0.2, maskIoU: 0.5, centerErrorPx: 11,
                scoreReference: 0.2, scoreCandidate: 0.1, referenceGTBoxIoU: 0.4),
        ]
    }

    /// Twelve layers in execution order; SQNR not monotonic so the worst-10 table reorders them.
    func handMadeLayers() -> [LayerDrift] {
        let sqnrs: [Double] = [45, 38, 31, 27, 50, 22, 60, 35, 29, 41, 18, 200]
        return sqnrs.enumerated().map { i, s in
            LayerDrift(
                name: i == 11 ? "mask|out" : "layer\(i)", precision: i == 0 ? .float32 : .int8, final: i >= 10,
                cosine: 1 - pow(10, -s / 10), sqnrDB: s, maxAbsError: 0.01 * Double(i + 1),
                relativeMaxError: 0.001 * Double(i + 1), elements: 1000, frames: 5)
        }
    }

    func makeReport(budget: DriftBudget? = DriftBudget(minBoxIoUMean: 0.5, minFinalSQNRDB: 20)) -> DriftReport {
        DriftReport.make(
            reference: reference, candidate: candidate, frames: handMadeFrames(), layers: handMadeLayers(),
            budget: budget)
    }

    func testFrameDriftDerivedFields() {
        let f = FrameDrift(
            sequence: "s", frame: 4, boxIoU: 0.5, polygonIoU: 0.5, maskIoU: 0.5, centerErrorPx: 0,
            scoreReference: 0.25, scoreCandidate: 0.75)
        XCTAssertEqual(f.scoreDiff, 0.5)
        XCTAssertFalse(f.disagree, "exactly at the threshold the trackers agree")
        XCTAssertEqual(FrameDrift.disagreementBoxIoU, 0.5)
        XCTAssertTrue(
            FrameDrift(
                sequence: "s", frame: 4, boxIoU: 0.4999, polygonIoU: 0, maskIoU: 0, centerErrorPx: 0,
                scoreReference: 0, scoreCandidate: 0
            ).disagree)
        XCTAssertTrue(
            FrameDrift(
                sequence: "s", frame: 4, boxIoU: .nan, polygonIoU: 0, maskIoU: 0, centerErrorPx: 0,
                scoreReference: 0, scoreCandidate: 0
            ).disagree)
    }

    func testFrameDriftFromTrackerObservations() {
        // 4x4 frame; the candidate's box is the reference's shifted by 1 px right and its mask loses one pixel.
        var refMask = [UInt8](repeating: 0, count: 16), candMask = refMask, gtMask = refMask
        for i in [5, 6, 9, 10] { refMask[i] = 1; gtMask[i] = 1 }
        for i in [5, 6, 9] { candMask[i] = 1 }
        gtMask[11] = 1
        let ref = DriftObservation(box: Box(x: 0, y: 0, width: 2, height: 2), polygon: [], mask: refMask, score: 0.9)
        let cand = DriftObservation(
            box: Box(x: 1, y: 0, width: 2, height: 2),
            polygon: [Point(1, 0), Point(3, 0), Point(3, 2), Point(1, 2)], mask: candMask, score: 0.8)
        let f = FrameDrift(sequence: "s", frame: 1, reference: ref, candidate: cand)
        XCTAssertEqual(f.boxIoU, 1.0 / 3, accuracy: 1e-12)
        XCTAssertEqual(f.polygonIoU, 1.0 / 3, accuracy: 1e-12, "a missing polygon falls back to the box corners")
        XCTAssertEqual(f.maskIoU, 0.75)
        XCTAssertEqual(f.centerErrorPx, 1)
        XCTAssertEqual(f.scoreDiff, -0.1, accuracy: 1e-12)
        XCTAssertTrue(f.disagree)
        XCTAssertNil(f.referenceGTBoxIoU); XCTAssertNil(f.candidateGTBoxIoU)
        XCTAssertNil(f.referenceGTMaskIoU); XCTAssertNil(f.candidateGTMaskIoU)

        let g = FrameDrift(
            sequence: "s", frame: 1, reference: ref, candidate: cand,
            groundTruthBox: Box(x: 0, y: 0, width: 2, height: 2), groundTruthMask: gtMask)
        XCTAssertEqual(g.referenceGTBoxIoU, 1)
        XCTAssertEqual(g.candidateGTBoxIoU!, 1.0 / 3, accuracy: 1e-12)
        XCTAssertEqual(g.referenceGTMaskIoU, 0.8)
        XCTAssertEqual(g.candidateGTMaskIoU, 0.6)
    }

    func testSummaryFieldsFromHandMadeFrames() throws {
        let report = makeReport()
        let s = report.summary
        XCTAssertEqual(s.frames, 5)
        XCTAssertEqual(s.sequences, 2)
        XCTAssertEqual(s.boxIoUMean, 0.6, accuracy: 1e-12)
        XCTAssertEqual(s.boxIoUMin, 0.1)
        XCTAssertEqual(s.polygonIoUMean, 0.62, accuracy: 1e-12)
        XCTAssertEqual(s.maskIoUMean, 0.6, accuracy: 1e-12)
        XCTAssertEqual(s.maskIoUMin, 0.2)
        XCTAssertEqual(s.centerErrorPxMean, 4, accuracy: 1e-12)
        XCTAssertEqual(s.centerErrorPxMax, 11)
        XCTAssertEqual(s.scoreDiffMeanAbs, 0.1, accuracy: 1e-12)
        XCTAssertEqual(s.disagreeingFrames, 2)
        let a = try XCTUnwrap(s.accuracy)
        XCTAssertEqual(a.framesWithBoxGT, 2)
        XCTAssertEqual(a.framesWithMaskGT, 2)
        XCTAssertEqual(a.reference.boxIoUMean, 0.7, accuracy: 1e-12)
        XCTAssertEqual(a.candidate.boxIoUMean, 0.6, accuracy: 1e-12)
        XCTAssertEqual(a.reference.maskIoUMean, 0.7, accuracy: 1e-12)
        XCTAssertEqual(a.candidate.maskIoUMean, 0.55, accuracy: 1e-12)

        XCTAssertEqual(report.sequences.map(\.name), ["a", "b <&> \"q\""])
        let sa = report.sequences[0].summary, sb = report.sequences[1].summary
        XCTAssertEqual(sa.frames, 3); XCTAssertEqual(sa.sequences, 1)
        XCTAssertEqual(sa.boxIoUMean, 2.3 / 3, accuracy: 1e-12)
        XCTAssertEqual(sa.centerErrorPxMax, 5)
        XCTAssertEqual(sa.disagreeingFrames, 1)
        XCTAssertEqual(sa.accuracy?.framesWithBoxGT, 2)
        XCTAssertEqual(sa.accuracy?.framesWithMaskGT, 1)
        XCTAssertEqual(sb.frames, 2)
        XCTAssertEqual(sb.boxIoUMean, 0.35, accuracy: 1e-12)
        XCTAssertEqual(sb.centerErrorPxMean, 7, accuracy: 1e-12)
        XCTAssertEqual(sb.maskIoUMin, 0.2)
        XCTAssertEqual(sb.accuracy?.framesWithBoxGT, 0)
        XCTAssertEqual(sb.accuracy?.reference.boxIoUMean, 0)
        XCTAssertEqual(sb.accuracy?.candidate.maskIoUMean ?? -1, 0.3, accuracy: 1e-12)

        // Budget: box IoU 0.6 >= 0.5 passes; final layers 10 (18 dB) fails, 11 (200 dB) passes.
        XCTAssertEqual(report.budgetViolations, ["Output layer10 has SQNR 18.00 dB, below the minimum 20.00 dB."])
        XCTAssertFalse(report.passed)
        XCTAssertEqual(report.layers.map(\.name), handMadeLayers().map(\.name), "execution order kept")
        XCTAssertEqual(report.format, "siammask-drift")
        XCTAssertEqual(report.version, 1)
        XCTAssertEqual(report.candidate.precision, "mixed")
        XCTAssertEqual(report.reference.precision, "float32")
        XCTAssertEqual(DriftReport.ModelDescription.precision(int8Layers: 3, float32Layers: 0), "int8")
        XCTAssertTrue(makeReport(budget: nil).passed)
    }

    func testZeroFramesGiveZerosNotNaN() throws {
        let r = DriftReport.make(
            reference: reference, candidate: candidate, frames: [], layers: [],
            budget: DriftBudget(minBoxIoUMean: 0.9))
        let s = r.summary
        XCTAssertEqual(s.frames, 0); XCTAssertEqual(s.sequences, 0)
        for v in [
            s.boxIoUMean, s.boxIoUMin, s.polygonIoUMean, s.maskIoUMean, s.maskIoUMin, s.centerErrorPxMean,
            s.centerErrorPxMax, s.scoreDiffMeanAbs,
        ] {
            XCTAssertEqual(v, 0)
        }
        XCTAssertNil(s.accuracy)
        XCTAssertTrue(r.sequences.isEmpty)
        XCTAssertFalse(r.passed, "nothing measured cannot meet a tracking budget")
        // Still writes all three files.
        let dir = try TestPaths.temporaryDirectory("drift-empty")
        defer { try? FileManager.default.removeItem(at: dir) }
        try r.write(to: dir)
        XCTAssertEqual(try DriftReport.read(from: dir.appendingPathComponent("drift.json")), r)
        let collector = SVGCollector()
        let parser = XMLParser(data: Data(r.svg().utf8))
        parser.delegate = collector
        XCTAssertTrue(parser.parse(), "\(parser.parserError.map { "\($0)" } ?? "")")
        XCTAssertTrue(collector.text.contains("no tracked frames"))
    }

    func testWritesJSONWithTheRequiredKeysIntoAMissingDirectory() throws {
        let root = try TestPaths.temporaryDirectory("drift")
        defer { try? FileManager.default.removeItem(at: root) }
        let dir = root.appendingPathComponent("runs/int8")
        let report = makeReport()
        let urls = try report.write(to: dir)
        XCTAssertEqual(urls.map(\.lastPathComponent), ["drift.json", "drift.svg", "drift.md"])
        XCTAssertEqual(
            try FileManager.default.contentsOfDirectory(atPath: dir.path).sorted(),
            ["drift.json", "drift.md", "drift.svg"], "no temporary files left behind")

        let data = try Data(contentsOf: dir.appendingPathComponent("drift.json"))
        let json = try XCTUnwrap(JSONSerialization.jsonObject(with: data) as? [String: Any])
        XCTAssertEqual(
            Set(json.keys),
            [
                "format", "version", "reference", "candidate", "budget", "budget_violations",
                "passed", "summary", "sequences", "layers", "frames", "mode",
            ])
        XCTAssertEqual(json["format"] as? String, "siammask-drift")
        XCTAssertEqual(json["version"] as? Int, 1)
        XCTAssertEqual(json["passed"] as? Bool, false)
        let model = try XCTUnwrap(json["candidate"] as? [String: Any])
        XCTAssertEqual(Set(model.keys), ["path", "precision", "int8_layers", "float32_layers"])
        XCTAssertEqual(model["int8_layers"] as? Int, 52)

        let summary = try XCTUnwrap(json["summary"] as? [String: Any])
        XCTAssertEqual(
            Set(summary.keys),
            [
                "frames", "sequences", "box_iou_mean", "box_iou_min", "polygon_iou_mean",
                "mask_iou_mean", "mask_iou_min", "center_error_px_mean", "center_error_px_max",
                "score_diff_mean_abs", "disagreeing_frames", "accuracy",
            ])
        XCTAssertEqual(summary["frames"] as? Int, 5)
        XCTAssertEqual(try XCTUnwrap(summary["box_iou_mean"] as? Double), 0.6, accuracy: 1e-12)
        XCTAssertEqual(try XCTUnwrap(summary["mask_iou_mean"] as? Double), 0.6, accuracy: 1e-12)
        XCTAssertEqual(try XCTUnwrap(summary["center_error_px_mean"] as? Double), 4, accuracy: 1e-12)
        let accuracy = try XCTUnwrap(summary["accuracy"] as? [String: Any])
        XCTAssertEqual(Set(accuracy.keys), ["reference", "candidate", "frames_with_box_gt", "frames_with_mask_gt"])
        XCTAssertEqual(
            Set(try XCTUnwrap(accuracy["reference"] as? [String: Any]).keys), ["box_iou_mean", "mask_iou_mean"])

        let sequences = try XCTUnwrap(json["sequences"] as? [[String: Any]])
        XCTAssertEqual(sequences.count, 2)
        XCTAssertEqual(Set(sequences[1].keys), Set(summary.keys).union(["name"]), "name beside the summary fields")
        XCTAssertEqual(sequences[1]["name"] as? String, "b <&> \"q\"")

        let layers = try XCTUnwrap(json["layers"] as? [[String: Any]])
        XCTAssertEqual(layers.count, 12)
        XCTAssertEqual(
            Set(layers[0].keys),
            [
                "name", "precision", "final", "cosine", "sqnr_db", "max_abs_error",
                "relative_max_error", "elements", "frames", "non_finite_elements",
            ])
        for (i, l) in layers.enumerated() {
            XCTAssertEqual(l["name"] as? String, handMadeLayers()[i].name)
            XCTAssertNotNil(l["precision"] as? String)
            XCTAssertNotNil(l["cosine"] as? Double)
            XCTAssertNotNil(l["sqnr_db"] as? Double)
        }
        XCTAssertEqual(layers[0]["precision"] as? String, "float32")
        XCTAssertEqual(layers[1]["precision"] as? String, "int8")
        XCTAssertEqual(layers[11]["final"] as? Bool, true)

        let frames = try XCTUnwrap(json["frames"] as? [[String: Any]])
        XCTAssertEqual(frames.count, 5)
        XCTAssertEqual(
            Set(frames[2].keys),
            [
                "sequence", "frame", "box_iou", "polygon_iou", "mask_iou", "center_error_px",
                "score_reference", "score_candidate", "score_diff", "disagree",
                "reference_gt_box_iou", "candidate_gt_box_iou", "reference_gt_mask_iou",
                "candidate_gt_mask_iou",
            ])
        XCTAssertTrue(frames[2]["reference_gt_box_iou"] is NSNull, "absent ground truth is an explicit null")
        XCTAssertEqual(frames[0]["reference_gt_box_iou"] as? Double, 0.8)
        XCTAssertEqual(frames[1]["disagree"] as? Bool, true)

        let budget = try XCTUnwrap(json["budget"] as? [String: Any])
        XCTAssertEqual(budget["min_box_iou_mean"] as? Double, 0.5)
        XCTAssertEqual((json["budget_violations"] as? [String])?.count, 1)

        // Pretty-printed with sorted keys, and the decoded report equals the written one.
        let text = String(decoding: data, as: UTF8.self)
        XCTAssertTrue(text.hasPrefix("{\n  \"budget\""), String(text.prefix(40)))
        XCTAssertEqual(try DriftReport.read(from: dir.appendingPathComponent("drift.json")), report)
        let unbudgeted = try JSONSerialization.jsonObject(with: makeReport(budget: nil).jsonData()) as! [String: Any]
        XCTAssertTrue(unbudgeted["budget"] is NSNull)

        // Writing again replaces the files and still leaves no temporaries.
        try makeReport(budget: nil).write(to: dir)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir.path).count, 3)
        XCTAssertEqual(try DriftReport.read(from: dir.appendingPathComponent("drift.json")).budget, nil)
    }

    func testRejectsOtherFormats() throws {
        var json = try JSONSerialization.jsonObject(with: makeReport().jsonData()) as! [String: Any]
        json["version"] = 2
        XCTAssertThrowsError(
            try JSONDecoder().decode(DriftReport.self, from: JSONSerialization.data(withJSONObject: json)))
        json["version"] = 1
        json["format"] = "something-else"
        XCTAssertThrowsError(
            try JSONDecoder().decode(DriftReport.self, from: JSONSerialization.data(withJSONObject: json)))
    }

    func testSVGIsValidXMLWithAPathPerSeries() throws {
        let report = makeReport()
        let svg = report.svg()
        let collector = SVGCollector()
        let parser = XMLParser(data: Data(svg.utf8))
        parser.delegate = collector
        XCTAssertTrue(parser.parse(), "\(parser.parserError.map { "\($0)" } ?? "")")
        XCTAssertEqual(collector.elements.first, "svg")
        XCTAssertEqual(
            collector.pathIDs, ["series-box-iou", "series-polygon-iou", "series-mask-iou", "series-center-error"])
        // The sequence name survives escaping, the legend names each series and the disagreement marker.
        XCTAssertTrue(collector.text.contains("b <&> \"q\""))
        for label in ["box IoU", "polygon IoU", "mask IoU", "centre error (px)", "trackers disagree"] {
            XCTAssertTrue(collector.text.contains(label), label)
        }
        // One sub-path per sequence in each series; two disagreeing runs (frames 2 and 5), a band in each panel.
        let boxPath = try XCTUnwrap(svg.split(separator: "\n").first { $0.contains("id=\"series-box-iou\"") })
        XCTAssertEqual(boxPath.filter { $0 == "M" }.count, 2)
        XCTAssertEqual(boxPath.filter { $0 == "L" }.count, 3)
        let disagreements = try XCTUnwrap(
            svg.components(separatedBy: "<g id=\"disagreements\"").last?
                .components(separatedBy: "</g>").first)
        XCTAssertEqual(disagreements.components(separatedBy: "<rect").count - 1, 4)
        // One dashed boundary line between the two sequences.
        XCTAssertEqual(svg.components(separatedBy: "stroke-dasharray").count - 1, 1)
        XCTAssertTrue(collector.text.contains("tracked frame"))
    }

    func testMarkdownHasVerdictTablesAndPlot() throws {
        let md = makeReport().markdown()
        XCTAssertTrue(md.hasPrefix("# Drift report"))
        XCTAssertTrue(md.contains("**FAILED**"))
        XCTAssertTrue(md.contains("- Output layer10 has SQNR 18.00 dB, below the minimum 20.00 dB."))
        for heading in [
            "## Summary", "## Per sequence", "## Accuracy against ground truth", "## Layers",
            "### Worst 10 by SQNR", "### All layers (execution order)",
        ] {
            XCTAssertTrue(md.contains("\n" + heading + "\n"), heading)
        }
        XCTAssertTrue(md.contains("| box IoU mean | 0.6000 |"))
        XCTAssertTrue(md.contains("| tracked frames | 5 |"))
        XCTAssertTrue(md.contains("| box IoU mean | 2 | 0.7000 | 0.6000 | -0.1000 |"))
        XCTAssertTrue(md.contains("| mask IoU mean | 2 | 0.7000 | 0.5500 | -0.1500 |"))
        XCTAssertTrue(md.contains("| b &lt;&amp;&gt; \"q\" | 2 |"), "HTML-like names are escaped")
        XCTAssertTrue(md.contains("`mask\\|out`"), "pipes in names are escaped")
        XCTAssertTrue(md.contains("![per-frame drift](drift.svg)"))

        // Worst table: ten rows, lowest SQNR first; full table: all twelve in execution order.
        let worst = md.components(separatedBy: "### Worst 10 by SQNR")[1].components(separatedBy: "###")[0]
        let worstNames = worst.split(separator: "\n").filter { $0.hasPrefix("| `") }
            .map { $0.split(separator: "`")[1] }
        XCTAssertEqual(
            worstNames,
            [
                "layer10", "layer5", "layer3", "layer8", "layer2", "layer7", "layer1", "layer9",
                "layer0", "layer4",
            ])
        let all = md.components(separatedBy: "### All layers (execution order)")[1].components(separatedBy: "##")[0]
        let allNames = all.split(separator: "\n").filter { $0.hasPrefix("| `") }.map {
            String($0.split(separator: "`")[1])
        }
        XCTAssertEqual(allNames, handMadeLayers().map { $0.name.replacingOccurrences(of: "|", with: "\\|") })
        XCTAssertTrue(all.contains("≥ 200"))

        XCTAssertTrue(makeReport(budget: nil).markdown().contains("**PASSED** (no budget given)."))
        XCTAssertTrue(
            makeReport(budget: DriftBudget(minBoxIoUMean: 0.5)).markdown()
                .contains("**PASSED**: within the budget `box_iou=0.5`."))
        // Without any ground truth there is no accuracy table.
        let noGT = DriftReport.make(
            reference: reference, candidate: candidate,
            frames: [handMadeFrames()[2]], layers: [], budget: nil)
        XCTAssertFalse(noGT.markdown().contains("## Accuracy against ground truth"))
    }
}

import Evaluation
import Foundation
import XCTest

final class MetricsOTBTests: XCTestCase {
    let truth = Box(x: 0, y: 0, width: 10, height: 10)

    func testParseAndFormatAreOneBasedLikeGot10k() throws {
        XCTAssertEqual(
            try OTBMetrics.parseResult("1.000,2.000,3.000,4.000\n5\t6\t7\t8\n"),
            [Box(x: 0, y: 1, width: 3, height: 4), Box(x: 4, y: 5, width: 7, height: 8)])
        XCTAssertEqual(
            OTBMetrics.formatResult([Box(x: 0, y: 1.5, width: 3.25, height: 4)]), "1.000,2.500,3.250,4.000\n")
        XCTAssertThrowsError(try OTBMetrics.parseResult("1,2,3,4\n1,2,3\n")) { error in
            XCTAssertEqual(error as? OTBResultError, .badLine(line: 2, detail: "expected x,y,w,h, found 3 values"))
        }
        XCTAssertThrowsError(try OTBMetrics.parseResult("1,2,nan,4\n"))
    }

    func testCurvesByHand() {
        // Frame 0 is replaced by the ground truth (IoU 1, error 0); frame 1 has IoU 0.5 and a centre 2.5 px off;
        // frame 2 has no ground truth (fails every threshold but counts).
        let s = OTBSequenceInput(
            name: "s",
            boxes: [
                Box(x: 50, y: 50, width: 1, height: 1),
                Box(x: 0, y: 0, width: 10, height: 5), truth,
            ],
            groundTruth: [.box(truth), .box(truth), .missing])
        let r = OTBMetrics.score([s]).sequences[0]
        XCTAssertEqual(r.frames, 3)
        // Frame 0 succeeds at t < 1 (IoU 1 > 1 is false); frame 1 at t < 0.5 (0.5 > 0.5 is false).
        let success = (0..<21).map { k in (Double(k < 20 ? 1 : 0) + Double(k < 10 ? 1 : 0)) / 3 }
        XCTAssertEqual(r.successCurve, success)
        XCTAssertEqual(r.auc, success.reduce(0, +) / 21, accuracy: 1e-15)
        let precision = (0...50).map { d in (1 + Double(d >= 3 ? 1 : 0)) / 3 }
        XCTAssertEqual(r.precisionCurve, precision)
        XCTAssertEqual(r.precision20, 2.0 / 3)
    }

    func testGot10kIoUAndCentreConventions() {
        XCTAssertEqual(OTBMetrics.iou(truth, Box(x: 5, y: 0, width: 10, height: 10)), 50.0 / 150, accuracy: 1e-15)
        XCTAssertEqual(OTBMetrics.iou(truth, Box(x: 20, y: 0, width: 10, height: 10)), 0)
        // Centres are x + (w - 1) / 2: a 10-wide and a 4-wide box at one corner are 3 px apart in x and y.
        XCTAssertEqual(
            OTBMetrics.centerError(truth, Box(x: 0, y: 0, width: 4, height: 4)), 3 * 2.0.squareRoot(), accuracy: 1e-15)
        XCTAssertEqual(OTBMetrics.successThresholds[3], 3 * 0.05)
        XCTAssertEqual(OTBMetrics.successThresholds.last, 1)
    }

    func testDatasetAveragesSequenceCurvesAndCutsToTheShorterLength() {
        let good = OTBSequenceInput(
            name: "good", boxes: Array(repeating: truth, count: 4), groundTruth: Array(repeating: .box(truth), count: 4)
        )
        // A polygon ground truth becomes its bounding box; the result has one frame more than the ground truth.
        let poly = GroundTruth.polygon([Point(0, 5), Point(5, 0), Point(10, 5), Point(5, 10)])
        let far = OTBSequenceInput(
            name: "far", boxes: [truth, Box(x: 40, y: 40, width: 10, height: 10), truth],
            groundTruth: [poly, poly])
        let scores = OTBMetrics.score([good, far])
        XCTAssertEqual(scores.sequences[1].frames, 2)
        XCTAssertEqual(scores.sequences[1].successCurve[0], 0.5)
        XCTAssertEqual(scores.successCurve[0], (1 + 0.5) / 2)
        XCTAssertEqual(scores.precision20, (1 + 0.5) / 2)
        XCTAssertEqual(scores.auc, scores.successCurve.reduce(0, +) / 21, accuracy: 1e-15)
    }
}

import Evaluation
import Foundation
import XCTest

private let truthBox = Box(x: 0, y: 0, width: 10, height: 10)
private let half = VOTResultFrame.region(Box(x: 0, y: 0, width: 10, height: 5).corners)   // IoU 0.5 with truthBox
private let whole = VOTResultFrame.region(truthBox.corners)   // IoU 1

/// A: 30 frames; init, IoU 0.5 on 1-14, failure at 15, skipped 16-19, re-init at 20, IoU 1 on 21-29.
private func sequenceA() -> VOTSequenceInput {
    var r: [VOTResultFrame] = [.initialization] + Array(repeating: half, count: 14) + [.failure]
    r += Array(repeating: .skipped, count: 4) + [.initialization] + Array(repeating: whole, count: 9)
    return VOTSequenceInput(
        name: "A", result: r, groundTruth: Array(repeating: .polygon(truthBox.corners), count: 30),
        imageSize: (100, 100))
}

/// B: 20 frames; init, IoU 1 on 1-4, failure at 5, skipped 6-9, re-init at 10, IoU 1 on 11-19.
private func sequenceB() -> VOTSequenceInput {
    var r: [VOTResultFrame] = [.initialization] + Array(repeating: whole, count: 4) + [.failure]
    r += Array(repeating: .skipped, count: 4) + [.initialization] + Array(repeating: whole, count: 9)
    return VOTSequenceInput(
        name: "B", result: r, groundTruth: Array(repeating: .box(truthBox), count: 20),
        imageSize: (100, 100))
}

final class MetricsVOTTests: XCTestCase {
    func testParseAndFormatToolkitResultFiles() throws {
        let text = "1\n0.1235,2,3.5,4,5,6.25,7,8\n10,20,30,40\n2\n0\n"
        let frames = try VOTMetrics.parseResult(text)
        XCTAssertEqual(
            frames,
            [
                .initialization,
                .region([Point(0.1235, 2), Point(3.5, 4), Point(5, 6.25), Point(7, 8)]),
                .region(Box(x: 10, y: 20, width: 30, height: 40).corners),
                .failure, .skipped,
            ])
        XCTAssertEqual(VOTMetrics.formatResult([.initialization, .failure, .skipped]), "1\n2\n0\n")
        XCTAssertEqual(
            VOTMetrics.formatResult([.region([Point(1, 2.5), Point(-0.25, 4)])]),
            "1.0000,2.5000,-0.2500,4.0000\n")
        // tools/test.py's vot_float2str takes a C float: 0.00015 is 1.4999999999999999e-4 as a double ("0.0001")
        // but 1.50000007e-4 as a float ("0.0002").
        XCTAssertEqual(
            VOTMetrics.formatResult([.region([Point(0.00015, 0), Point(0, 0), Point(0, 0)])]),
            "0.0002,0.0000,0.0000,0.0000,0.0000,0.0000\n")
        XCTAssertEqual(try VOTMetrics.parseResult(VOTMetrics.formatResult(frames)), frames)
    }

    func testParseRejectsBadLinesWithTheLineNumber() {
        for (text, line) in [
            ("1\n3\n", 2), ("1\n\n2\n", 2), ("1\n1,2,3\n", 2), ("1,2,x,4\n", 1), ("m1,2,3\n", 1),
            ("1\nnan,1,2,3\n", 2), ("1\n1,2,3,4,5\n", 2),
        ] {
            XCTAssertThrowsError(try VOTMetrics.parseResult(text), text) { error in
                guard case .badLine(let l, _)? = error as? VOTResultError else { return XCTFail("\(error)") }
                XCTAssertEqual(l, line, text)
            }
        }
    }

    func testAccuracyExcludesBurnInFailuresSkippedAndMissingGroundTruth() {
        let a = sequenceA()
        let s = VOTMetrics.score([a]).sequences[0]
        // Valid frames: 10-14 (0-9 and 20-29 are burn-in, 15 failure, 16-19 skipped): all IoU 0.5.
        XCTAssertEqual(s.accuracy!, 0.5, accuracy: 1e-12)
        XCTAssertEqual(s.failures, 1)
        XCTAssertEqual(s.frames, 30)
        XCTAssertEqual(s.robustness, 100.0 / 30, accuracy: 1e-12)
        // Frames 10-12 without ground truth and frames 13-14 tracked at IoU 1: only 13-14 count.
        var b = a
        for i in 10...12 { b.groundTruth[i] = .missing }
        b.result[13] = whole; b.result[14] = whole
        XCTAssertEqual(VOTMetrics.score([b]).sequences[0].accuracy!, 1, accuracy: 1e-12)
        // Nothing after the burn-in: no accuracy.
        var c = a
        c.result = Array(a.result[0..<8]); c.groundTruth = Array(a.groundTruth[0..<8])
        XCTAssertNil(VOTMetrics.score([c]).sequences[0].accuracy)
    }

    func testOverlapsAreBoundedByTheImage() {
        // The region sticks out of a 10x10 image on the left; inside it equals the ground truth.
        let s = VOTSequenceInput(
            name: "edge", result: [.initialization, .region(Box(x: -10, y: 0, width: 20, height: 10).corners)],
            groundTruth: [.box(truthBox), .box(truthBox)], imageSize: (10, 10))
        XCTAssertEqual(VOTMetrics.overlaps(s), [0, 1])
    }

    func testDatasetAccuracyIsLengthWeightedAndRobustnessPerHundredFrames() {
        let scores = VOTMetrics.score([sequenceA(), sequenceB()])
        // A: 0.5 over 30 frames; B: valid frames none (0-9 and 10-19 burn-in) -> counts 0 over 20 frames, as the
        // toolkit's AverageAccuracyRobustness does.
        XCTAssertNil(scores.sequences[1].accuracy)
        XCTAssertEqual(scores.accuracy!, 0.5 * 30 / 50, accuracy: 1e-12)
        XCTAssertEqual(scores.failures, 2)
        XCTAssertEqual(scores.frames, 50)
        XCTAssertEqual(scores.robustness, 4, accuracy: 1e-12)
    }

    func testEAOCurveByHand() {
        // Runs: A1 failed (15 frames: 0, then 0.5 x 14), A2 completed (10: 0, then 1 x 9), B1 failed (5: 0, 1 x 4),
        // B2 completed (10: 0, 1 x 9).
        let curve = VOTMetrics.score([sequenceA(), sequenceB()]).eaoCurve
        XCTAssertEqual(curve.count, 15)
        XCTAssertEqual(curve[0], 0)
        for j in 1..<15 {
            let a1 = 0.5
            let b1 = Double(min(j, 4)) / Double(j)   // zeros after its failure
            let completed: [Double] = j < 10 ? [1, 1] : []   // A2 and B2 only up to their length
            let values = [a1, b1] + completed
            XCTAssertEqual(curve[j], values.reduce(0, +) / Double(values.count), accuracy: 1e-12, "length \(j + 1)")
        }
        // One sequence: the range is the whole curve after the initialisation frame.
        let one = VOTMetrics.score([sequenceA()])
        XCTAssertEqual(one.lengthRange, [1, 29])
        let c = one.eaoCurve
        XCTAssertEqual(one.eao!, c[1...].reduce(0, +) / Double(c.count - 1), accuracy: 1e-12)
    }

    func testEvaluationRangeFindsHalfTheMassAroundThePeak() {
        XCTAssertNil(VOTMetrics.evaluationRange(lengths: []))
        XCTAssertTrue(VOTMetrics.evaluationRange(lengths: [196])! == (1, 195))
        XCTAssertTrue(VOTMetrics.evaluationRange(lengths: [50, 50, 50])! == (1, 49))
        // Many lengths near 300 and a few long ones: the range must sit around 300 and hold half the density.
        let lengths = [280, 290, 295, 300, 300, 305, 310, 320, 600, 900]
        let r = VOTMetrics.evaluationRange(lengths: lengths)!
        XCTAssertLessThan(r.low, 300)
        XCTAssertGreaterThan(r.high, 300)
        XCTAssertLessThan(r.high, 600)
    }
}

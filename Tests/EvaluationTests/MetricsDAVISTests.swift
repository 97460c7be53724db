@testable import Evaluation
import Foundation
import XCTest

/// A w x h mask with the pixels of [x0, x1] x [y0, y1] (inclusive) set to `value`.
private func rect(_ w: Int, _ h: Int, _ x0: Int, _ y0: Int, _ x1: Int, _ y1: Int, value: UInt8 = 1) -> [UInt8] {
    var m = [UInt8](repeating: 0, count: w * h)
    for y in y0...y1 { for x in x0...x1 { m[y * w + x] = value } }
    return m
}

final class MetricsDAVISTests: XCTestCase {
    func testRegionSimilarity() {
        let e = [UInt8](repeating: 0, count: 16)
        XCTAssertEqual(DAVISMetrics.regionSimilarity(e, e), 1, "both empty")
        XCTAssertEqual(DAVISMetrics.regionSimilarity(rect(4, 4, 0, 0, 1, 3), rect(4, 4, 0, 0, 3, 3, value: 7)), 0.5)
        XCTAssertEqual(DAVISMetrics.regionSimilarity(e, rect(4, 4, 0, 0, 0, 0)), 0)
    }

    func testBoundaryMapIsSeg2bmap() {
        // A 2x2 square at (1,1) in 4x4: the boundary is the ring from (0,0) to (2,2), offset towards the origin.
        let b = DAVISMetrics.boundaryMap(rect(4, 4, 1, 1, 2, 2), width: 4, height: 4)
        XCTAssertEqual(
            b,
            [
                1, 1, 1, 0,
                1, 0, 1, 0,
                1, 1, 1, 0,
                0, 0, 0, 0,
            ])
        // Touching the last row and column: the last row compares east only, the last column south only.
        let c = DAVISMetrics.boundaryMap(rect(3, 3, 1, 1, 2, 2), width: 3, height: 3)
        XCTAssertEqual(
            c,
            [
                1, 1, 1,
                1, 0, 0,
                1, 0, 0,
            ])
    }

    func testDilationIsTheDiskOfSkimage() {
        // disk(2): dx² + dy² <= 4, 13 pixels.
        var m = [UInt8](repeating: 0, count: 49); m[3 * 7 + 3] = 1
        let d = DAVISMetrics.dilate(m, width: 7, height: 7, radius: 2)
        XCTAssertEqual(d.reduce(0) { $0 + Int($1) }, 13)
        XCTAssertEqual(d[1 * 7 + 3], 1); XCTAssertEqual(d[2 * 7 + 2], 1); XCTAssertEqual(d[1 * 7 + 2], 0)
    }

    func testBoundaryFByHand() {
        // 10x10 squares in a 40x40 image (radius ceil(0.008 * 56.6) = 1: the 4-neighbourhood), the prediction
        // shifted right by 2 px. Each 40-pixel boundary ring matches the other on 22 pixels (top and bottom rows but
        // one pixel, plus the two pixels next to them on the near column): P = R = F = 22/40.
        let gt = rect(40, 40, 10, 10, 19, 19), pred = rect(40, 40, 12, 10, 21, 19)
        XCTAssertEqual(DAVISMetrics.boundaryAccuracy(pred, gt, width: 40, height: 40), 0.55, accuracy: 1e-15)
        XCTAssertEqual(
            DAVISMetrics.boundaryAccuracy(pred, gt, width: 40, height: 40, boundThreshold: 1), 0.55, accuracy: 1e-15)
        // With radius 2 every pixel of each ring is within reach of the other.
        XCTAssertEqual(DAVISMetrics.boundaryAccuracy(pred, gt, width: 40, height: 40, boundThreshold: 2), 1)
        XCTAssertEqual(DAVISMetrics.boundaryAccuracy(gt, gt, width: 40, height: 40), 1)
        let empty = [UInt8](repeating: 0, count: 1600)
        XCTAssertEqual(DAVISMetrics.boundaryAccuracy(empty, empty, width: 40, height: 40), 1)
        XCTAssertEqual(DAVISMetrics.boundaryAccuracy(empty, gt, width: 40, height: 40), 0)
        XCTAssertEqual(DAVISMetrics.boundaryAccuracy(gt, empty, width: 40, height: 40), 0)
        XCTAssertEqual(DAVISMetrics.boundaryAccuracy(rect(40, 40, 0, 0, 3, 3), gt, width: 40, height: 40), 0)
    }

    func testStatisticsByHand() {
        let s = DAVISMetrics.statistics([0.2, 0.4, 0.6, 0.8, 1.0])
        XCTAssertEqual(s.mean, 0.6, accuracy: 1e-15)
        XCTAssertEqual(s.recall, 0.6, accuracy: 1e-15)
        XCTAssertEqual(s.decay, 0.3 - 0.9, accuracy: 1e-15)
        // n = 7: linspace(1, 7, 5) = 1, 2.5, 4, 5.5, 7 rounds (after + 1e-10) to 1, 3, 4, 6, 7: bins 0...2 and 5...6.
        let t = DAVISMetrics.statistics((0...6).map { Double($0) / 6 })
        XCTAssertEqual(t.decay, 1.0 / 6 - 11.0 / 12, accuracy: 1e-15)
        // NaN is left out of the means but counts as a miss in recall.
        let u = DAVISMetrics.statistics([1, .nan, 0])
        XCTAssertEqual(u.mean, 0.5); XCTAssertEqual(u.recall, 1.0 / 3)
        XCTAssertTrue(DAVISMetrics.statistics([]).mean.isNaN)
    }

    func testScoreLeavesOutFirstAndLastFramesAndAveragesObjects() {
        let w = 40, h = 40
        let gt = zip(rect(w, h, 10, 10, 19, 19, value: 1), rect(w, h, 25, 25, 34, 34, value: 2)).map { $0 | $1 }
        let wrong = [UInt8](repeating: 0, count: w * h)
        // Object 1 perfect on the middle frame only, object 2 never found: first and last frames do not count.
        let s = DAVISSequenceInput(
            name: "seq", width: w, height: h, predicted: [wrong, rect(w, h, 10, 10, 19, 19), wrong],
            groundTruth: [gt, gt, gt], objects: [1, 2])
        let scores = DAVISMetrics.score([s])
        XCTAssertEqual(scores.objects.map(\.object), [1, 2])
        XCTAssertEqual(scores.objects[0].j.mean, 1); XCTAssertEqual(scores.objects[0].f.mean, 1)
        XCTAssertEqual(scores.objects[1].j.mean, 0); XCTAssertEqual(scores.objects[1].f.mean, 0)
        XCTAssertEqual(scores.j.mean, 0.5); XCTAssertEqual(scores.f.mean, 0.5); XCTAssertEqual(scores.jAndF, 0.5)
        // Too short to have a middle frame: no object.
        let short = DAVISSequenceInput(
            name: "short", width: w, height: h, predicted: [gt, gt], groundTruth: [gt, gt], objects: [1])
        XCTAssertTrue(DAVISMetrics.score([short]).objects.isEmpty)
    }
}

import Evaluation
import Foundation
import TestSupport
import XCTest

/// Straightforward Double sums to check the unrolled accumulator against.
private struct BruteForce {
    var rr = 0.0, ee = 0.0, rc = 0.0, cc = 0.0, maxErr = 0.0, maxRef = 0.0, count = 0, skipped = 0
    mutating func add(_ r: [Float], _ c: [Float]) {
        for i in 0..<r.count {
            if !r[i].isFinite || !c[i].isFinite { skipped += 1; continue }
            let a = Double(r[i]), b = Double(c[i])
            rr += a * a; ee += (b - a) * (b - a); rc += a * b; cc += b * b
            maxErr = max(maxErr, abs(b - a)); maxRef = max(maxRef, abs(a)); count += 1
        }
    }
}

private func randomFloats(_ n: Int, _ g: inout SeededGenerator, scale: Float = 1) -> [Float] {
    (0..<n).map { _ in Float.random(in: -scale...scale, using: &g) }
}

final class DriftAccumulatorTests: XCTestCase {
    func testMatchesBruteForceOnSeededRandomData() {
        var g = SeededGenerator(seed: 20240611)
        var acc = LayerDriftAccumulator()
        var brute = BruteForce()
        // Odd sizes exercise the unrolled tail; 150_001 crosses two block boundaries.
        for n in [1, 3, 7, 150_001, 4096, 0, 33] {
            let r = randomFloats(n, &g, scale: 4)
            let c = r.map { $0 + Float.random(in: -0.05...0.05, using: &g) }
            acc.add(reference: r, candidate: c)
            brute.add(r, c)
        }
        XCTAssertEqual(acc.frames, 7)
        XCTAssertEqual(acc.elements, brute.count)
        XCTAssertEqual(acc.nonFiniteElements, 0)
        XCTAssertEqual(acc.sumReferenceSquared, brute.rr, accuracy: brute.rr * 1e-12)
        XCTAssertEqual(acc.sumErrorSquared, brute.ee, accuracy: brute.ee * 1e-12)
        XCTAssertEqual(acc.dot, brute.rc, accuracy: brute.rc * 1e-12)
        XCTAssertEqual(acc.sumCandidateSquared, brute.cc, accuracy: brute.cc * 1e-12)
        XCTAssertEqual(acc.maxAbsError, brute.maxErr)
        XCTAssertEqual(acc.maxAbsReference, brute.maxRef)
        XCTAssertEqual(acc.cosine, brute.rc / (brute.rr.squareRoot() * brute.cc.squareRoot()), accuracy: 1e-12)
        XCTAssertEqual(acc.sqnrDB, 10 * log10(brute.rr / brute.ee), accuracy: 1e-9)
        XCTAssertEqual(acc.relativeMaxError, brute.maxErr / brute.maxRef, accuracy: 1e-15)
        // Uniform noise of ±0.05 on a ±4 signal: SQNR = 10 log10((16/3) / (0.0025/3)) ≈ 38 dB.
        XCTAssertEqual(acc.sqnrDB, 38.06, accuracy: 0.1)
    }

    func testIdenticalInputsGiveCosineOneAndTheCap() throws {
        var g = SeededGenerator(seed: 1)
        let r = randomFloats(1001, &g)
        var acc = LayerDriftAccumulator()
        acc.add(reference: r, candidate: r)
        XCTAssertEqual(acc.cosine, 1, accuracy: 1e-15)
        XCTAssertEqual(acc.sqnrDB, .infinity)
        XCTAssertEqual(acc.maxAbsError, 0)
        XCTAssertEqual(acc.relativeMaxError, 0)
        XCTAssertEqual(sqnrDB(reference: r, candidate: r), .infinity)

        let layer = LayerDrift(name: "x", precision: .int8, final: true, acc)
        XCTAssertEqual(layer.sqnrDB, LayerDrift.sqnrCapDB)
        XCTAssertEqual(LayerDrift.sqnrCapDB, 200)
        let json = try JSONSerialization.jsonObject(with: JSONEncoder().encode(layer)) as! [String: Any]
        XCTAssertEqual(json["sqnr_db"] as? Double, 200)
    }

    func testScaledErrorGivesKnownSQNR() {
        var g = SeededGenerator(seed: 2)
        let r = randomFloats(10_000, &g)
        // err = 0.1 ref, so SQNR = 10 log10(1 / 0.01) = 20 dB (up to the float rounding of 1.1 ref).
        let scaled = r.map { $0 * 1.1 }
        XCTAssertEqual(sqnrDB(reference: r, candidate: scaled), 20, accuracy: 1e-4)
        var acc = LayerDriftAccumulator()
        acc.add(reference: r, candidate: scaled)
        XCTAssertEqual(acc.cosine, 1, accuracy: 1e-12)
        XCTAssertEqual(acc.relativeMaxError, 0.1, accuracy: 1e-5)
        // Half the amplitude: err = -0.5 ref -> 6.02 dB; a sign flip gives cosine -1.
        XCTAssertEqual(sqnrDB(reference: r, candidate: r.map { $0 * 0.5 }), 10 * log10(4), accuracy: 1e-6)
        var flipped = LayerDriftAccumulator()
        flipped.add(reference: r, candidate: r.map { -$0 })
        XCTAssertEqual(flipped.cosine, -1, accuracy: 1e-12)
        XCTAssertEqual(flipped.sqnrDB, 10 * log10(1.0 / 4), accuracy: 1e-9)
    }

    func testZeroSignals() {
        var both = LayerDriftAccumulator()
        both.add(reference: [0, 0, 0], candidate: [0, 0, 0])
        XCTAssertEqual(both.cosine, 1)
        XCTAssertEqual(both.sqnrDB, .infinity)
        XCTAssertEqual(both.relativeMaxError, 0)

        var onlyCandidate = LayerDriftAccumulator()
        onlyCandidate.add(reference: [0, 0, 0], candidate: [0, 1, 0])
        XCTAssertEqual(onlyCandidate.cosine, 0)
        XCTAssertEqual(onlyCandidate.sqnrDB, -.infinity)
        XCTAssertEqual(onlyCandidate.relativeMaxError, .infinity)
        let layer = LayerDrift(name: "z", precision: .float32, final: false, onlyCandidate)
        XCTAssertEqual(layer.sqnrDB, -LayerDrift.sqnrCapDB)
        XCTAssertEqual(layer.relativeMaxError, LayerDrift.relativeErrorCap)
        XCTAssertNoThrow(try JSONEncoder().encode(layer))
    }

    func testNonFiniteValuesAreSkippedAndCounted() {
        var g = SeededGenerator(seed: 3)
        var r = randomFloats(70_000, &g)
        var c = r.map { $0 + 0.01 }
        r[5] = .nan; c[100] = .infinity; c[69_999] = -.infinity; r[65_537] = .nan; c[65_537] = .nan
        var acc = LayerDriftAccumulator()
        acc.add(reference: r, candidate: c)
        var brute = BruteForce()
        brute.add(r, c)
        XCTAssertEqual(acc.nonFiniteElements, 4)
        XCTAssertEqual(acc.elements, 70_000 - 4)
        XCTAssertEqual(acc.sumReferenceSquared, brute.rr, accuracy: brute.rr * 1e-12)
        XCTAssertEqual(acc.sumErrorSquared, brute.ee, accuracy: brute.ee * 1e-12)
        XCTAssertEqual(acc.maxAbsError, brute.maxErr)
        XCTAssertTrue(acc.sqnrDB.isFinite && acc.cosine.isFinite)
    }

    func testMergeEqualsSequentialAddsAndEmptyFramesCount() {
        var g = SeededGenerator(seed: 4)
        let frames = (0..<3).map { _ in (randomFloats(513, &g), randomFloats(513, &g)) }
        var sequential = LayerDriftAccumulator()
        var merged = LayerDriftAccumulator()
        for (r, c) in frames {
            sequential.add(reference: r, candidate: c)
            var one = LayerDriftAccumulator()
            one.add(reference: r, candidate: c)
            merged.merge(one)
        }
        XCTAssertEqual(merged.frames, 3)
        XCTAssertEqual(merged.elements, sequential.elements)
        XCTAssertEqual(merged.sumErrorSquared, sequential.sumErrorSquared, accuracy: 1e-9)
        XCTAssertEqual(merged.maxAbsError, sequential.maxAbsError)

        var empty = LayerDriftAccumulator()
        empty.add(reference: [], candidate: [])
        XCTAssertEqual(empty.frames, 1)
        XCTAssertEqual(empty.elements, 0)
        XCTAssertEqual(empty.cosine, 1)
    }
}

final class DriftGeometryTests: XCTestCase {
    typealias P = (x: Double, y: Double)

    func square(_ x: Double, _ y: Double, _ side: Double) -> [P] {
        [(x, y), (x + side, y), (x + side, y + side), (x, y + side)]
    }

    func testKnownPolygonOverlaps() {
        let s = square(0, 0, 2)
        XCTAssertEqual(polygonIntersectionOverUnion(s, s), 1, accuracy: 1e-12)
        XCTAssertEqual(polygonIntersectionOverUnion(s, square(5, 5, 2)), 0)
        // Touching along an edge: no area in common.
        XCTAssertEqual(polygonIntersectionOverUnion(s, square(2, 0, 2)), 0, accuracy: 1e-12)
        // Shifted by half a side: intersection 2, union 6.
        XCTAssertEqual(polygonIntersectionOverUnion(s, square(1, 0, 2)), 1.0 / 3, accuracy: 1e-12)
        // Contained: area ratio.
        XCTAssertEqual(polygonIntersectionOverUnion(s, square(0.5, 0.5, 1)), 0.25, accuracy: 1e-12)
        // Its copy rotated 45° about the centre: an octagon of area 8√2 − 8 over a union of 16 − 8√2, i.e. 1/√2.
        let r = 2.0.squareRoot()
        let diamond: [P] = [(1 + r, 1), (1, 1 + r), (1 - r, 1), (1, 1 - r)]
        XCTAssertEqual(polygonIntersectionOverUnion(s, diamond), 1 / r, accuracy: 1e-12)
    }

    func testWindingAndStartingCornerDoNotMatter() {
        let a = square(0, 0, 2)
        let b: [P] = [(1, 0.5), (3, 0.5), (3, 2.5), (1, 2.5)]
        let expected = 1.5 * 1.0 / (4 + 4 - 1.5)
        for aa in [a, Array(a.reversed()), Array(a[2...] + a[..<2])] {
            for bb in [b, Array(b.reversed()), Array(b[1...] + b[..<1])] {
                XCTAssertEqual(polygonIntersectionOverUnion(aa, bb), expected, accuracy: 1e-12)
                XCTAssertEqual(polygonIntersectionOverUnion(bb, aa), expected, accuracy: 1e-12)
            }
        }
    }

    func testDegeneratePolygons() {
        let s = square(0, 0, 2)
        let line: [P] = [(0, 0), (1, 1), (2, 2), (3, 3)]
        XCTAssertEqual(polygonIntersectionOverUnion(s, line), 0)
        XCTAssertEqual(polygonIntersectionOverUnion(line, s), 0)
        XCTAssertEqual(polygonIntersectionOverUnion(s, [(0, 0), (1, 1)]), 0)
        XCTAssertEqual(polygonIntersectionOverUnion(s, []), 0)
        XCTAssertEqual(polygonIntersectionOverUnion(s, [(0, 0), (.nan, 1), (2, 2), (0, 2)]), 0)
        // Both degenerate: agree only when the corners are the same.
        XCTAssertEqual(polygonIntersectionOverUnion(line, Array(line.reversed())), 1)
        XCTAssertEqual(polygonIntersectionOverUnion([P](), []), 1)
        XCTAssertEqual(polygonIntersectionOverUnion(line, [(0, 0), (1, 1), (2, 2), (4, 4)]), 0)
        // The Point overload agrees.
        XCTAssertEqual(
            polygonIntersectionOverUnion(s.map { Point($0.x, $0.y) }, square(1, 0, 2).map { Point($0.x, $0.y) }),
            1.0 / 3, accuracy: 1e-12)
    }

    /// Random rotated rectangles against a dense point-sampling estimate of the same IoU.
    func testRotatedRectanglesAgreeWithSampling() {
        var g = SeededGenerator(seed: 5)
        func rotatedRect(_ g: inout SeededGenerator) -> [P] {
            let cx = Double.random(in: 4...6, using: &g), cy = Double.random(in: 4...6, using: &g)
            let w = Double.random(in: 1...4, using: &g), h = Double.random(in: 1...4, using: &g)
            let t = Double.random(in: 0...Double.pi, using: &g)
            return [(-w, -h), (w, -h), (w, h), (-w, h)].map { p in
                (x: cx + (p.0 * cos(t) - p.1 * sin(t)) / 2, y: cy + (p.0 * sin(t) + p.1 * cos(t)) / 2)
            }
        }
        func inside(_ q: P, _ poly: [P]) -> Bool {
            var sign = 0.0
            for i in 0..<poly.count {
                let a = poly[i], b = poly[(i + 1) % poly.count]
                let s = (b.x - a.x) * (q.y - a.y) - (b.y - a.y) * (q.x - a.x)
                if sign == 0 { sign = s } else if s * sign < 0 { return false }
            }
            return true
        }
        for _ in 0..<4 {
            let a = rotatedRect(&g), b = rotatedRect(&g)
            var inter = 0, union = 0
            let steps = 300
            for i in 0..<steps {
                for j in 0..<steps {
                    let q = (x: 10 * (Double(i) + 0.5) / Double(steps), y: 10 * (Double(j) + 0.5) / Double(steps))
                    let ia = inside(q, a), ib = inside(q, b)
                    if ia && ib { inter += 1 }
                    if ia || ib { union += 1 }
                }
            }
            XCTAssertEqual(polygonIntersectionOverUnion(a, b), Double(inter) / Double(union), accuracy: 0.01)
        }
    }

    func testBoxIntersectionOverUnion() {
        XCTAssertEqual(
            boxIntersectionOverUnion((x: 0, y: 0, width: 10, height: 10), (x: 5, y: 0, width: 10, height: 10)),
            50.0 / 150, accuracy: 1e-12)
        XCTAssertEqual(
            boxIntersectionOverUnion((x: 0, y: 0, width: 10, height: 10), (x: 20, y: 0, width: 10, height: 10)), 0)
        XCTAssertEqual(
            boxIntersectionOverUnion((x: 1, y: 2, width: 3, height: 4), (x: 1, y: 2, width: 3, height: 4)), 1)
        XCTAssertEqual(
            boxIntersectionOverUnion((x: 1, y: 2, width: 0, height: 4), (x: 1, y: 2, width: 0, height: 4)), 1)
        XCTAssertEqual(
            boxIntersectionOverUnion((x: 1, y: 2, width: 0, height: 4), (x: 1, y: 2, width: 1, height: 4)), 0)
        // An axis-aligned box as a polygon gives the same value.
        var g = SeededGenerator(seed: 6)
        for _ in 0..<20 {
            let a = Box(
                x: .random(in: 0...5, using: &g), y: .random(in: 0...5, using: &g),
                width: .random(in: 1...5, using: &g), height: .random(in: 1...5, using: &g))
            let b = Box(
                x: .random(in: 0...5, using: &g), y: .random(in: 0...5, using: &g),
                width: .random(in: 1...5, using: &g), height: .random(in: 1...5, using: &g))
            func corners(_ r: Box) -> [P] {
                [(r.x, r.y), (r.x + r.width, r.y), (r.x + r.width, r.y + r.height), (r.x, r.y + r.height)]
            }
            XCTAssertEqual(
                boxIntersectionOverUnion(a, b), polygonIntersectionOverUnion(corners(a), corners(b)), accuracy: 1e-12)
            XCTAssertEqual(boxIntersectionOverUnion(a, b), a.intersectionOverUnion(b), accuracy: 0)
        }
    }
}

final class DriftBudgetTests: XCTestCase {
    func parse(_ s: String) throws(DriftBudgetError) -> DriftBudget { try DriftBudget(parsing: s) }

    func error(_ s: String) -> DriftBudgetError? {
        do { _ = try DriftBudget(parsing: s); return nil } catch { return error }
    }

    func testParsesEachForm() throws {
        XCTAssertEqual(try parse("0.95"), DriftBudget(minBoxIoUMean: 0.95, minMaskIoUMean: 0.95))
        XCTAssertEqual(try parse(" 1 "), DriftBudget(minBoxIoUMean: 1, minMaskIoUMean: 1))
        XCTAssertEqual(
            try parse("box_iou=0.95,mask_iou=0.9,center_error=3,sqnr_db=20"),
            DriftBudget(minBoxIoUMean: 0.95, minMaskIoUMean: 0.9, maxCenterErrorPxMean: 3, minFinalSQNRDB: 20))
        XCTAssertEqual(try parse("sqnr_db = -5 , BOX_IOU=0"), DriftBudget(minBoxIoUMean: 0, minFinalSQNRDB: -5))
        XCTAssertEqual(try parse("center_error=2.5"), DriftBudget(maxCenterErrorPxMean: 2.5))
        // The description is the parseable form.
        let b = try parse("box_iou=0.95,sqnr_db=20")
        XCTAssertEqual(b.description, "box_iou=0.95,sqnr_db=20")
        XCTAssertEqual(try parse(b.description), b)
    }

    func testRejectsBadBudgetsWithOneSentence() {
        let cases: [(String, DriftBudgetError)] = [
            ("", .empty),
            ("   ", .empty),
            ("abc", .malformed("abc")),
            ("box_iou=0.9,", .malformed("")),
            ("box_iou", .malformed("box_iou")),
            ("box_iou=0.9,speed=2", .unknownKey("speed")),
            ("box_iou=x", .badNumber(key: "box_iou", value: "x")),
            ("mask_iou=nan", .badNumber(key: "mask_iou", value: "nan")),
            ("sqnr_db=", .badNumber(key: "sqnr_db", value: "")),
            ("box_iou=1.5", .outOfRange(key: "box_iou", value: 1.5, allowed: "0 to 1")),
            ("1.5", .outOfRange(key: "box_iou and mask_iou", value: 1.5, allowed: "0 to 1")),
            ("-0.1", .outOfRange(key: "box_iou and mask_iou", value: -0.1, allowed: "0 to 1")),
            ("center_error=-1", .outOfRange(key: "center_error", value: -1, allowed: "0 or more pixels")),
            ("sqnr_db=500", .outOfRange(key: "sqnr_db", value: 500, allowed: "-200 to 200 dB")),
            ("box_iou=0.9,box_iou=0.8", .duplicateKey("box_iou")),
        ]
        for (text, expected) in cases {
            guard let e = error(text) else { XCTFail("'\(text)' was accepted"); continue }
            XCTAssertEqual(e, expected, "'\(text)'")
            let message = e.description
            XCTAssertTrue(message.hasSuffix("."), message)
            XCTAssertFalse(message.contains("\n"), message)
            XCTAssertNil(message.range(of: #"\. [A-Z]"#, options: .regularExpression), "one sentence: \(message)")
        }
        XCTAssertTrue(error("box_iou=0.9,speed=2")!.description.contains("speed"))
        XCTAssertTrue(error("box_iou=1.5")!.description.contains("0 to 1"))
    }

    func summary(box: Double, mask: Double, center: Double, frames: Int = 4) -> DriftSummary {
        var s = DriftSummary([])
        s.frames = frames; s.boxIoUMean = box; s.maskIoUMean = mask; s.centerErrorPxMean = center
        return s
    }

    func layer(_ name: String, sqnr: Double, final: Bool, nonFinite: Int = 0) -> LayerDrift {
        LayerDrift(
            name: name, precision: .int8, final: final, cosine: 0.99, sqnrDB: sqnr, maxAbsError: 0.1,
            relativeMaxError: 0.01, elements: 10, frames: 1, nonFiniteElements: nonFinite)
    }

    func testChecksEachCriterion() {
        let budget = DriftBudget(minBoxIoUMean: 0.9, minMaskIoUMean: 0.8, maxCenterErrorPxMean: 2, minFinalSQNRDB: 20)
        let good = [
            layer("body", sqnr: 5, final: false), layer("cls", sqnr: 25, final: true),
            layer("mask", sqnr: 20, final: true),
        ]
        // At the limits passes; non-final layers are not held to the SQNR minimum.
        XCTAssertEqual(budget.check(summary(box: 0.9, mask: 0.8, center: 2), layers: good), [])

        let v = budget.check(
            summary(box: 0.85, mask: 0.7, center: 3.5),
            layers: [
                layer("cls", sqnr: 12.5, final: true), layer("loc", sqnr: 30, final: true),
                layer("mask", sqnr: 0, final: true, nonFinite: 3),
            ])
        XCTAssertEqual(
            v,
            [
                "Mean box IoU 0.8500 is below the minimum 0.9000.",
                "Mean mask IoU 0.7000 is below the minimum 0.8000.",
                "Mean centre error 3.500 px is above the maximum 2.000 px.",
                "Output cls has SQNR 12.50 dB, below the minimum 20.00 dB.",
                "Output mask has 3 non-finite values.",
            ])

        XCTAssertEqual(
            budget.check(summary(box: 0, mask: 0, center: 0, frames: 0), layers: good),
            ["No tracked frames were compared, so the tracking criteria cannot be met."])
        XCTAssertEqual(
            DriftBudget(minFinalSQNRDB: 10).check(
                summary(box: 1, mask: 1, center: 0), layers: [layer("x", sqnr: 50, final: false)]),
            ["No network outputs were measured, so the SQNR minimum cannot be checked."])
        // Only the criteria given are checked.
        XCTAssertEqual(DriftBudget(maxCenterErrorPxMean: 10).check(summary(box: 0, mask: 0, center: 1), layers: []), [])
    }

    func testBudgetJSONHasEveryKey() throws {
        let data = try JSONEncoder().encode(DriftBudget(minBoxIoUMean: 0.9))
        let json = try JSONSerialization.jsonObject(with: data) as! [String: Any]
        XCTAssertEqual(
            Set(json.keys), ["min_box_iou_mean", "min_mask_iou_mean", "max_center_error_px_mean", "min_final_sqnr_db"])
        XCTAssertEqual(json["min_box_iou_mean"] as? Double, 0.9)
        XCTAssertTrue(json["min_mask_iou_mean"] is NSNull)
        XCTAssertEqual(try JSONDecoder().decode(DriftBudget.self, from: data), DriftBudget(minBoxIoUMean: 0.9))
    }
}

import Evaluation
import Foundation
import TestSupport
import XCTest

private func square(_ x: Double, _ y: Double, _ side: Double) -> [Point] {
    Box(x: x, y: y, width: side, height: side).corners
}

/// Rotated by `angle` about (cx, cy).
private func rotated(_ p: [Point], by angle: Double, about cx: Double, _ cy: Double) -> [Point] {
    p.map { q in
        let dx = q.x - cx, dy = q.y - cy
        return Point(cx + dx * cos(angle) - dy * sin(angle), cy + dx * sin(angle) + dy * cos(angle))
    }
}

final class MetricsRegionOverlapTests: XCTestCase {
    let lShape = [Point(0, 0), Point(2, 0), Point(2, 1), Point(1, 1), Point(1, 2), Point(0, 2)]   // area 3

    func testAreaOfSquaresTrianglesAndNonConvexInBothOrientations() {
        XCTAssertEqual(RegionOverlap.area(square(1, 2, 3)), 9)
        XCTAssertEqual(RegionOverlap.area(square(1, 2, 3).reversed()), 9)
        XCTAssertEqual(RegionOverlap.area([Point(0, 0), Point(4, 0), Point(0, 3)]), 6)
        XCTAssertEqual(RegionOverlap.area(lShape), 3)
        XCTAssertEqual(RegionOverlap.area(lShape.reversed()), 3)
        XCTAssertEqual(RegionOverlap.area([Point(0, 0), Point(1, 1)]), 0)
        XCTAssertEqual(RegionOverlap.area([]), 0)
    }

    func testIdenticalShiftedAndContainedAxisAlignedSquares() {
        XCTAssertEqual(RegionOverlap.overlap(square(0, 0, 2), square(0, 0, 2), bounds: nil), 1, accuracy: 1e-15)
        // [0,2]² and [1,3]²: intersection 1, union 7.
        XCTAssertEqual(RegionOverlap.intersectionArea(square(0, 0, 2), square(1, 1, 2)), 1, accuracy: 1e-15)
        XCTAssertEqual(RegionOverlap.overlap(square(0, 0, 2), square(1, 1, 2), bounds: nil), 1.0 / 7, accuracy: 1e-15)
        // Contained: [1,2]² inside [0,4]².
        XCTAssertEqual(RegionOverlap.overlap(square(0, 0, 4), square(1, 1, 1), bounds: nil), 1.0 / 16, accuracy: 1e-15)
        XCTAssertEqual(RegionOverlap.intersectionArea(square(1, 1, 1), square(0, 0, 4)), 1, accuracy: 1e-15)
    }

    func testRotatedSquares() {
        // A diamond of area 2 inside [-1,1]²: IoU 2/4.
        let diamond = [Point(1, 0), Point(0, 1), Point(-1, 0), Point(0, -1)]
        XCTAssertEqual(RegionOverlap.overlap(diamond, square(-1, -1, 2), bounds: nil), 0.5, accuracy: 1e-15)
        // [0,2]² and itself turned 45° about its centre: an octagon of area 8√2 - 8 (four corners of area 3 - 2√2
        // cut off), union 16 - 8√2, IoU 1/√2.
        let s = square(0, 0, 2)
        let r = rotated(s, by: .pi / 4, about: 1, 1)
        XCTAssertEqual(RegionOverlap.intersectionArea(s, r), 8 * 2.0.squareRoot() - 8, accuracy: 1e-12)
        XCTAssertEqual(RegionOverlap.overlap(s, r, bounds: nil), 1 / 2.0.squareRoot(), accuracy: 1e-12)
        // Any rotation of a square about its own centre keeps the IoU symmetric in the angle's sign.
        let r2 = rotated(s, by: -.pi / 4, about: 1, 1)
        XCTAssertEqual(RegionOverlap.overlap(s, r2, bounds: nil), 1 / 2.0.squareRoot(), accuracy: 1e-12)
    }

    func testClockwiseAndAnticlockwiseGiveTheSameOverlap() {
        let a = rotated(square(0, 0, 2), by: 0.3, about: 1, 1), b = square(0.5, 0.5, 2)
        let ref = RegionOverlap.overlap(a, b, bounds: nil)
        XCTAssertGreaterThan(ref, 0.3)
        for (p, q) in [(a.reversed(), b), (a, b.reversed()), (a.reversed(), b.reversed())] {
            XCTAssertEqual(RegionOverlap.overlap(Array(p), Array(q), bounds: nil), ref, accuracy: 1e-14)
        }
        // A different starting corner is the same polygon.
        XCTAssertEqual(RegionOverlap.overlap(Array(a[2...] + a[..<2]), b, bounds: nil), ref, accuracy: 1e-14)
    }

    func testNonConvexPolygon() {
        // The L misses the top-right quarter [1,2]x[1,2].
        XCTAssertEqual(RegionOverlap.intersectionArea(lShape, square(1, 1, 1)), 0, accuracy: 1e-15)
        // [0.5,1.5]² minus the missing quarter's [1,1.5]²: 0.75; union 3 + 1 - 0.75.
        XCTAssertEqual(RegionOverlap.intersectionArea(lShape, square(0.5, 0.5, 1)), 0.75, accuracy: 1e-15)
        XCTAssertEqual(
            RegionOverlap.overlap(lShape.reversed(), square(0.5, 0.5, 1), bounds: nil), 0.75 / 3.25, accuracy: 1e-15)
        XCTAssertEqual(RegionOverlap.overlap(lShape, lShape.reversed(), bounds: nil), 1, accuracy: 1e-15)
        // The L turned half a turn misses [0,1]²: the two share [0,2]² less both missing quarters.
        let mirrored = lShape.map { Point(2 - $0.x, 2 - $0.y) }   // covers everything but [0,1]x[0,1]
        XCTAssertEqual(RegionOverlap.intersectionArea(lShape, mirrored), 2, accuracy: 1e-15)
    }

    func testPartlyOutsideTheImage() {
        // [-1,1]x[0,2] clipped to the image is [0,1]x[0,2]: identical to the other box.
        let a = Box(x: -1, y: 0, width: 2, height: 2).corners, b = Box(x: 0, y: 0, width: 1, height: 2).corners
        XCTAssertEqual(RegionOverlap.overlap(a, b, bounds: (10, 10)), 1, accuracy: 1e-15)
        XCTAssertEqual(RegionOverlap.overlap(a, b, bounds: nil), 0.5, accuracy: 1e-15)
        // A diamond of area 2 centred on the left edge: half of it (a triangle of area 1) is in the image and
        // inside the box [0,1]x[4,6] (area 2): IoU 1 / (1 + 2 - 1); unbounded 1 / (2 + 2 - 1).
        let diamond = [Point(1, 5), Point(0, 6), Point(-1, 5), Point(0, 4)]
        let box = Box(x: 0, y: 4, width: 1, height: 2).corners
        XCTAssertEqual(RegionOverlap.overlap(diamond, box, bounds: (10, 10)), 0.5, accuracy: 1e-15)
        XCTAssertEqual(RegionOverlap.overlap(diamond, box, bounds: nil), 1.0 / 3, accuracy: 1e-15)
        // Bottom-right corner: both regions cut by x <= 8 and y <= 6.
        let c = Box(x: 6, y: 4, width: 4, height: 4).corners, d = Box(x: 7, y: 5, width: 1, height: 1).corners
        XCTAssertEqual(RegionOverlap.overlap(c, d, bounds: (8, 6)), 1.0 / 4, accuracy: 1e-15)
        // Entirely outside: both clipped to nothing, empty union.
        XCTAssertEqual(RegionOverlap.overlap(square(20, 20, 2), square(20, 20, 2), bounds: (10, 10)), 0)
    }

    func testDegenerateRegions() {
        let s = square(0, 0, 2)
        XCTAssertEqual(RegionOverlap.overlap([], s, bounds: nil), 0)
        XCTAssertEqual(RegionOverlap.overlap([Point(0, 0), Point(1, 1)], s, bounds: nil), 0)
        let collinear = [Point(0, 0), Point(1, 1), Point(2, 2), Point(0.5, 0.5)]
        XCTAssertEqual(RegionOverlap.area(collinear), 0)
        XCTAssertEqual(RegionOverlap.intersectionArea(collinear, s), 0)
        XCTAssertEqual(RegionOverlap.overlap(collinear, s, bounds: (10, 10)), 0)
        let flat = Box(x: 0.5, y: 0.5, width: 1, height: 0).corners
        XCTAssertEqual(RegionOverlap.overlap(flat, s, bounds: nil), 0)
        XCTAssertEqual(RegionOverlap.overlap(flat, flat, bounds: nil), 0, "an empty union scores 0")
    }

    func testNonOverlappingAndTouching() {
        XCTAssertEqual(RegionOverlap.overlap(square(0, 0, 1), square(5, 5, 1), bounds: nil), 0)
        XCTAssertEqual(RegionOverlap.overlap(square(0, 0, 1), square(1, 0, 1), bounds: nil), 0, accuracy: 1e-15)
        let diamond = [Point(1, 0), Point(0, 1), Point(-1, 0), Point(0, -1)]
        XCTAssertEqual(RegionOverlap.overlap(diamond, square(0.6, 0.6, 1), bounds: nil), 0, accuracy: 1e-15)
    }

    func testBoxCorners() {
        XCTAssertEqual(
            Box(x: 1, y: 2, width: 3, height: 4).corners, [Point(1, 2), Point(4, 2), Point(4, 6), Point(1, 6)])
    }

    /// Convex pairs have a second exact method: clip one by the other (Sutherland–Hodgman) and take the area.
    /// Random rotated rectangles and random convex polygons must agree with the fan-triangle sum.
    func testMatchesConvexClippingOnRandomRotatedRectangles() {
        var g = SeededGenerator(seed: 20261011)
        var maxError = 0.0
        for _ in 0..<500 {
            func randomRect() -> [Point] {
                let b = Box(
                    x: Double.random(in: 0...50, using: &g), y: Double.random(in: 0...50, using: &g),
                    width: Double.random(in: 1...40, using: &g), height: Double.random(in: 1...40, using: &g))
                let p = rotated(b.corners, by: Double.random(in: -3...3, using: &g), about: b.centerX, b.centerY)
                return Bool.random(using: &g) ? p : p.reversed()
            }
            let a = randomRect(), b = randomRect()
            let fan = RegionOverlap.intersectionArea(a, b)
            let clipped = RegionOverlap.area(convexClip(a, b))
            maxError = max(maxError, abs(fan - clipped))
        }
        XCTAssertLessThan(maxError, 1e-9)
    }

    /// A grid count of a non-convex polygon against a rotated box converges to the exact value.
    func testNonConvexAgainstFineGrid() {
        let u = [
            Point(0, 0), Point(6, 0), Point(6, 6), Point(4, 6), Point(4, 2), Point(2, 2), Point(2, 6), Point(0, 6),
        ]
        let box = rotated(Box(x: 1, y: 1, width: 4, height: 3).corners, by: 0.4, about: 3, 2.5)
        let exact = RegionOverlap.intersectionArea(u, box)
        let n = 1200, cell = 6.0 / Double(n)
        var inside = 0
        for i in 0..<n {
            for j in 0..<n {
                let p = Point((Double(i) + 0.5) * cell, (Double(j) + 0.5) * cell)
                if contains(u, p) && contains(box, p) { inside += 1 }
            }
        }
        XCTAssertEqual(exact, Double(inside) * cell * cell, accuracy: 0.01)
        XCTAssertGreaterThan(exact, 3)
    }
}

/// Independent convex clip (for the random cross-check): both polygons made anticlockwise first.
private func convexClip(_ subject: [Point], _ window: [Point]) -> [Point] {
    func ccw(_ p: [Point]) -> [Point] { RegionOverlap.signedArea(p) >= 0 ? p : p.reversed() }
    var out = ccw(subject)
    let w = ccw(window)
    for i in 0..<w.count where !out.isEmpty {
        let a = w[i], b = w[(i + 1) % w.count]
        let inp = out
        out = []
        for k in 0..<inp.count {
            let p = inp[k], q = inp[(k + 1) % inp.count]
            let sp = (b.x - a.x) * (p.y - a.y) - (b.y - a.y) * (p.x - a.x)
            let sq = (b.x - a.x) * (q.y - a.y) - (b.y - a.y) * (q.x - a.x)
            if sp >= 0 { out.append(p) }
            if (sp >= 0) != (sq >= 0) {
                let t = sp / (sp - sq)
                out.append(Point(p.x + (q.x - p.x) * t, p.y + (q.y - p.y) * t))
            }
        }
    }
    return out
}

/// Even-odd point-in-polygon.
private func contains(_ poly: [Point], _ p: Point) -> Bool {
    var inside = false
    var j = poly.count - 1
    for i in 0..<poly.count {
        let a = poly[i], b = poly[j]
        if (a.y > p.y) != (b.y > p.y), p.x < (b.x - a.x) * (p.y - a.y) / (b.y - a.y) + a.x { inside.toggle() }
        j = i
    }
    return inside
}

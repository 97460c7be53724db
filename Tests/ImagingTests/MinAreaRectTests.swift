import Foundation
import Imaging
import TestSupport
import XCTest

final class MinAreaRectTests: XCTestCase {
    struct Case: Decodable {
        let points: [Int]
        let box: [Double]
    }

    static func points(_ flat: [Int]) -> [PixelPoint] {
        stride(from: 0, to: flat.count, by: 2).map { PixelPoint(flat[$0], flat[$0 + 1]) }
    }

    func testMatchesOpenCVMinAreaRect() throws {
        let cases = try JSONDecoder().decode([Case].self, from: Data(openCVMinAreaRectJSON.utf8))
        XCTAssertEqual(cases.count, 22)
        var sameOrder = 0
        for (index, c) in cases.enumerated() {
            let rect = try XCTUnwrap(MinAreaRect.of(Self.points(c.points)))
            let want = stride(from: 0, to: 8, by: 2).map { Point2D(c.box[$0], c.box[$0 + 1]) }
            // Same corners (OpenCV computes in float32: allow 0.02 px).
            for w in want {
                let nearest = rect.corners.map { hypot($0.x - w.x, $0.y - w.y) }.min()!
                XCTAssertLessThan(nearest, 0.02, "case \(index): OpenCV corner \(w) not among \(rect.corners)")
            }
            // Cyclic, and usually the same starting corner as boxPoints.
            let cyclicSame = (0..<4).contains { shift in
                (0..<4).allSatisfy { i in
                    hypot(rect.corners[(i + shift) % 4].x - want[i].x, rect.corners[(i + shift) % 4].y - want[i].y)
                        < 0.02
                }
            }
            let cyclicReversed = (0..<4).contains { shift in
                (0..<4).allSatisfy { i in
                    hypot(
                        rect.corners[(shift - i + 8) % 4].x - want[i].x, rect.corners[(shift - i + 8) % 4].y - want[i].y
                    ) < 0.02
                }
            }
            XCTAssertTrue(cyclicSame || cyclicReversed, "case \(index): corners are not in cyclic order")
            if (0..<4).allSatisfy({ hypot(rect.corners[$0].x - want[$0].x, rect.corners[$0].y - want[$0].y) < 0.02 }) {
                sameOrder += 1
            }
        }
        // Same starting corner as boxPoints except where OpenCV's choice rests on float32 noise: an exactly
        // axis-aligned box (OpenCV starts it top-left or bottom-left depending on the caliper path) and the
        // degenerate collinear case.
        XCTAssertGreaterThanOrEqual(sameOrder, cases.count - 2)
    }

    func testHullAndDegenerateCases() {
        XCTAssertNil(MinAreaRect.of([]))
        let single = MinAreaRect.of([PixelPoint(3, 4)])!
        XCTAssertEqual(single.corners, Array(repeating: Point2D(3, 4), count: 4))
        let line = MinAreaRect.of([PixelPoint(0, 0), PixelPoint(4, 0), PixelPoint(2, 0)])!
        XCTAssertEqual(line.area, 0)
        let hull = MinAreaRect.convexHull([
            PixelPoint(0, 0), PixelPoint(2, 0), PixelPoint(4, 0), PixelPoint(4, 4), PixelPoint(0, 4),
            PixelPoint(2, 2), PixelPoint(0, 4),
        ])
        XCTAssertEqual(Set(hull), [PixelPoint(0, 0), PixelPoint(4, 0), PixelPoint(4, 4), PixelPoint(0, 4)])
        XCTAssertEqual(hull.count, 4)
        // An axis-aligned block of pixels: rectangle through the outer pixel centres, top-left corner first.
        var mask = Image(width: 10, height: 8, format: .grey)
        for y in 2...5 { for x in 3...8 { mask[x, y, 0] = 255 } }
        let rect = MinAreaRect.of(mask: mask)!
        XCTAssertEqual(rect.corners, [Point2D(3, 2), Point2D(8, 2), Point2D(8, 5), Point2D(3, 5)])
        XCTAssertEqual(rect.votLine, "3.00,2.00,8.00,2.00,8.00,5.00,3.00,5.00")
    }

    func testRandomMasksAgainstBruteForce() {
        var rng = SeededGenerator(seed: 5)
        for _ in 0..<20 {
            var points: [PixelPoint] = []
            let cx = Int(rng.next() % 200) + 50, cy = Int(rng.next() % 200) + 50
            for _ in 0..<(Int(rng.next() % 50) + 3) {
                points.append(PixelPoint(cx + Int(rng.next() % 81) - 40, cy + Int(rng.next() % 41) - 20))
            }
            let rect = MinAreaRect.of(points)!
            // Every point inside (within rounding).
            for p in points { XCTAssertTrue(Self.contains(rect, Point2D(Double(p.x), Double(p.y)), tolerance: 1e-6)) }
            // No direction (0.05 degree steps) gives a smaller box.
            var bestArea = Double.infinity
            for step in 0..<3600 {
                let t = Double(step) * Double.pi / 3600
                let c = cos(t), s = sin(t)
                let u = points.map { Double($0.x) * c + Double($0.y) * s },
                    v = points.map { -Double($0.x) * s + Double($0.y) * c }
                bestArea = min(bestArea, (u.max()! - u.min()!) * (v.max()! - v.min()!))
            }
            XCTAssertLessThanOrEqual(rect.area, bestArea + 1e-6)
            XCTAssertGreaterThan(rect.area, bestArea * 0.99 - 1e-6)
        }
    }

    func testVOTFormatting() {
        let r = RotatedRectangle(corners: [
            Point2D(-0.004, 1.0051), Point2D(2.5, -3.456), Point2D(10, 0), Point2D(123.999, 7),
        ])
        XCTAssertEqual(r.votLine, "0.00,1.01,2.50,-3.46,10.00,0.00,124.00,7.00")
    }

    /// Whether `p` lies in the convex quadrilateral (or within `tolerance` of it).
    static func contains(_ rect: RotatedRectangle, _ p: Point2D, tolerance: Double) -> Bool {
        let c = rect.corners
        for i in 0..<4 {
            let a = c[i], b = c[(i + 1) % 4]
            let len = hypot(b.x - a.x, b.y - a.y)
            if len == 0 { continue }
            // Clockwise on screen (y down): inside is where the cross product is >= 0.
            let cross = ((b.x - a.x) * (p.y - a.y) - (b.y - a.y) * (p.x - a.x)) / len
            if cross < -tolerance { return false }
        }
        return true
    }
}

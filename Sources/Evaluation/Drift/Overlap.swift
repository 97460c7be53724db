import Foundation

/// Intersection over union of two polygons (e.g. rotated boxes; exact, `RegionOverlap`), corners in either winding order.
/// A polygon with fewer than three corners, zero area or a non-finite corner is degenerate: IoU 0, except that two
/// degenerate polygons with the same corners give 1 (the two trackers agree).
public func polygonIntersectionOverUnion(_ a: [(x: Double, y: Double)], _ b: [(x: Double, y: Double)]) -> Double {
    polygonIntersectionOverUnion(a.map { Point($0.x, $0.y) }, b.map { Point($0.x, $0.y) })
}

public func polygonIntersectionOverUnion(_ a: [Point], _ b: [Point]) -> Double {
    let areaA = RegionOverlap.signedArea(a), areaB = RegionOverlap.signedArea(b)
    let degenerateA = DegeneratePolygon.isDegenerate(a, signedArea: areaA)
    let degenerateB = DegeneratePolygon.isDegenerate(b, signedArea: areaB)
    if degenerateA || degenerateB {
        return degenerateA && degenerateB && DegeneratePolygon.sameCorners(a, b) ? 1 : 0
    }
    let inter = RegionOverlap.intersectionArea(a, b)
    let union = abs(areaA) + abs(areaB) - inter
    return union > 0 ? min(1, max(0, inter / union)) : 0
}

/// Axis-aligned box IoU (x, y = top-left), `Box.intersectionOverUnion`, plus: identical boxes give 1 even when empty.
public func boxIntersectionOverUnion(
    _ a: (x: Double, y: Double, width: Double, height: Double),
    _ b: (x: Double, y: Double, width: Double, height: Double)
) -> Double {
    boxIntersectionOverUnion(
        Box(x: a.x, y: a.y, width: a.width, height: a.height),
        Box(x: b.x, y: b.y, width: b.width, height: b.height))
}

public func boxIntersectionOverUnion(_ a: Box, _ b: Box) -> Double {
    a == b ? 1 : a.intersectionOverUnion(b)
}

/// What counts as a flat or broken polygon, and when two such agree.
enum DegeneratePolygon {
    static func isDegenerate(_ p: [Point], signedArea: Double) -> Bool {
        guard p.count >= 3, p.allSatisfy({ $0.x.isFinite && $0.y.isFinite }), signedArea.isFinite else { return true }
        // Relative to the polygon's extent, so a sliver of collinear corners counts as flat at any scale.
        let xs = p.map(\.x), ys = p.map(\.y)
        let extent = max(xs.max()! - xs.min()!, ys.max()! - ys.min()!)
        return abs(signedArea) <= 1e-12 * max(1, extent * extent)
    }

    /// Every corner of each has a match in the other (order and winding ignored).
    static func sameCorners(_ a: [Point], _ b: [Point]) -> Bool {
        func covered(_ u: [Point], _ v: [Point]) -> Bool {
            u.allSatisfy { p in v.contains { abs($0.x - p.x) <= 1e-9 && abs($0.y - p.y) <= 1e-9 } }
        }
        return covered(a, b) && covered(b, a)
    }
}

import Foundation

/// Intersection over union of two convex polygons (e.g. rotated boxes), corners in either winding order.
/// A polygon with fewer than three corners, zero area or a non-finite corner is degenerate: IoU 0, except that two
/// degenerate polygons with the same corners give 1 (the two trackers agree).
public func polygonIntersectionOverUnion(_ a: [(x: Double, y: Double)], _ b: [(x: Double, y: Double)]) -> Double {
    let areaA = ConvexPolygon.signedArea(a), areaB = ConvexPolygon.signedArea(b)
    let degenerateA = ConvexPolygon.isDegenerate(a, signedArea: areaA)
    let degenerateB = ConvexPolygon.isDegenerate(b, signedArea: areaB)
    if degenerateA || degenerateB {
        return degenerateA && degenerateB && ConvexPolygon.sameCorners(a, b) ? 1 : 0
    }
    // Clipping keeps the left side of each clip edge, so the clip polygon must wind counter-clockwise (positive
    // area); the subject's winding does not matter.
    let clip = areaB < 0 ? Array(b.reversed()) : b
    let inter = abs(ConvexPolygon.signedArea(ConvexPolygon.clip(a, by: clip)))
    let union = abs(areaA) + abs(areaB) - inter
    return union > 0 ? min(1, max(0, inter / union)) : 0
}

public func polygonIntersectionOverUnion(_ a: [Point], _ b: [Point]) -> Double {
    polygonIntersectionOverUnion(a.map { (x: $0.x, y: $0.y) }, b.map { (x: $0.x, y: $0.y) })
}

/// Axis-aligned box IoU (x, y = top-left), `Box.intersectionOverUnion`, plus: identical boxes give 1 even when empty.
public func boxIntersectionOverUnion(_ a: (x: Double, y: Double, width: Double, height: Double),
                                     _ b: (x: Double, y: Double, width: Double, height: Double)) -> Double {
    boxIntersectionOverUnion(Box(x: a.x, y: a.y, width: a.width, height: a.height),
                             Box(x: b.x, y: b.y, width: b.width, height: b.height))
}

public func boxIntersectionOverUnion(_ a: Box, _ b: Box) -> Double {
    a == b ? 1 : a.intersectionOverUnion(b)
}

enum ConvexPolygon {
    typealias P = (x: Double, y: Double)

    /// Shoelace formula; positive for counter-clockwise in a y-up frame.
    static func signedArea(_ p: [P]) -> Double {
        guard p.count >= 3 else { return 0 }
        var s = 0.0
        for i in 0..<p.count {
            let q = p[i], r = p[(i + 1) % p.count]
            s += q.x * r.y - r.x * q.y
        }
        return s / 2
    }

    static func isDegenerate(_ p: [P], signedArea: Double) -> Bool {
        guard p.count >= 3, p.allSatisfy({ $0.x.isFinite && $0.y.isFinite }), signedArea.isFinite else { return true }
        // Relative to the polygon's extent, so a sliver of collinear corners counts as flat at any scale.
        let xs = p.map(\.x), ys = p.map(\.y)
        let extent = max(xs.max()! - xs.min()!, ys.max()! - ys.min()!)
        return abs(signedArea) <= 1e-12 * max(1, extent * extent)
    }

    /// Every corner of each has a match in the other (order and winding ignored).
    static func sameCorners(_ a: [P], _ b: [P]) -> Bool {
        func covered(_ u: [P], _ v: [P]) -> Bool {
            u.allSatisfy { p in v.contains { abs($0.x - p.x) <= 1e-9 && abs($0.y - p.y) <= 1e-9 } }
        }
        return covered(a, b) && covered(b, a)
    }

    /// Sutherland–Hodgman: clip `subject` by each edge of the convex counter-clockwise `clip`.
    static func clip(_ subject: [P], by clip: [P]) -> [P] {
        var output = subject
        for i in 0..<clip.count {
            if output.isEmpty { break }
            let e0 = clip[i], e1 = clip[(i + 1) % clip.count]
            // Left of (or on) the edge e0 -> e1.
            func side(_ p: P) -> Double { (e1.x - e0.x) * (p.y - e0.y) - (e1.y - e0.y) * (p.x - e0.x) }
            let input = output
            output = []
            output.reserveCapacity(input.count + 1)
            for j in 0..<input.count {
                let current = input[j], previous = input[(j + input.count - 1) % input.count]
                let sc = side(current), sp = side(previous)
                if sc >= 0 {
                    if sp < 0 { output.append(intersection(previous, current, sp, sc)) }
                    output.append(current)
                } else if sp >= 0 {
                    output.append(intersection(previous, current, sp, sc))
                }
            }
        }
        return output
    }

    /// Point of segment p -> q where the side function (sp at p, sq at q, opposite signs) is zero.
    static func intersection(_ p: P, _ q: P, _ sp: Double, _ sq: Double) -> P {
        let t = sp / (sp - sq)
        return (x: p.x + t * (q.x - p.x), y: p.y + t * (q.y - p.y))
    }
}

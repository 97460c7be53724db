import Foundation

/// Exact polygon geometry for region overlaps (no rasterisation).
///
/// The intersection of two simple polygons is computed from their fan triangulations: a polygon's winding number is
/// the signed sum of the indicator functions of its fan triangles (p0, pi, pi+1), so the area of A ∩ B is
/// sign(A) sign(B) Σ_i Σ_j sign(T_i) sign(U_j) area(T_i ∩ U_j), and each T_i ∩ U_j is a convex clip. This holds for
/// convex and non-convex polygons in either orientation, and for clipped outlines with zero-width bridges.
public enum RegionOverlap {
    /// |signed area| (shoelace); fewer than 3 points: 0.
    public static func area(_ p: [Point]) -> Double { abs(signedArea(p)) }

    /// Positive for anticlockwise in a y-up frame (clockwise on screen, where y points down).
    public static func signedArea(_ p: [Point]) -> Double {
        guard p.count >= 3 else { return 0 }
        var s = 0.0
        for i in 0..<p.count {
            let a = p[i], b = p[(i + 1) % p.count]
            s += a.x * b.y - b.x * a.y
        }
        return s / 2
    }

    /// Exact area of the intersection of two simple polygons, any orientation, convex or not.
    public static func intersectionArea(_ a: [Point], _ b: [Point]) -> Double {
        let sa = signedArea(a), sb = signedArea(b)
        guard sa != 0, sb != 0 else { return 0 }
        let ta = fanTriangles(a), tb = fanTriangles(b)
        var sum = 0.0
        for (t, st) in ta {
            for (u, su) in tb {
                // Cheap reject on bounding boxes: most pairs of a rotated box's triangles are far apart or not.
                guard boxesOverlap(t, u) else { continue }
                sum += st * su * abs(signedArea(clipConvex(t, by: u)))
            }
        }
        let result = (sa > 0 ? 1.0 : -1.0) * (sb > 0 ? 1.0 : -1.0) * sum
        // The exact value lies in [0, min(|A|, |B|)]; clamp away rounding noise only.
        return min(max(result, 0), min(abs(sa), abs(sb)))
    }

    /// VOT overlap: IoU of a and b after clipping both to [0, width] x [0, height] (bounds nil: no clipping);
    /// empty union: 0.
    public static func overlap(_ a: [Point], _ b: [Point], bounds: (width: Double, height: Double)?) -> Double {
        var a = a, b = b
        if let bounds {
            let frame = Box(x: 0, y: 0, width: bounds.width, height: bounds.height).corners
            a = clipConvex(a, by: frame)
            b = clipConvex(b, by: frame)
        }
        let inter = intersectionArea(a, b)
        let union = area(a) + area(b) - inter
        guard union > 0 else { return 0 }
        return min(max(inter / union, 0), 1)
    }

    /// The axis-aligned bounding box of a polygon (nil for no points).
    public static func boundingBox(_ p: [Point]) -> Box? {
        guard let first = p.first else { return nil }
        var x0 = first.x, x1 = first.x, y0 = first.y, y1 = first.y
        for q in p { x0 = min(x0, q.x); x1 = max(x1, q.x); y0 = min(y0, q.y); y1 = max(y1, q.y) }
        return Box(x: x0, y: y0, width: x1 - x0, height: y1 - y0)
    }

    // MARK: - Pieces

    /// Fan triangles with their orientation signs (degenerate ones dropped: they cover no area).
    private static func fanTriangles(_ p: [Point]) -> [([Point], Double)] {
        var out: [([Point], Double)] = []
        guard p.count >= 3 else { return out }
        for i in 1..<(p.count - 1) {
            let t = [p[0], p[i], p[i + 1]]
            let s = signedArea(t)
            if s == 0 { continue }
            // Stored anticlockwise (positive signed area): the clip below assumes a positively oriented window.
            out.append((s > 0 ? t : [t[0], t[2], t[1]], s > 0 ? 1 : -1))
        }
        return out
    }

    private static func boxesOverlap(_ a: [Point], _ b: [Point]) -> Bool {
        guard let p = boundingBox(a), let q = boundingBox(b) else { return false }
        return p.x <= q.x + q.width && q.x <= p.x + p.width && p.y <= q.y + q.height && q.y <= p.y + p.height
    }

    /// Sutherland–Hodgman: the subject polygon clipped by a convex window. The subject may be non-convex (the output
    /// then has zero-width bridges along the window's edges, which carry no area). The window may have either
    /// orientation.
    static func clipConvex(_ subject: [Point], by window: [Point]) -> [Point] {
        let orientation = signedArea(window)
        guard orientation != 0, subject.count >= 3 else { return [] }
        let sign = orientation > 0 ? 1.0 : -1.0
        var output = subject
        for i in 0..<window.count {
            if output.isEmpty { break }
            let e0 = window[i], e1 = window[(i + 1) % window.count]
            if e0 == e1 { continue }
            // side > 0: inside (left of the edge for a positively oriented window).
            func side(_ p: Point) -> Double { sign * ((e1.x - e0.x) * (p.y - e0.y) - (e1.y - e0.y) * (p.x - e0.x)) }
            let input = output
            output = []
            output.reserveCapacity(input.count + 2)
            var prev = input[input.count - 1]
            var prevSide = side(prev)
            for cur in input {
                let curSide = side(cur)
                if curSide >= 0 {
                    if prevSide < 0 { output.append(crossing(prev, cur, prevSide, curSide)) }
                    output.append(cur)
                } else if prevSide >= 0 {
                    if prevSide > 0 { output.append(crossing(prev, cur, prevSide, curSide)) }
                }
                prev = cur
                prevSide = curSide
            }
        }
        return output.count >= 3 ? output : []
    }

    /// The point where segment p→q crosses the edge's line, from the two signed distances (of opposite signs).
    private static func crossing(_ p: Point, _ q: Point, _ sp: Double, _ sq: Double) -> Point {
        let t = sp / (sp - sq)
        return Point(p.x + (q.x - p.x) * t, p.y + (q.y - p.y) * t)
    }
}

extension Box {
    /// The four corners (x,y), (x+w,y), (x+w,y+h), (x,y+h).
    public var corners: [Point] {
        [Point(x, y), Point(x + width, y), Point(x + width, y + height), Point(x, y + height)]
    }
}

/// A point with integer pixel coordinates (0-based column x, row y).
public struct PixelPoint: Hashable, Sendable {
    public var x: Int
    public var y: Int
    public init(_ x: Int, _ y: Int) {
        self.x = x
        self.y = y
    }
}

/// A point in continuous image coordinates.
public struct Point2D: Equatable, Sendable {
    public var x: Double
    public var y: Double
    public init(_ x: Double, _ y: Double) {
        self.x = x
        self.y = y
    }
}

/// A rotated rectangle given by its four corners, in cyclic order, clockwise as seen on screen (y pointing down),
/// starting from the leftmost corner (smallest x; on a tie the upper one): the order cv2.boxPoints(cv2.minAreaRect)
/// gives in OpenCV 4.5+. (For an exactly axis-aligned box OpenCV's start corner, top-left or bottom-left, depends
/// on float32 noise along its caliper path; this type always starts top-left.)
public struct RotatedRectangle: Equatable, Sendable {
    public var corners: [Point2D]

    public init(corners: [Point2D]) {
        precondition(corners.count == 4, "a rectangle has four corners")
        self.corners = corners
    }

    public var center: Point2D {
        Point2D((corners[0].x + corners[2].x) / 2, (corners[0].y + corners[2].y) / 2)
    }
    /// Lengths of the sides corners[0]-corners[1] and corners[1]-corners[2].
    public var sides: (Double, Double) {
        func d(_ a: Point2D, _ b: Point2D) -> Double {
            ((a.x - b.x) * (a.x - b.x) + (a.y - b.y) * (a.y - b.y)).squareRoot()
        }
        return (d(corners[0], corners[1]), d(corners[1], corners[2]))
    }
    public var area: Double { let s = sides; return s.0 * s.1 }

    /// The VOT polygon line: x1,y1,x2,y2,x3,y3,x4,y4 with two decimals.
    public var votLine: String {
        corners.map { "\(Self.format($0.x)),\(Self.format($0.y))" }.joined(separator: ",")
    }

    /// A fixed two-decimal rendering without locale or libc involvement (round half away from zero).
    static func format(_ value: Double) -> String {
        let hundredths = Int((abs(value) * 100).rounded(.toNearestOrAwayFromZero))
        let sign = value < 0 && hundredths != 0 ? "-" : ""
        let fraction = hundredths % 100
        return "\(sign)\(hundredths / 100).\(fraction < 10 ? "0" : "")\(fraction)"
    }
}

/// Convex hull and minimum-area enclosing rectangle (the equivalent of OpenCV's convexHull + minAreaRect +
/// boxPoints). Exact integer hull; the rectangle is the best one over all hull-edge directions (a rectangle of
/// minimum area has a side collinear with a hull edge), evaluated in Double.
public enum MinAreaRect {
    /// The convex hull of `points`, counter-clockwise in y-up terms (Andrew's monotone chain), without collinear
    /// vertices. One or two points give themselves.
    public static func convexHull(_ points: [PixelPoint]) -> [PixelPoint] {
        let sorted = Array(Set(points)).sorted { $0.x != $1.x ? $0.x < $1.x : $0.y < $1.y }
        if sorted.count < 3 { return sorted }
        func cross(_ o: PixelPoint, _ a: PixelPoint, _ b: PixelPoint) -> Int {
            (a.x - o.x) * (b.y - o.y) - (a.y - o.y) * (b.x - o.x)
        }
        var hull: [PixelPoint] = []
        hull.reserveCapacity(2 * sorted.count)
        for p in sorted {
            while hull.count >= 2, cross(hull[hull.count - 2], hull[hull.count - 1], p) <= 0 { hull.removeLast() }
            hull.append(p)
        }
        let lowerCount = hull.count + 1
        for p in sorted.reversed().dropFirst() {
            while hull.count >= lowerCount, cross(hull[hull.count - 2], hull[hull.count - 1], p) <= 0 {
                hull.removeLast()
            }
            hull.append(p)
        }
        hull.removeLast()
        return hull
    }

    /// The minimum-area rectangle enclosing `points`; nil for no points. One point gives a zero-size rectangle,
    /// collinear points a zero-width one.
    public static func of(_ points: [PixelPoint]) -> RotatedRectangle? {
        let hull = convexHull(points)
        guard let first = hull.first else { return nil }
        if hull.count == 1 {
            let p = Point2D(Double(first.x), Double(first.y))
            return RotatedRectangle(corners: [p, p, p, p])
        }
        var best: (area: Double, ex: Int, ey: Int, minU: Int, maxU: Int, minV: Int, maxV: Int)? = nil
        let n = hull.count
        for i in 0..<n {
            let a = hull[i], b = hull[(i + 1) % n]
            let ex = b.x - a.x, ey = b.y - a.y
            if ex == 0 && ey == 0 { continue }
            // Integer projections on the edge direction (ex, ey) and its normal (-ey, ex), both scaled by |e|.
            var minU = Int.max, maxU = Int.min, minV = Int.max, maxV = Int.min
            for p in hull {
                let u = p.x * ex + p.y * ey
                let v = p.y * ex - p.x * ey
                minU = min(minU, u); maxU = max(maxU, u)
                minV = min(minV, v); maxV = max(maxV, v)
            }
            let area = Double(maxU - minU) * Double(maxV - minV) / Double(ex * ex + ey * ey)
            if best == nil || area < best!.area { best = (area, ex, ey, minU, maxU, minV, maxV) }
        }
        guard let r = best else { return nil }
        let l2 = Double(r.ex * r.ex + r.ey * r.ey)
        // Point = (u * e + v * n) / |e|^2 with n = (-ey, ex).
        func corner(_ u: Int, _ v: Int) -> Point2D {
            let fu = Double(u), fv = Double(v)
            return Point2D((fu * Double(r.ex) - fv * Double(r.ey)) / l2, (fu * Double(r.ey) + fv * Double(r.ex)) / l2)
        }
        let raw = [corner(r.minU, r.minV), corner(r.maxU, r.minV), corner(r.maxU, r.maxV), corner(r.minU, r.maxV)]
        return RotatedRectangle(corners: canonicalOrder(raw))
    }

    /// The rectangle around the pixel centres of the non-zero pixels of a `width` x `height` 8-bit mask. Only
    /// the first and last set pixel of each row can be hull vertices, so only those are collected.
    public static func of(mask: UnsafeBufferPointer<UInt8>, width: Int, height: Int) -> RotatedRectangle? {
        precondition(mask.count >= width * height)
        var points: [PixelPoint] = []
        for y in 0..<height {
            let row = y * width
            var first = -1, last = -1
            for x in 0..<width where mask[row + x] != 0 {
                first = x
                break
            }
            if first < 0 { continue }
            for x in stride(from: width - 1, through: first, by: -1) where mask[row + x] != 0 {
                last = x
                break
            }
            points.append(PixelPoint(first, y))
            if last != first { points.append(PixelPoint(last, y)) }
        }
        return of(points)
    }

    /// The rectangle around a grey mask image's non-zero pixels (pixel centres).
    public static func of(mask: Image) -> RotatedRectangle? {
        precondition(mask.channels == 1, "a mask has one channel")
        return mask.pixels.withUnsafeBufferPointer { of(mask: $0, width: mask.width, height: mask.height) }
    }

    /// Rotates a cyclic corner list so it starts at the leftmost corner (smallest x, then smallest y) and runs
    /// clockwise on screen (positive shoelace sum with y down).
    static func canonicalOrder(_ c: [Point2D]) -> [Point2D] {
        var corners = c
        var shoelace = 0.0
        for i in 0..<4 {
            let a = corners[i], b = corners[(i + 1) % 4]
            shoelace += a.x * b.y - b.x * a.y
        }
        if shoelace < 0 { corners.reverse() }
        var start = 0
        for i in 1..<4 {
            let p = corners[i], s = corners[start]
            // Within 1e-9 px counts as level (corners computed in Double from an integer-exact rectangle).
            if p.x < s.x - 1e-9 || (abs(p.x - s.x) <= 1e-9 && p.y < s.y) { start = i }
        }
        return Array(corners[start...] + corners[..<start])
    }
}

/// Scanline polygon filling with texture mapping, sampled at pixel centres.

struct Point: Sendable {
    var x: Double
    var y: Double
    init(_ x: Double, _ y: Double) {
        self.x = x
        self.y = y
    }
}

/// Where an object is in one frame: centre, half-extents along its own axes, rotation (radians, clockwise on screen).
public struct Pose: Sendable, Equatable {
    public var cx: Double
    public var cy: Double
    public var sx: Double
    public var sy: Double
    public var angle: Double
}

/// A BGR (3 bytes a pixel) or grey buffer being drawn into.
struct Canvas {
    let pixels: UnsafeMutablePointer<UInt8>
    let width: Int
    let height: Int
}

enum Raster {
    /// Fills the outline `shape` (local coordinates) placed at `pose` into `canvas`. A pixel belongs to the shape
    /// when its centre (x + 0.5, y + 0.5) is inside (even-odd rule, left edges inclusive). Covered pixels get the
    /// texture's nearest texel (or `key` when given); when `mask` is given, covered pixels are set to `maskValue`
    /// there. Returns the number of covered pixels.
    @discardableResult
    static func fill(
        _ canvas: Canvas, shape: [Point], pose: Pose, texture: Texture, key: (UInt8, UInt8, UInt8)? = nil,
        mask: UnsafeMutablePointer<UInt8>? = nil, maskValue: UInt8 = 255
    ) -> Int {
        let n = shape.count
        guard n >= 3, pose.sx > 0, pose.sy > 0 else { return 0 }
        let c = DMath.cos(pose.angle), s = DMath.sin(pose.angle)
        // Image-space vertices.
        var xs = [Double](repeating: 0, count: n), ys = [Double](repeating: 0, count: n)
        var minY = Double.infinity, maxY = -Double.infinity
        for i in 0..<n {
            let u = shape[i].x * pose.sx, v = shape[i].y * pose.sy
            xs[i] = pose.cx + c * u - s * v
            ys[i] = pose.cy + s * u + c * v
            minY = min(minY, ys[i])
            maxY = max(maxY, ys[i])
        }
        let firstRow = max(0, Int((minY - 0.5).rounded(.up)))
        let endRow = min(canvas.height, Int((maxY - 0.5).rounded(.up)))
        guard firstRow < endRow else { return 0 }
        // Inverse mapping: local u = (c dx + s dy) / sx, v = (-s dx + c dy) / sy with (dx, dy) from the centre.
        let du = c / pose.sx, dv = -s / pose.sy
        let half = Double(texture.size) * 0.5
        let tmax = texture.size - 1
        var crossings = [Double](repeating: 0, count: n + 1)
        var covered = 0
        xs.withUnsafeBufferPointer { xp in
            ys.withUnsafeBufferPointer { yp in
                texture.pixels.withUnsafeBufferPointer { tex in
                    crossings.withUnsafeMutableBufferPointer { cross in
                        for y in firstRow..<endRow {
                            let yc = Double(y) + 0.5
                            var count = 0
                            var j = n - 1
                            for i in 0..<n {
                                let yi = yp[i], yj = yp[j]
                                if (yi <= yc && yj > yc) || (yj <= yc && yi > yc) {
                                    let x = xp[i] + (yc - yi) * (xp[j] - xp[i]) / (yj - yi)
                                    // Insertion sort as we go (few crossings a row).
                                    var k = count
                                    while k > 0 && cross[k - 1] > x {
                                        cross[k] = cross[k - 1]
                                        k -= 1
                                    }
                                    cross[k] = x
                                    count += 1
                                }
                                j = i
                            }
                            let dy = yc - pose.cy
                            let uRow = (c * (0.5 - pose.cx) + s * dy) / pose.sx
                            let vRow = (-s * (0.5 - pose.cx) + c * dy) / pose.sy
                            let rowPixels = canvas.pixels + y * canvas.width * 3
                            let rowMask = mask.map { $0 + y * canvas.width }
                            var p = 0
                            while p + 1 < count {
                                let x0 = max(0, Int((cross[p] - 0.5).rounded(.up)))
                                let x1 = min(canvas.width, Int((cross[p + 1] - 0.5).rounded(.up)))
                                p += 2
                                if x0 >= x1 { continue }
                                covered += x1 - x0
                                if let rm = rowMask { (rm + x0).update(repeating: maskValue, count: x1 - x0) }
                                if let key {
                                    for x in x0..<x1 {
                                        rowPixels[3 * x] = key.0
                                        rowPixels[3 * x + 1] = key.1
                                        rowPixels[3 * x + 2] = key.2
                                    }
                                    continue
                                }
                                for x in x0..<x1 {
                                    let u = uRow + Double(x) * du, v = vRow + Double(x) * dv
                                    let ti = min(max(Int((u + 1) * half), 0), tmax)
                                    let tj = min(max(Int((v + 1) * half), 0), tmax)
                                    let t = (tj * texture.size + ti) * 3
                                    rowPixels[3 * x] = tex[t]
                                    rowPixels[3 * x + 1] = tex[t + 1]
                                    rowPixels[3 * x + 2] = tex[t + 2]
                                }
                            }
                        }
                    }
                }
            }
        }
        return covered
    }
}

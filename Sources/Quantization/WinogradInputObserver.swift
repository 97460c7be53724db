/// The calibration statistic of a 3x3 stride-1 convolution computed in the Winograd domain (siam_int8.h, "wd23"):
/// per position xi of the F(2x2, 3x3) input transform V = B^T d B, the largest |V| over every tile and channel of
/// the float32 input it saw, in the input's real units (zero padding, the kernel's tiling of dilated sub-grids).
/// The quantiser turns it into the layer's 16 input multipliers.
public struct WinogradInputObserver: Sendable, Equatable {
    public private(set) var absMax = [Float](repeating: 0, count: 16)
    public private(set) var frames = 0
    public let padding: Int
    public let dilation: Int

    public init(padding: Int, dilation: Int) {
        precondition(padding >= 0 && dilation >= 1)
        self.padding = padding
        self.dilation = dilation
    }

    /// One input (channels x height x width, planar). Non-finite values are skipped (they never reach a kernel's
    /// statistics: calibration reports them separately).
    public mutating func observe(_ values: UnsafeBufferPointer<Float>, channels: Int, height: Int, width: Int) {
        precondition(values.count == channels * height * width)
        let (p, d) = (padding, dilation)
        let (oh, ow) = (height + 2 * p - 2 * d, width + 2 * p - 2 * d)
        guard oh > 0, ow > 0 else { return }
        var best = absMax
        var patch = [Float](repeating: 0, count: 16)
        for c in 0..<channels {
            let plane = c * height * width
            for oy0 in 0..<oh where (oy0 / d) % 2 == 0 {
                for ox0 in 0..<ow where (ox0 / d) % 2 == 0 {
                    for r in 0..<4 {
                        let iy = oy0 - p + d * r
                        for q in 0..<4 {
                            let ix = ox0 - p + d * q
                            let inside = iy >= 0 && iy < height && ix >= 0 && ix < width
                            let v = inside ? values[plane + iy * width + ix] : 0
                            patch[4 * r + q] = v.isFinite ? v : 0
                        }
                    }
                    Self.transform(&patch)
                    for xi in 0..<16 { best[xi] = max(best[xi], abs(patch[xi])) }
                }
            }
        }
        absMax = best
        frames += 1
    }

    /// V = B^T d B in place, B^T = [[1,0,-1,0],[0,1,1,0],[0,-1,1,0],[0,1,0,-1]].
    static func transform(_ d: inout [Float]) {
        var t = [Float](repeating: 0, count: 16)
        for q in 0..<4 {
            t[q] = d[q] - d[8 + q]
            t[4 + q] = d[4 + q] + d[8 + q]
            t[8 + q] = d[8 + q] - d[4 + q]
            t[12 + q] = d[4 + q] - d[12 + q]
        }
        for r in 0..<4 {
            let row = 4 * r
            d[row] = t[row] - t[row + 2]
            d[row + 1] = t[row + 1] + t[row + 2]
            d[row + 2] = t[row + 2] - t[row + 1]
            d[row + 3] = t[row + 1] - t[row + 3]
        }
    }

    /// The 16 multipliers m[xi] = round(127 * 32768 * inputScale / absMax[xi]) in [1, 32767] (32767 where nothing
    /// was seen): the quantised transform (V in input codes times m / 32768) then spans [-127, 127].
    public static func multipliers(absMax: [Float], inputScale: Float) -> [Int16] {
        precondition(absMax.count == 16)
        return absMax.map { vmax -> Int16 in
            guard vmax.isFinite, vmax > 0, inputScale.isFinite, inputScale > 0 else { return 32767 }
            let m = (127.0 * 32768.0 * Double(inputScale) / Double(vmax)).rounded()
            return Int16(max(1, min(32767, m)))
        }
    }
}

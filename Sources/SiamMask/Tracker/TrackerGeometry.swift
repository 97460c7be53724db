import Foundation
import Imaging
import SiamMaskLayout

/// The official tracker's geometry helpers, with the same rounding and precision (float64 where the official numpy
/// code computes in float64, float32 where it computes on float32 network outputs).
public enum TrackerGeometry {
    /// `get_axis_aligned_bbox` for an 8-value VOT polygon: centre = vertex mean; w, h = s * extent + 1 with
    /// s = sqrt(A1 / A2), A1 = |v1 - v2| * |v2 - v3|, A2 = bounding-box area.
    public static func votPolygonToBox(_ v: [Double]) -> (cx: Double, cy: Double, w: Double, h: Double) {
        precondition(v.count == 8)
        let xs = [v[0], v[2], v[4], v[6]], ys = [v[1], v[3], v[5], v[7]]
        let cx = (((xs[0] + xs[1]) + xs[2]) + xs[3]) / 4
        let cy = (((ys[0] + ys[1]) + ys[2]) + ys[3]) / 4
        let x1 = xs.min()!, x2 = xs.max()!, y1 = ys.min()!, y2 = ys.max()!
        func norm(_ a: Double, _ b: Double) -> Double { (a * a + b * b).squareRoot() }
        let a1 = norm(v[0] - v[2], v[1] - v[3]) * norm(v[2] - v[4], v[3] - v[5])
        let a2 = (x2 - x1) * (y2 - y1)
        let s = (a1 / a2).squareRoot()
        return (cx, cy, s * (x2 - x1) + 1, s * (y2 - y1) + 1)
    }

    /// `cv2.boundingRect` of the nonzero pixels of a mask; nil when the mask is empty.
    public static func boundingRect(of mask: [UInt8], width: Int, height: Int) -> (x: Int, y: Int, w: Int, h: Int)? {
        var x0 = width, y0 = height, x1 = -1, y1 = -1
        for y in 0..<height {
            let row = y * width
            for x in 0..<width where mask[row + x] != 0 {
                x0 = min(x0, x); x1 = max(x1, x); y0 = min(y0, y); y1 = max(y1, y)
            }
        }
        return x1 < 0 ? nil : (x0, y0, x1 - x0 + 1, y1 - y0 + 1)
    }

    /// Per-channel mean of a BGR frame (`np.mean(im, axis=(0, 1))`): integer sums are exact in float64, so this
    /// equals numpy's pairwise sum.
    public static func averageColour(_ image: Image) -> [Double] {
        var sums = [Int64](repeating: 0, count: 3)
        image.pixels.withUnsafeBufferPointer { p in
            var i = 0
            while i < p.count {
                sums[0] += Int64(p[i]); sums[1] += Int64(p[i + 1]); sums[2] += Int64(p[i + 2])
                i += 3
            }
        }
        let n = Double(image.width * image.height)
        return sums.map { Double($0) / n }
    }

    /// `np.hanning(n)` exactly as numpy evaluates it: k = 1-n, 3-n, ..., n-1; 0.5 + 0.5 cos(pi k / (n - 1)).
    public static func hanning(_ n: Int) -> [Double] {
        guard n > 1 else { return [1] }
        return stride(from: 1 - n, to: n, by: 2).map { k -> Double in
            0.5 + 0.5 * cos(Double.pi * Double(k) / Double(n - 1))
        }
    }

    /// The cosine window, flattened and tiled once per anchor (anchor-major, like the flat index n).
    public static func cosineWindow(scoreSize: Int, anchors: Int) -> [Double] {
        let h = hanning(scoreSize)
        var w: [Double] = []
        w.reserveCapacity(scoreSize * scoreSize * anchors)
        for _ in 0..<anchors { for i in 0..<scoreSize { for j in 0..<scoreSize { w.append(h[i] * h[j]) } } }
        return w
    }

    /// `generate_anchor`: float32 (cx, cy, w, h) per flat index n = a*S*S + i*S + j, centres 8*(j - S/2), 8*(i - S/2).
    public static func anchorGrid(_ config: AnchorConfig, scoreSize: Int) -> [(x: Float, y: Float, w: Float, h: Float)]
    {
        let sizes = config.anchorSizes
        let origin = -(scoreSize / 2) * config.stride
        var out: [(Float, Float, Float, Float)] = []
        out.reserveCapacity(sizes.count * scoreSize * scoreSize)
        for (w, h) in sizes {
            // x1 = -w/2, x2 = w/2 in float32: the width survives as x2 - x1.
            let fw = Float(w * 0.5) - Float(-w * 0.5), fh = Float(h * 0.5) - Float(-h * 0.5)
            for i in 0..<scoreSize {
                for j in 0..<scoreSize {
                    out.append((Float(origin + config.stride * j), Float(origin + config.stride * i), fw, fh))
                }
            }
        }
        return out
    }
}

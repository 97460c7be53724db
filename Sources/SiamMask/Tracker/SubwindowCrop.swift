import Imaging
import Runtime
import Tensors

/// `get_subwindow_tracking`: a square of side `originalSize` around `pos`, padded with the first frame's average
/// colour (truncated to uint8), resized to `modelSize` with OpenCV's bilinear on uint8, as a float32 CHW tensor.
public enum SubwindowCrop {
    /// The integer crop origin: round(pos - (size + 1) / 2), with round-half-to-even as Python's round.
    public static func origin(_ pos: Double, size: Int) -> Int {
        Int((pos - Double(size + 1) / 2).rounded(.toNearestOrEven))
    }

    public static func crop(_ image: Image, center: (x: Double, y: Double), modelSize: Int, originalSize: Int,
                            averageColour: [Double]) -> Tensor {
        precondition(image.channels == 3 && originalSize >= 1 && modelSize >= 1)
        let x0 = origin(center.x, size: originalSize), y0 = origin(center.y, size: originalSize)
        let fill = averageColour.map { UInt8(truncatingIfNeeded: Int(max(0, min(255, $0)))) }
        let side = originalSize, w = image.width, h = image.height
        var patch = [UInt8](repeating: 0, count: side * side * 3)
        // One row of the padding colour, copied from in blocks (the search square often reaches far past the frame).
        var padRow = [UInt8](repeating: 0, count: side * 3)
        for c in 0..<side { padRow[3 * c] = fill[0]; padRow[3 * c + 1] = fill[1]; padRow[3 * c + 2] = fill[2] }
        image.pixels.withUnsafeBufferPointer { src in
            patch.withUnsafeMutableBufferPointer { dst in
                padRow.withUnsafeBufferPointer { colour in
                    // Pixels outside the image take the padding colour.
                    func pad(_ row: Int, _ columns: Range<Int>) {
                        guard !columns.isEmpty else { return }
                        (dst.baseAddress! + row + 3 * columns.lowerBound).update(from: colour.baseAddress!, count: 3 * columns.count)
                    }
                    for r in 0..<side {
                        let y = y0 + r
                        let out = r * side * 3
                        // Columns inside the image copy in one block; the rest is the padding colour.
                        let xa = max(0, -x0), xb = min(side, w - x0)
                        if y < 0 || y >= h || xa >= xb {
                            pad(out, 0..<side)
                            continue
                        }
                        pad(out, 0..<xa)
                        pad(out, xb..<side)
                        let from = (y * w + x0 + xa) * 3
                        (dst.baseAddress! + out + 3 * xa).update(from: src.baseAddress! + from, count: (xb - xa) * 3)
                    }
                }
            }
        }
        let resized = modelSize == side ? patch
            : ImageKernels.resizeBilinear(patch, width: side, height: side, channels: 3, toWidth: modelSize, toHeight: modelSize)
        // HWC uint8 -> CHW float32 (values 0...255, BGR, no normalisation).
        let plane = modelSize * modelSize
        var chw = [Float](repeating: 0, count: 3 * plane)
        resized.withUnsafeBufferPointer { s in
            chw.withUnsafeMutableBufferPointer { d in
                for i in 0..<plane {
                    d[i] = Float(s[3 * i]); d[plane + i] = Float(s[3 * i + 1]); d[2 * plane + i] = Float(s[3 * i + 2])
                }
            }
        }
        return Tensor(shape: [1, 3, modelSize, modelSize], floats: chw)
    }
}

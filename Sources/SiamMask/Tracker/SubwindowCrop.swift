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

    public static func crop(
        _ image: Image, center: (x: Double, y: Double), modelSize: Int, originalSize: Int,
        averageColour: [Double]
    ) -> Tensor {
        precondition(image.channels == 3 && originalSize >= 1 && modelSize >= 1)
        let x0 = origin(center.x, size: originalSize), y0 = origin(center.y, size: originalSize)
        let fill = averageColour.map { UInt8(truncatingIfNeeded: Int(max(0, min(255, $0)))) }
        // The padded square is never built (it reaches 2.6k x 2.6k pixels, 21 MB, for a target filling an 854x480
        // frame, and a buffer that size each frame made the resident set step up with every new largest target):
        // the kernel forms only the rows the resize reads. Same bytes as padding, then resizing.
        let resized = ImageKernels.cropResizeBilinear(
            image.pixels, width: image.width, height: image.height, channels: 3,
            x0: x0, y0: y0, side: originalSize, fill: fill, toWidth: modelSize,
            toHeight: modelSize)
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

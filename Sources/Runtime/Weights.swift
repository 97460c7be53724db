import CKernels
import Foundation
import Tensors

/// Convolution weights (OIHW float32) and bias, packed lazily once per kernel tier and shared by every graph
/// that uses them.
public final class ConvolutionWeights: @unchecked Sendable {
    public let name: String
    public let outChannels: Int
    public let inChannels: Int
    public let kernel: Int
    public let weights: [Float]
    public let bias: [Float]
    /// The int8 form, when the layer is quantised: an executor with an int8 configuration runs it with the int8
    /// kernels; any other executor uses `weights` and `bias`, which then hold the dequantised values.
    public let int8: Int8ConvolutionWeights?
    private let lock = NSLock()
    private var packedByLayout: [Float32PackKey: AlignedBuffer] = [:]
    private var packedInt8ByShape: [PackKey: AlignedBuffer] = [:]

    public init(
        name: String, weights: [Float], bias: [Float]?, outChannels: Int, inChannels: Int, kernel: Int,
        int8: Int8ConvolutionWeights? = nil
    ) {
        precondition(weights.count == outChannels * inChannels * kernel * kernel, "\(name): weight count")
        self.name = name
        self.outChannels = outChannels
        self.inChannels = inChannels
        self.kernel = kernel
        self.weights = weights
        self.bias = bias ?? [Float](repeating: 0, count: outChannels)
        precondition(self.bias.count == outChannels, "\(name): bias count")
        if let q = int8 {
            precondition(
                q.values.count == weights.count && q.scales.count == outChannels && q.bias.count == outChannels,
                "\(name): int8 weight counts")
        }
        self.int8 = int8
    }

    public convenience init(name: String, weight: Tensor, bias: Tensor?) throws {
        guard weight.dtype == .float32, weight.shape.count == 4, weight.shape[2] == weight.shape[3] else {
            throw GraphError.shapeMismatch(
                node: name,
                detail:
                    "convolution weight must be float32 OIHW with a square kernel, got \(weight.dtype) \(weight.shape)")
        }
        if let b = bias, b.dtype != .float32 || b.shape != [weight.shape[0]] {
            throw GraphError.shapeMismatch(
                node: name, detail: "bias shape \(b.shape) does not fit \(weight.shape[0]) outputs")
        }
        self.init(
            name: name, weights: weight.floats, bias: bias?.floats, outChannels: weight.shape[0],
            inChannels: weight.shape[1], kernel: weight.shape[2])
    }

    /// int8 packs: by tier, geometry and the input zero point their per-channel terms hold.
    struct PackKey: Hashable {
        let tier: UInt32; let stride: Int32; let pad: Int32; let dilation: Int32; let inH: Int32; let inW: Int32
        var zeroPoint: Int32 = 0
    }

    /// float32 packs: by tier and layout (`conv2d_f32_packing`), which are all the layout depends on.
    struct Float32PackKey: Hashable {
        let tier: UInt32
        let packing: Int32
    }

    /// Packed int8 weights for an int8 tier, geometry and input zero point (the packed per-channel term holds it).
    func packedInt8(
        for table: UnsafePointer<sm_int8_kernel_table>, shape: sm_conv2d_shape, inputZeroPoint: Int32
    ) -> UnsafeRawPointer {
        let key = PackKey(
            tier: table.pointee.tier.rawValue, stride: shape.stride_h, pad: shape.pad_top,
            dilation: shape.dilation_h, inH: shape.in_height, inW: shape.in_width, zeroPoint: inputZeroPoint)
        lock.lock()
        defer { lock.unlock() }
        if let p = packedInt8ByShape[key] { return UnsafeRawPointer(p.floats) }
        var s = shape
        let winograd = runsInWinogradDomain(shape: shape)
        let bytes = winograd ? table.pointee.conv2d_wd23_packed_bytes(&s) : table.pointee.conv2d_u8s8_packed_bytes(&s)
        let buffer = AlignedBuffer(bytes: max(bytes, 64))
        int8!.values.withUnsafeBufferPointer { w in
            if let m = int8!.winogradMultipliers, winograd {
                m.withUnsafeBufferPointer { mp in
                    table.pointee.conv2d_wd23_pack(&s, w.baseAddress!, inputZeroPoint, mp.baseAddress!, buffer.floats)
                }
            } else {
                table.pointee.conv2d_u8s8_pack(&s, w.baseAddress!, inputZeroPoint, buffer.floats)
            }
        }
        packedInt8ByShape[key] = buffer
        return UnsafeRawPointer(buffer.floats)
    }

    /// Whether this layer runs in the Winograd domain at this shape: it carries multipliers and the shape is a
    /// 3x3 stride-1 convolution the wd23 kernels take.
    func runsInWinogradDomain(shape: sm_conv2d_shape) -> Bool {
        guard int8?.winogradMultipliers != nil else { return false }
        var s = shape
        return sm_int8_wd23_supports(&s) != 0
    }

    /// Packed weights for a tier and the layout it packs this shape in (GEMM panels or Winograd), shared by every
    /// shape with the same layout: the template branch (127x127 crops) reuses the search branch's packs.
    func packed(for table: UnsafePointer<sm_kernel_table>, shape: sm_conv2d_shape) -> UnsafePointer<Float> {
        var s = shape
        let key = Float32PackKey(tier: table.pointee.tier.rawValue, packing: table.pointee.conv2d_f32_packing(&s))
        lock.lock()
        defer { lock.unlock() }
        if let p = packedByLayout[key] { return UnsafePointer(p.floats) }
        let count = table.pointee.conv2d_f32_packed_floats(&s)
        let buffer = AlignedBuffer(floats: max(count, 1))
        weights.withUnsafeBufferPointer { w in table.pointee.conv2d_f32_pack(&s, w.baseAddress!, buffer.floats) }
        packedByLayout[key] = buffer
        return UnsafePointer(buffer.floats)
    }
}

/// A convolution's int8 weights: symmetric per output channel (real w = scales[o] * values), OIHW, with the bias as
/// the float32 the int8 epilogue adds (the model file stores it as int32 at the accumulator scale).
public struct Int8ConvolutionWeights: Sendable {
    public let values: [Int8]
    public let scales: [Float]
    public let bias: [Float]
    /// The 16 input multipliers of a layer computed in the Winograd domain (siam_int8.h, "wd23": 3x3 stride-1
    /// convolutions only), or nil for the exact int8 arithmetic.
    public let winogradMultipliers: [Int16]?
    public init(values: [Int8], scales: [Float], bias: [Float], winogradMultipliers: [Int16]? = nil) {
        precondition(winogradMultipliers.map { $0.count == 16 && $0.allSatisfy { $0 >= 1 } } ?? true)
        self.values = values
        self.scales = scales
        self.bias = bias
        self.winogradMultipliers = winogradMultipliers
    }
}

/// ConvTranspose2d weights stored (in, out, k, k) with a bias per output channel.
public final class TransposedConvolutionWeights: @unchecked Sendable {
    public let name: String
    public let inChannels: Int
    public let outChannels: Int
    public let kernel: Int
    public let weights: [Float]
    public let bias: [Float]

    public init(name: String, weight: Tensor, bias: Tensor?) throws {
        guard weight.dtype == .float32, weight.shape.count == 4, weight.shape[2] == weight.shape[3] else {
            throw GraphError.shapeMismatch(
                node: name, detail: "transposed convolution weight must be float32 (in, out, k, k), got \(weight.shape)"
            )
        }
        self.name = name
        inChannels = weight.shape[0]
        outChannels = weight.shape[1]
        kernel = weight.shape[2]
        weights = weight.floats
        if let b = bias {
            guard b.dtype == .float32, b.shape == [outChannels] else {
                throw GraphError.shapeMismatch(
                    node: name, detail: "bias shape \(b.shape) does not fit \(outChannels) outputs")
            }
            self.bias = b.floats
        } else {
            self.bias = [Float](repeating: 0, count: outChannels)
        }
    }
}

/// A 64-byte aligned float buffer, freed with its owner.
final class AlignedBuffer: @unchecked Sendable {
    let floats: UnsafeMutablePointer<Float>
    let count: Int
    init(floats count: Int) {
        self.count = count
        let raw = UnsafeMutableRawPointer.allocate(byteCount: max(count, 1) * MemoryLayout<Float>.stride, alignment: 64)
        floats = raw.bindMemory(to: Float.self, capacity: max(count, 1))
    }
    init(bytes: Int) {
        count = (bytes + 3) / 4
        let raw = UnsafeMutableRawPointer.allocate(byteCount: max(bytes, 4), alignment: 64)
        floats = raw.bindMemory(to: Float.self, capacity: max(count, 1))
    }
    deinit { UnsafeMutableRawPointer(floats).deallocate() }
}

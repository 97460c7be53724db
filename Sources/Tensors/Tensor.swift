/// A dense, contiguous, row-major tensor of one dtype. Storage is little-endian bytes so that any dtype
/// round-trips through files unchanged; `floats` gives a typed view for float32 tensors.
public struct Tensor: Sendable, Equatable {
    public let dtype: DType
    public let shape: [Int]
    public private(set) var storage: [UInt8]

    /// Number of elements (1 for a scalar of shape []).
    public var count: Int { shape.reduce(1, *) }
    public var byteCount: Int { storage.count }

    /// Creates a tensor over raw bytes; fails if the byte count does not match shape and dtype.
    public init(dtype: DType, shape: [Int], storage: [UInt8]) throws {
        guard let elements = Tensor.elementCount(shape), shape.allSatisfy({ $0 >= 0 }) else {
            throw TensorError.invalidShape(shape)
        }
        let (bytes, overflow) = elements.multipliedReportingOverflow(by: dtype.byteSize)
        guard !overflow, bytes == storage.count else {
            throw TensorError.byteCountMismatch(expected: overflow ? -1 : bytes, actual: storage.count)
        }
        self.dtype = dtype
        self.shape = shape
        self.storage = storage
    }

    public init(shape: [Int], floats: [Float]) {
        precondition(Tensor.elementCount(shape) == floats.count, "shape \(shape) does not hold \(floats.count) values")
        self.dtype = .float32
        self.shape = shape
        self.storage = floats.withUnsafeBytes { Array($0) }
    }

    public init(shape: [Int], int8 values: [Int8]) {
        precondition(Tensor.elementCount(shape) == values.count)
        self.dtype = .int8
        self.shape = shape
        self.storage = values.withUnsafeBytes { Array($0) }
    }

    public init(shape: [Int], int32 values: [Int32]) {
        precondition(Tensor.elementCount(shape) == values.count)
        self.dtype = .int32
        self.shape = shape
        self.storage = values.withUnsafeBytes { Array($0) }
    }

    public init(shape: [Int], int64 values: [Int64]) {
        precondition(Tensor.elementCount(shape) == values.count)
        self.dtype = .int64
        self.shape = shape
        self.storage = values.withUnsafeBytes { Array($0) }
    }

    /// Float values of a float32 tensor.
    public var floats: [Float] {
        precondition(dtype == .float32, "floats of a \(dtype) tensor")
        return [Float](unsafeUninitializedCapacity: count) { buffer, initialized in
            storage.withUnsafeBytes { raw in
                _ = memcpyBytes(UnsafeMutableRawBufferPointer(buffer), raw)
            }
            initialized = count
        }
    }

    public var int64s: [Int64] {
        precondition(dtype == .int64, "int64s of a \(dtype) tensor")
        return [Int64](unsafeUninitializedCapacity: count) { buffer, initialized in
            storage.withUnsafeBytes { raw in _ = memcpyBytes(UnsafeMutableRawBufferPointer(buffer), raw) }
            initialized = count
        }
    }

    public func withUnsafeBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        try storage.withUnsafeBytes(body)
    }

    /// The same bytes seen with another shape of equal element count.
    public func reshaped(_ newShape: [Int]) throws -> Tensor {
        guard Tensor.elementCount(newShape) == count else { throw TensorError.invalidShape(newShape) }
        return try Tensor(dtype: dtype, shape: newShape, storage: storage)
    }

    /// Element count of a shape, nil on overflow.
    public static func elementCount(_ shape: [Int]) -> Int? {
        var total = 1
        for d in shape {
            guard d >= 0 else { return nil }
            let (p, o) = total.multipliedReportingOverflow(by: d)
            if o { return nil }
            total = p
        }
        return total
    }
}

@inline(__always)
private func memcpyBytes(_ dst: UnsafeMutableRawBufferPointer, _ src: UnsafeRawBufferPointer) -> Int {
    let n = min(dst.count, src.count)
    if n > 0 { dst.baseAddress!.copyMemory(from: src.baseAddress!, byteCount: n) }
    return n
}

public enum TensorError: Error, Equatable, CustomStringConvertible {
    case invalidShape([Int])
    case byteCountMismatch(expected: Int, actual: Int)

    public var description: String {
        switch self {
        case .invalidShape(let s): return "invalid tensor shape \(s)"
        case .byteCountMismatch(let e, let a): return "tensor data is \(a) bytes, shape and dtype need \(e)"
        }
    }
}

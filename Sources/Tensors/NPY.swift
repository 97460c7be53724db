import Foundation

/// Reader and writer of NumPy `.npy` files (format versions 1–3, C order, little-endian).
public enum NPY {
    public static func read(_ url: URL) throws -> Tensor {
        let data: Data
        do { data = try Data(contentsOf: url) } catch {
            throw NPYError.unreadable(url.path, String(describing: error.localizedDescription))
        }
        return try decode([UInt8](data), source: url.lastPathComponent)
    }

    public static func decode(_ bytes: [UInt8], source: String = "npy") throws -> Tensor {
        let magic: [UInt8] = [0x93, 0x4E, 0x55, 0x4D, 0x50, 0x59]
        guard bytes.count >= 10, Array(bytes[0..<6]) == magic else {
            throw NPYError.malformed(source, "not an .npy file (bad magic)")
        }
        let major = bytes[6]
        let headerLength: Int
        let headerStart: Int
        switch major {
        case 1:
            headerLength = Int(bytes[8]) | Int(bytes[9]) << 8
            headerStart = 10
        case 2, 3:
            guard bytes.count >= 12 else { throw NPYError.malformed(source, "truncated header") }
            headerLength = Int(bytes[8]) | Int(bytes[9]) << 8 | Int(bytes[10]) << 16 | Int(bytes[11]) << 24
            headerStart = 12
        default:
            throw NPYError.malformed(source, "unsupported .npy version \(major)")
        }
        guard headerLength <= 1 << 20, headerStart + headerLength <= bytes.count else {
            throw NPYError.malformed(source, "truncated header")
        }
        guard let header = String(bytes: bytes[headerStart..<headerStart + headerLength], encoding: .utf8) else {
            throw NPYError.malformed(source, "header is not text")
        }
        guard let descr = field("descr", in: header) else { throw NPYError.malformed(source, "header has no descr") }
        let dtype: DType
        switch descr.trimmingCharacters(in: CharacterSet(charactersIn: "'\" ")) {
        case "<f4", "f4": dtype = .float32
        case "<i8", "i8": dtype = .int64
        case "<i4", "i4": dtype = .int32
        case "|i1", "i1", "<i1": dtype = .int8
        case "|u1", "u1", "<u1": dtype = .uint8
        case "<f2": dtype = .float16
        case let other: throw NPYError.unsupportedDType(source, other)
        }
        if let fortran = field("fortran_order", in: header), fortran.hasPrefix("True") {
            throw NPYError.malformed(source, "Fortran-order arrays are not supported")
        }
        guard let shapeText = tupleField("shape", in: header) else {
            throw NPYError.malformed(source, "header has no shape")
        }
        var shape: [Int] = []
        for part in shapeText.split(separator: ",") {
            let t = part.trimmingCharacters(in: .whitespaces)
            if t.isEmpty { continue }
            guard let d = Int(t), d >= 0 else { throw NPYError.malformed(source, "bad shape (\(shapeText))") }
            shape.append(d)
        }
        guard let elements = Tensor.elementCount(shape) else { throw NPYError.malformed(source, "shape too large") }
        let dataStart = headerStart + headerLength
        let (need, overflow) = elements.multipliedReportingOverflow(by: dtype.byteSize)
        guard !overflow, bytes.count - dataStart == need else {
            throw NPYError.malformed(
                source, "data is \(bytes.count - dataStart) bytes, shape \(shape) of \(dtype) needs \(need)")
        }
        return try Tensor(dtype: dtype, shape: shape, storage: Array(bytes[dataStart...]))
    }

    public static func encode(_ tensor: Tensor) -> [UInt8] {
        let descr: String
        switch tensor.dtype {
        case .float32: descr = "<f4"
        case .int64: descr = "<i8"
        case .int32: descr = "<i4"
        case .int8: descr = "|i1"
        case .uint8: descr = "|u1"
        case .float16: descr = "<f2"
        }
        let shapeText =
            tensor.shape.count == 1
            ? "(\(tensor.shape[0]),)" : "(" + tensor.shape.map(String.init).joined(separator: ", ") + ")"
        var header = "{'descr': '\(descr)', 'fortran_order': False, 'shape': \(shapeText), }"
        let unpadded = 10 + header.utf8.count + 1
        header += String(repeating: " ", count: (64 - unpadded % 64) % 64) + "\n"
        var out: [UInt8] = [0x93, 0x4E, 0x55, 0x4D, 0x50, 0x59, 1, 0]
        let n = header.utf8.count
        out.append(UInt8(n & 0xFF)); out.append(UInt8(n >> 8))
        out.append(contentsOf: header.utf8)
        out.append(contentsOf: tensor.storage)
        return out
    }

    /// Writes atomically: a temporary file in the same folder, renamed into place.
    public static func write(_ tensor: Tensor, to url: URL) throws {
        try Data(encode(tensor)).write(to: url, options: .atomic)
    }

    private static func field(_ key: String, in header: String) -> String? {
        guard let r = header.range(of: "'\(key)':") else { return nil }
        let rest = header[r.upperBound...].trimmingCharacters(in: .whitespaces)
        if let end = rest.firstIndex(of: ",") { return String(rest[..<end]) }
        return rest
    }

    private static func tupleField(_ key: String, in header: String) -> String? {
        guard let r = header.range(of: "'\(key)':") else { return nil }
        let rest = header[r.upperBound...]
        guard let open = rest.firstIndex(of: "("), let close = rest[open...].firstIndex(of: ")") else { return nil }
        return String(rest[rest.index(after: open)..<close])
    }
}

public enum NPYError: Error, CustomStringConvertible {
    case unreadable(String, String)
    case malformed(String, String)
    case unsupportedDType(String, String)

    public var description: String {
        switch self {
        case .unreadable(let p, let why): return "cannot read \(p): \(why)"
        case .malformed(let p, let why): return "\(p): malformed .npy: \(why)"
        case .unsupportedDType(let p, let d): return "\(p): unsupported .npy dtype \(d)"
        }
    }
}

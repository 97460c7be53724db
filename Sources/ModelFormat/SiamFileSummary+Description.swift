import Tensors

extension MetadataValue: CustomStringConvertible {
    /// The value as text: strings quoted, arrays in brackets, at most `elementLimit` elements shown.
    public func description(elementLimit: Int) -> String {
        func list(_ items: [String]) -> String {
            let shown = items.prefix(elementLimit).joined(separator: ", ")
            return items.count > elementLimit ? "[\(shown), … (\(items.count) values)]" : "[\(shown)]"
        }
        switch self {
        case .string(let s): return quoted(s)
        case .int(let v): return String(v)
        case .double(let v): return String(v)
        case .bool(let v): return String(v)
        case .ints(let a): return list(a.map { String($0) })
        case .doubles(let a): return list(a.map { String($0) })
        case .strings(let a): return list(a.map(quoted))
        }
    }

    public var description: String { description(elementLimit: .max) }

    /// The type's name in the spec.
    public var typeName: String {
        switch self {
        case .string: return "string"
        case .int: return "int64"
        case .double: return "float64"
        case .bool: return "bool"
        case .ints: return "int64[]"
        case .doubles: return "float64[]"
        case .strings: return "string[]"
        }
    }
}

private func quoted(_ s: String) -> String {
    var out = "\""
    for ch in s.unicodeScalars {
        switch ch {
        case "\"": out += "\\\""
        case "\\": out += "\\\\"
        case "\n": out += "\\n"
        case "\t": out += "\\t"
        default:
            if ch.value < 0x20 || ch.value == 0x7F {
                out += "\\u{\(String(ch.value, radix: 16))}"
            } else {
                out.unicodeScalars.append(ch)
            }
        }
    }
    return out + "\""
}

extension SiamFileSummary: CustomStringConvertible {
    /// A listing for people: version and sizes, metadata sorted by key, then the tensor table in file order.
    public var description: String {
        var lines: [String] = []
        let ratio = totalUncompressedSize == 0 ? 100 : 100 * Double(totalCompressedSize) / Double(totalUncompressedSize)
        lines.append(
            ".siam format \(majorVersion).\(minorVersion): \(fileSize) bytes, header \(headerLength) bytes, "
                + "\(tensors.count) tensors, \(totalUncompressedSize) bytes of data stored in \(totalCompressedSize) "
                + "(\(formatPercent(ratio)))")
        lines.append("metadata (\(metadata.count) entries):")
        for (key, value) in metadata.sorted(by: { $0.key.utf8.lexicographicallyPrecedes($1.key.utf8) }) {
            lines.append("  \(key) (\(value.typeName)) = \(value.description(elementLimit: 16))")
        }
        lines.append("tensors (\(tensors.count)):")
        for t in tensors {
            var line =
                "  \(t.name)  \(t.dtype) \(t.shape)  \(t.uncompressedSize) -> \(t.compressedSize) bytes at \(t.dataOffset)"
            if let q = t.quantization {
                if let axis = q.axis {
                    line += "  quantised per channel (axis \(axis), \(q.scales.count) channels)"
                } else if let s = q.scales.first, let z = q.zeroPoints.first {
                    line += "  quantised per tensor (scale \(s), zero point \(z))"
                }
            }
            lines.append(line)
        }
        return lines.joined(separator: "\n")
    }
}

private func formatPercent(_ v: Double) -> String {
    let tenths = (v * 10).rounded()
    return "\(Int(tenths) / 10).\(Int(tenths) % 10)%"
}

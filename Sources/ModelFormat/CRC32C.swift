/// CRC-32C (Castagnoli, reflected polynomial 0x82F63B78, initial value and final XOR 0xFFFFFFFF), table driven,
/// slicing by 8. `checksum(of: "123456789")` is 0xE3069283.
public enum CRC32C {
    /// Checksum of `bytes`; pass the checksum of the bytes before them as `seed` to continue over a split input.
    public static func checksum(_ bytes: UnsafeRawBufferPointer, seed: UInt32 = 0) -> UInt32 {
        guard var p = bytes.baseAddress, bytes.count > 0 else { return seed }
        var n = bytes.count
        var crc = ~seed
        table.withUnsafeBufferPointer { t in
            while n >= 8 {
                let word = UInt64(littleEndian: p.loadUnaligned(as: UInt64.self))
                let lo = UInt32(truncatingIfNeeded: word) ^ crc
                let hi = UInt32(truncatingIfNeeded: word &>> 32)
                crc =
                    t[0x700 | Int(lo & 0xFF)] ^ t[0x600 | Int((lo &>> 8) & 0xFF)]
                    ^ t[0x500 | Int((lo &>> 16) & 0xFF)] ^ t[0x400 | Int(lo &>> 24)]
                    ^ t[0x300 | Int(hi & 0xFF)] ^ t[0x200 | Int((hi &>> 8) & 0xFF)]
                    ^ t[0x100 | Int((hi &>> 16) & 0xFF)] ^ t[Int(hi &>> 24)]
                p += 8
                n -= 8
            }
            while n > 0 {
                crc = t[Int((crc ^ UInt32(p.load(as: UInt8.self))) & 0xFF)] ^ (crc &>> 8)
                p += 1
                n -= 1
            }
        }
        return ~crc
    }

    public static func checksum(of bytes: [UInt8], seed: UInt32 = 0) -> UInt32 {
        bytes.withUnsafeBytes { checksum($0, seed: seed) }
    }

    public static func checksum(of text: String) -> UInt32 {
        checksum(of: Array(text.utf8))
    }

    /// Eight 256-entry tables: table k maps a byte to its CRC contribution k bytes further on.
    private static let table: [UInt32] = {
        var t = [UInt32](repeating: 0, count: 8 * 256)
        for i in 0..<256 {
            var c = UInt32(i)
            for _ in 0..<8 { c = (c & 1) != 0 ? (c &>> 1) ^ 0x82F6_3B78 : c &>> 1 }
            t[i] = c
        }
        for k in 1..<8 {
            for i in 0..<256 {
                let prev = t[(k - 1) * 256 + i]
                t[k * 256 + i] = (prev &>> 8) ^ t[Int(prev & 0xFF)]
            }
        }
        return t
    }()
}

import Foundation
import FuzzDriver
import ModelFormat

// The .siam reader: the input as is, then with its checksums repaired so that mutations reach the header and
// table parsers and the zstd frames behind the CRC-32C checks.
func fuzzSiam(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    var bytes = [UInt8](UnsafeBufferPointer(start: data, count: size))
    _ = try? SiamFileReader.decode(bytes)
    // Repair: the header checksum, then each data checksum the table stores (found by its stored value in the
    // header body), a few rounds.
    guard bytes.count >= 20, bytes.starts(with: Array("SIAMMASK".utf8)) else { return 0 }
    let headerLength = Int(bytes[12]) | Int(bytes[13]) << 8 | Int(bytes[14]) << 16 | Int(bytes[15]) << 24
    guard headerLength <= bytes.count - 20 else { return 0 }
    let headerEnd = 20 + headerLength
    func repairHeader() {
        let crc = CRC32C.checksum(of: Array(bytes[20..<headerEnd]), seed: CRC32C.checksum(of: Array(bytes[0..<16])))
        for k in 0..<4 { bytes[16 + k] = UInt8(truncatingIfNeeded: crc >> (8 * UInt32(k))) }
    }
    repairHeader()
    for _ in 0..<8 {
        do {
            _ = try SiamFileReader.decode(bytes)
            return 0
        } catch SiamFormatError.dataChecksumMismatch(_, let stored, let computed) {
            let pattern = (0..<4).map { UInt8(truncatingIfNeeded: stored >> (8 * UInt32($0))) }
            var position: Int?
            var i = 20
            while i + 4 <= headerEnd {
                if bytes[i..<i + 4].elementsEqual(pattern) { position = i; break }
                i += 1
            }
            guard let at = position else { return 0 }
            for k in 0..<4 { bytes[at + k] = UInt8(truncatingIfNeeded: computed >> (8 * UInt32(k))) }
            repairHeader()
        } catch {
            return 0
        }
    }
    return 0
}

exit(fuzz_main(CommandLine.argc, CommandLine.unsafeArgv) { data, size in fuzzSiam(data!, size) })

import Foundation
import Imaging
import TestSupport
import XCTest

/// Decodes checked against OpenCV's cv2.imread / cv2.imdecode (see OpenCVReference.swift for how the references were
/// made). JPEG decodes must be bit-exact.
final class OpenCVMatchTests: XCTestCase {
    struct Reference: Decodable {
        struct Stats: Decodable {
            let shape: [Int]
            let fnv1a64: String
            let sum: Int
            let samples: [[Int]]
        }
        struct Real: Decodable {
            let path: String
            let bgr: Stats
            let grey: Stats
        }
        struct Raw: Decodable {
            let shape: [Int]
            let pixels: String
        }
        struct Small: Decodable {
            let data: String
            let bgr: Raw
            let grey: Raw
        }
        let opencv: String
        let real: [Real]
        let small: [String: Small]
    }

    static let reference: Reference = try! JSONDecoder().decode(Reference.self, from: Data(openCVReferenceJSON.utf8))

    /// FNV-1a 64 over little-endian 8-byte words, the last one zero-padded (as in the generator script).
    static func fnv1a64(_ bytes: [UInt8]) -> String {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        bytes.withUnsafeBufferPointer { p in
            let words = p.count / 8
            let raw = UnsafeRawPointer(p.baseAddress!)
            for i in 0..<words {
                h =
                    (h ^ UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: i * 8, as: UInt64.self)))
                    &* 0x100_0000_01b3
            }
            if p.count % 8 != 0 {
                var w: UInt64 = 0
                for (k, b) in p[(words * 8)...].enumerated() { w |= UInt64(b) << (8 * UInt64(k)) }
                h = (h ^ w) &* 0x100_0000_01b3
            }
        }
        let s = String(h, radix: 16)
        return String(repeating: "0", count: 16 - s.count) + s
    }

    static func shape(_ image: Image) -> [Int] {
        image.channels == 3 ? [image.height, image.width, 3] : [image.height, image.width]
    }

    func testRealFootageMatchesCv2Imread() throws {
        guard let data = TestPaths.sharedData else {
            throw XCTSkip("../shared/data is absent: skipping the comparison with cv2.imread on real footage")
        }
        for entry in Self.reference.real {
            let url = data.appendingPathComponent(entry.path)
            for (format, expected) in [(PixelFormat.bgr, entry.bgr), (.grey, entry.grey)] {
                let image = try Image.read(contentsOf: url, as: format)
                XCTAssertEqual(Self.shape(image), expected.shape, "\(entry.path) \(format)")
                for sample in expected.samples {
                    XCTAssertEqual(Int(image.pixels[sample[0]]), sample[1], "\(entry.path) \(format) byte \(sample[0])")
                }
                XCTAssertEqual(
                    image.pixels.reduce(0) { $0 + Int($1) }, expected.sum, "\(entry.path) \(format) byte sum")
                XCTAssertEqual(Self.fnv1a64(image.pixels), expected.fnv1a64, "\(entry.path) \(format) checksum")
            }
        }
    }

    func testSmallFilesMatchCv2Imdecode() throws {
        XCTAssertFalse(Self.reference.small.isEmpty)
        for (name, entry) in Self.reference.small.sorted(by: { $0.key < $1.key }) {
            let bytes = [UInt8](Data(base64Encoded: entry.data)!)
            for (format, expected) in [(PixelFormat.bgr, entry.bgr), (.grey, entry.grey)] {
                let image = try Image.decode(bytes, as: format, name: name)
                XCTAssertEqual(Self.shape(image), expected.shape, "\(name) \(format)")
                let want = [UInt8](Data(base64Encoded: expected.pixels)!)
                if image.pixels != want {
                    let diffs = zip(image.pixels, want).filter { $0 != $1 }.count
                    XCTFail("\(name) \(format): \(diffs) of \(want.count) bytes differ from OpenCV")
                }
            }
        }
    }

    func testBGRToGreyMatchesCvtColorFormula() throws {
        // cvtColor(BGR2GRAY) fixed point: (4899 R + 9617 G + 1868 B + 8192) >> 14.
        let image = try Image(width: 3, height: 1, channels: 3, pixels: [255, 0, 0, 0, 255, 0, 10, 200, 100])
        let grey = image.converted(to: .grey)
        let third: Int = (100 * 4899 + 200 * 9617 + 10 * 1868 + 8192) >> 14
        XCTAssertEqual(grey.pixels, [29, 150, UInt8(third)])
        let back: [UInt8] = [29, 29, 29, 150, 150, 150, UInt8(third), UInt8(third), UInt8(third)]
        XCTAssertEqual(grey.converted(to: .bgr).pixels, back)
    }
}

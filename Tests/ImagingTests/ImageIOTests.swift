import Foundation
import Imaging
import TestSupport
import XCTest

final class ImageIOTests: XCTestCase {
    var directory: URL!

    override func setUpWithError() throws { directory = try TestPaths.temporaryDirectory("imaging-test") }
    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: directory) }

    /// A smooth colour test pattern (JPEG-friendly) with a seeded bit of noise.
    static func pattern(width: Int, height: Int, seed: UInt64 = 1) -> Image {
        var rng = SeededGenerator(seed: seed)
        var image = Image(width: width, height: height, format: .bgr)
        for y in 0..<height {
            for x in 0..<width {
                let n = Int(rng.next() % 9) - 4
                image[x, y, 0] = UInt8(clamping: x * 255 / max(1, width - 1) + n)
                image[x, y, 1] = UInt8(clamping: y * 255 / max(1, height - 1) + n)
                image[x, y, 2] = UInt8(clamping: 128 + (x - y) / 2 + n)
            }
        }
        return image
    }

    static func maxDifference(_ a: Image, _ b: Image) -> Int {
        zip(a.pixels, b.pixels).map { abs(Int($0) - Int($1)) }.max() ?? 0
    }

    // MARK: round trips

    func testPNGRoundTripIsLossless() throws {
        let colour = Self.pattern(width: 37, height: 23)
        let url = directory.appendingPathComponent("c.png")
        try colour.write(to: url)
        XCTAssertEqual(try Image.read(contentsOf: url, as: .bgr), colour)
        // PNG colour to grey goes through libpng's rgb_to_gray weights (as OpenCV), within 1 of cvtColor's.
        let greyRead = try Image.read(contentsOf: url, as: .grey)
        XCTAssertLessThanOrEqual(Self.maxDifference(greyRead, colour.converted(to: .grey)), 1)

        var grey = Image(width: 19, height: 11, format: .grey)
        for i in grey.pixels.indices { grey.pixels[i] = UInt8(i * 7 % 256) }
        let greyURL = directory.appendingPathComponent("g.PNG")
        try grey.write(to: greyURL, pngLevel: 9)
        XCTAssertEqual(try Image.read(contentsOf: greyURL, as: .grey), grey)
        XCTAssertEqual(try Image.read(contentsOf: greyURL, as: .bgr), grey.converted(to: .bgr))
    }

    func testJPEGRoundTripIsClose() throws {
        let colour = Self.pattern(width: 64, height: 48)
        let url = directory.appendingPathComponent("c.jpg")
        try colour.write(to: url, quality: 95)
        let back = try Image.read(contentsOf: url)
        XCTAssertEqual(back.width, 64)
        XCTAssertEqual(back.height, 48)
        XCTAssertEqual(back.channels, 3)
        XCTAssertLessThan(Self.maxDifference(back, colour), 40)
        let mean = zip(back.pixels, colour.pixels).map { abs(Int($0) - Int($1)) }.reduce(0, +) / colour.pixels.count
        XCTAssertLessThanOrEqual(mean, 4)

        let grey = colour.converted(to: .grey)
        let greyURL = directory.appendingPathComponent("g.jpeg")
        try grey.write(to: greyURL, quality: 90)
        let greyBack = try Image.read(contentsOf: greyURL, as: .grey)
        XCTAssertEqual(greyBack.channels, 1)
        XCTAssertLessThan(Self.maxDifference(greyBack, grey), 24)
        // Encoding is deterministic.
        XCTAssertEqual(try colour.encoded(as: .jpeg, quality: 90), try colour.encoded(as: .jpeg, quality: 90))
    }

    func testFormatIsDetectedBySignatureNotName() throws {
        let image = Self.pattern(width: 8, height: 8)
        let png = directory.appendingPathComponent("really-a-png.jpg")
        try AtomicFile.write(try image.encoded(as: .png), to: png)
        XCTAssertEqual(try Image.read(contentsOf: png), image)
        XCTAssertEqual(ImageFileFormat.detect(try image.encoded(as: .jpeg)), .jpeg)
        XCTAssertEqual(ImageFileFormat.detect([UInt8]("GIF89a".utf8)), nil)
    }

    func testWriteIsAtomicAndLeavesNoTemporaries() throws {
        let url = directory.appendingPathComponent("a.png")
        try Image(width: 4, height: 4, format: .grey, value: 1).write(to: url)
        try Image(width: 5, height: 3, format: .grey, value: 2).write(to: url)
        let back = try Image.read(contentsOf: url, as: .grey)
        XCTAssertEqual([back.width, back.height, Int(back.pixels[0])], [5, 3, 2])
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: directory.path), ["a.png"])
    }

    func testWriteErrors() throws {
        let image = Image(width: 4, height: 4, format: .bgr)
        XCTAssertThrowsError(try image.write(to: directory.appendingPathComponent("x.bmp"))) { error in
            XCTAssertEqual(
                error as? ImageError, .unknownExtension(path: self.directory.appendingPathComponent("x.bmp").path))
        }
        let missing = directory.appendingPathComponent("no/such/dir/x.png")
        XCTAssertThrowsError(try image.write(to: missing)) { error in
            guard case .cannotWrite(let path, _)? = error as? ImageError else { return XCTFail("\(error)") }
            XCTAssertEqual(path, missing.path)
            XCTAssertFalse("\(error)".contains("\n"))
        }
        XCTAssertThrowsError(try image.write(to: directory.appendingPathComponent("q.jpg"), quality: 0))
        XCTAssertThrowsError(try Image(width: 2, height: 2, channels: 3, pixels: [1, 2, 3]))
        XCTAssertThrowsError(try Image(width: 2, height: 2, channels: 4, pixels: [UInt8](repeating: 0, count: 16)))
    }

    // MARK: DAVIS masks

    func testDAVISAnnotationIsBinaryGreyMask() throws {
        guard let data = TestPaths.sharedData else {
            throw XCTSkip("../shared/data is absent: skipping the DAVIS annotation test")
        }
        let url = data.appendingPathComponent("DAVIS/Annotations/480p/tennis/00000.png")
        let mask = try Image.read(contentsOf: url, as: .grey)
        XCTAssertEqual([mask.width, mask.height, mask.channels], [854, 480, 1])
        XCTAssertEqual(Set(mask.pixels), [0, 255])
        let objectPixels = mask.pixels.filter { $0 == 255 }.count
        XCTAssertGreaterThan(objectPixels, 1000)
        XCTAssertLessThan(objectPixels, 854 * 480 / 4)
        // Read as colour, every channel holds the mask.
        let colour = try Image.read(contentsOf: url, as: .bgr)
        XCTAssertEqual(colour.converted(to: .grey), mask)
    }

    // MARK: bad input

    func expectError(
        _ bytes: [UInt8], _ format: PixelFormat = .bgr, limits: ImageLimits = .default,
        file: StaticString = #filePath, line: UInt = #line, _ check: (ImageError) -> Bool
    ) {
        do {
            _ = try Image.decode(bytes, as: format, limits: limits, name: "sample")
            XCTFail("decoded bad input without error", file: file, line: line)
        } catch let error as ImageError {
            XCTAssertTrue(check(error), "unexpected error: \(error)", file: file, line: line)
            if ProcessInfo.processInfo.environment["SHOW_ERRORS"] != nil { print("ERROR:", error) }
            XCTAssertFalse(error.description.contains("\n"), file: file, line: line)
            XCTAssertTrue(
                error.description.hasPrefix("sample") || error.description.hasPrefix("invalid"), file: file, line: line)
        } catch {
            XCTFail("not an ImageError: \(error)", file: file, line: line)
        }
    }

    func testTruncatedJPEG() throws {
        let jpeg = try Self.pattern(width: 96, height: 64).encoded(as: .jpeg, quality: 90)
        for cut in [jpeg.count - 2, jpeg.count / 2, 400, 20, 3] {
            for format in PixelFormat.allCases {
                expectError(Array(jpeg.prefix(cut)), format) {
                    if case .truncated(_, .jpeg, _) = $0 { return true }
                    // Cut inside the headers, libjpeg may only see a header without image.
                    if case .corrupt(_, .jpeg, _) = $0 { return cut < 700 }
                    return false
                }
            }
        }
    }

    func testCorruptJPEG() throws {
        var jpeg = try Self.pattern(width: 96, height: 64).encoded(as: .jpeg, quality: 90)
        // Destroy the SOF marker and the quantisation table marker.
        for i in 2..<(jpeg.count - 1) where jpeg[i] == 0xFF && (jpeg[i + 1] == 0xC0 || jpeg[i + 1] == 0xDB) {
            jpeg[i + 1] = 0x07
        }
        expectError(jpeg) {
            if case .corrupt(_, .jpeg, _) = $0 { return true }; return false
        }
        expectError([0xFF, 0xD8, 0xFF, 0xE0, 0x00]) {
            if case .truncated = $0 { return true }; if case .corrupt = $0 { return true }; return false
        }
    }

    func testTruncatedAndCorruptPNG() throws {
        let png = try Self.pattern(width: 50, height: 40).encoded(as: .png)
        for cut in [png.count - 12, png.count / 2, 40, 20, 8] {
            expectError(Array(png.prefix(cut))) {
                if case .truncated(_, .png, _) = $0 { return true }
                if case .corrupt(_, .png, _) = $0 { return true }
                return false
            }
        }
        expectError(Array(png.prefix(png.count / 2)), .grey) {
            if case .truncated(_, .png, _) = $0 { return true }; return false
        }
        // Flip a byte in the image data: bad zlib data, bad filter or CRC mismatch, depending on where it lands.
        for offset in [png.count / 2, png.count / 3, png.count - 20] {
            var flipped = png
            flipped[offset] ^= 0x55
            expectError(flipped) {
                if case .corrupt(_, .png, _) = $0 { return true }; return false
            }
        }
        // The IHDR chunk's CRC.
        var badCRC = png
        badCRC[32] ^= 0x01
        expectError(badCRC) {
            if case .corrupt(_, .png, let detail) = $0 { return detail.contains("checksum") }; return false
        }
    }

    func testNotAnImage() throws {
        expectError([]) { $0 == .notAnImage(path: "sample") }
        expectError([UInt8]("hello, this is text\n".utf8)) { $0 == .notAnImage(path: "sample") }
        expectError([0xFF, 0xD8]) { $0 == .notAnImage(path: "sample") }
        let url = directory.appendingPathComponent("text.png")
        try Data("not an image".utf8).write(to: url)
        XCTAssertThrowsError(try Image.read(contentsOf: url)) {
            XCTAssertEqual($0 as? ImageError, .notAnImage(path: url.path))
        }
        let missing = directory.appendingPathComponent("missing.jpg")
        XCTAssertThrowsError(try Image.read(contentsOf: missing)) { error in
            guard case .cannotRead(let path, _)? = error as? ImageError else { return XCTFail("\(error)") }
            XCTAssertEqual(path, missing.path)
        }
        XCTAssertThrowsError(try Image.read(contentsOf: directory)) { error in
            guard case .cannotRead? = error as? ImageError else { return XCTFail("\(error)") }
        }
    }

    func testHugeDeclaredDimensionsAreRejectedBeforeDecoding() throws {
        // PNG: rewrite IHDR to 40000 x 40000 with a valid CRC.
        var png = try Image(width: 4, height: 4, format: .grey).encoded(as: .png)
        let big: [UInt8] = [0, 0, 0x9C, 0x40]   // 40000
        png.replaceSubrange(16..<20, with: big)
        png.replaceSubrange(20..<24, with: big)
        let crc = Self.crc32(Array(png[12..<29]))
        png.replaceSubrange(
            29..<33, with: [UInt8(crc >> 24), UInt8(crc >> 16 & 0xFF), UInt8(crc >> 8 & 0xFF), UInt8(crc & 0xFF)])
        expectError(png) {
            if case .badDimensions(_, 40000, 40000, _) = $0 { return true }; return false
        }

        // JPEG: 60000 x 60000 in the SOF0 segment (3.6e9 pixels, over 1 << 28).
        var jpeg = try Self.pattern(width: 16, height: 16).encoded(as: .jpeg)
        let sof = (2..<(jpeg.count - 1)).first { jpeg[$0] == 0xFF && jpeg[$0 + 1] == 0xC0 }!
        jpeg.replaceSubrange((sof + 5)..<(sof + 9), with: [0xEA, 0x60, 0xEA, 0x60])
        expectError(jpeg) {
            if case .badDimensions(_, 60000, 60000, _) = $0 { return true }; return false
        }
        // Custom limits.
        let ok = try Self.pattern(width: 16, height: 16).encoded(as: .png)
        expectError(ok, limits: ImageLimits(maxSide: 8, maxPixels: 64)) {
            if case .badDimensions = $0 { return true }; return false
        }
        XCTAssertNoThrow(try Image.decode(ok, limits: ImageLimits(maxSide: 16, maxPixels: 256)))
    }

    func testExifOrientationParser() throws {
        XCTAssertNil(ExifOrientation.jpegOrientation(UnsafeRawBufferPointer(start: nil, count: 0)))
        let plain = try Self.pattern(width: 8, height: 8).encoded(as: .jpeg)
        plain.withUnsafeBytes { XCTAssertNil(ExifOrientation.jpegOrientation($0)) }
        let image = Self.pattern(width: 5, height: 3)
        let rotated = image.oriented(.rightTop)   // 90 degrees clockwise
        XCTAssertEqual([rotated.width, rotated.height], [3, 5])
        XCTAssertEqual(rotated[2, 0, 0], image[0, 0, 0])
        XCTAssertEqual(rotated[0, 0, 1], image[0, 2, 1])
        XCTAssertEqual(image.oriented(.bottomRight).oriented(.bottomRight), image)
        XCTAssertEqual(image.oriented(.leftTop), image.transposed())
    }

    static func crc32(_ bytes: [UInt8]) -> UInt32 {
        var crc: UInt32 = 0xFFFF_FFFF
        for b in bytes {
            crc ^= UInt32(b)
            for _ in 0..<8 { crc = crc & 1 != 0 ? (crc >> 1) ^ 0xEDB8_8320 : crc >> 1 }
        }
        return ~crc
    }
}

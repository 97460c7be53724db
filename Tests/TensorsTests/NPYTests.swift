import Foundation
import Tensors
import TestSupport
import XCTest

final class NPYTests: XCTestCase {
    func testRoundTripEveryDType() throws {
        let tensors = [
            Tensor(shape: [1, 2, 3], floats: [1, -2, 3.5, 0, .greatestFiniteMagnitude, -0.25]),
            Tensor(shape: [4], int8: [-128, 0, 1, 127]),
            Tensor(shape: [2, 2], int32: [1, -1, .max, .min]),
            Tensor(shape: [], int64: [42]),
        ]
        for t in tensors {
            let back = try NPY.decode(NPY.encode(t))
            XCTAssertEqual(back, t)
        }
    }

    func testHeaderIsAlignedAndReadableByNumpyConvention() {
        let bytes = NPY.encode(Tensor(shape: [3], floats: [1, 2, 3]))
        let headerLength = Int(bytes[8]) | Int(bytes[9]) << 8
        XCTAssertEqual((10 + headerLength) % 64, 0)
        XCTAssertEqual(bytes[10 + headerLength - 1], 0x0A)
    }

    func testMalformedFilesGiveClearErrors() {
        let good = NPY.encode(Tensor(shape: [2, 2], floats: [1, 2, 3, 4]))
        let cases: [(String, [UInt8])] = [
            ("empty", []),
            ("bad magic", [0x00] + good.dropFirst()),
            ("truncated data", Array(good.dropLast(3))),
            ("extra data", good + [0]),
            ("truncated header", Array(good.prefix(20))),
            ("version 9", Array(good.prefix(6)) + [9] + good.dropFirst(7)),
        ]
        for (label, bytes) in cases {
            XCTAssertThrowsError(try NPY.decode(bytes), label) { error in
                XCTAssertTrue(error is NPYError, "\(label): \(error)")
                XCTAssertFalse(String(describing: error).isEmpty)
            }
        }
        // Edit the (ASCII) header only; the float payload is not text.
        func editedHeader(_ from: String, _ to: String) -> [UInt8] {
            let headerEnd = 10 + (Int(good[8]) | Int(good[9]) << 8)
            let header = String(decoding: good[10..<headerEnd], as: UTF8.self).replacingOccurrences(of: from, with: to)
            return Array(good[0..<10]) + Array(header.utf8) + Array(good[headerEnd...])
        }
        XCTAssertThrowsError(try NPY.decode(editedHeader("'fortran_order': False", "'fortran_order': True "))) {
            error in
            guard case NPYError.malformed = error else { return XCTFail("\(error)") }
        }
        XCTAssertThrowsError(try NPY.decode(editedHeader("<f4", "<f8"))) { error in
            guard case NPYError.unsupportedDType = error else { return XCTFail("\(error)") }
        }
    }

    func testTensorRejectsInconsistentStorage() {
        XCTAssertThrowsError(try Tensor(dtype: .float32, shape: [2, 2], storage: [UInt8](repeating: 0, count: 15)))
        XCTAssertThrowsError(try Tensor(dtype: .float32, shape: [-1], storage: []))
        XCTAssertThrowsError(try Tensor(dtype: .float32, shape: [Int.max, 4], storage: []))
    }
}

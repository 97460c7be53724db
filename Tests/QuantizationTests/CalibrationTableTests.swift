import Foundation
import TestSupport
import XCTest
@testable import Quantization

final class CalibrationTableTests: XCTestCase {
    private func sampleTable(_ method: CalibrationMethod = .percentile(99.99)) -> CalibrationTable {
        var g = SeededGenerator(seed: 51)
        let observers: [String: ActivationObserver] = [
            "search": observed((0..<4096).map { _ in Float(Int.random(in: 0...255, using: &g)) }),
            "features.layer1": observed(gaussian(10_000, mean: 0.1, std: 0.37, &g) + [.nan]),
            "corr": observed(gaussian(5000, &g).map { Swift.max(0, $0) * 3.3 }),
            "unused": ActivationObserver(),
        ]
        return CalibrationTable.make(
            observers: observers, method: method, model: "fixture.siam sha256:0123abcd",
            sources: ["synth/seq7", "DAVIS/tennis"], frames: 12)
    }

    func testMake() throws {
        let table = sampleTable()
        XCTAssertEqual(table.tensors.map(\.name), ["corr", "features.layer1", "search", "unused"])
        XCTAssertEqual(table.quantization(for: "search"), .byteImage)
        XCTAssertNil(table.quantization(for: "nothing"))
        let search = table.tensors[2]
        XCTAssertTrue(search.byteImage)
        XCTAssertEqual(search.range, 0...255)
        let features = table.tensors[1]
        XCTAssertEqual(features.nonFinite, 1)
        XCTAssertEqual(features.count, 10_000)
        XCTAssertEqual(features.summary.mean, 0.1, accuracy: 0.02)
        XCTAssertEqual(features.summary.std, 0.37, accuracy: 0.02)
        XCTAssertLessThan(features.summary.p1, features.summary.p50)
        XCTAssertLessThan(features.summary.p50, features.summary.p99)
        XCTAssertLessThanOrEqual(features.summary.p99_99, features.max)
        XCTAssertGreaterThanOrEqual(features.summary.p0_01, features.min)
        XCTAssertEqual(table.quantization(for: "features.layer1"), .uint8(covering: features.range))
        XCTAssertEqual(table.tensors[0].summary.zeroFraction, 0.5, accuracy: 0.03)
        XCTAssertEqual(table.tensors[3].count, 0)
        XCTAssertNoThrow(try table.validate())
    }

    /// Write then read gives the same table, every float with the same bits; no temporary file is left behind.
    func testJSONRoundTripIsExact() throws {
        let folder = try TestPaths.temporaryDirectory("calibration-table")
        defer { try? FileManager.default.removeItem(at: folder) }
        for method in [CalibrationMethod.minMax, .percentile(99.99), .entropy, .mse] {
            let table = sampleTable(method)
            let url = folder.appendingPathComponent("table.json")
            try table.write(to: url)
            let back = try CalibrationTable.read(from: url)
            XCTAssertEqual(back, table)
            for (a, b) in zip(table.tensors, back.tensors) {
                XCTAssertEqual(floatBits(a), floatBits(b), a.name)
            }
            XCTAssertEqual(back.method, method)
        }
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: folder.path), ["table.json"])
        let text = try String(contentsOf: folder.appendingPathComponent("table.json"), encoding: .utf8)
        XCTAssertTrue(text.contains("\"format\" : \"siammask-calibration\""))
        XCTAssertTrue(text.contains("\"version\" : 1"))
        XCTAssertTrue(text.contains("\"zero_point\""))
        XCTAssertTrue(text.contains("\"p99_99\""))
        XCTAssertTrue(text.contains("\"created_by\""))
    }

    func testAwkwardFloatsRoundTrip() throws {
        var table = sampleTable()
        let awkward: [Float] = [
            0.1, .leastNonzeroMagnitude, .leastNormalMagnitude, .greatestFiniteMagnitude,
            16_777_215, 0.3, -0.0, 1.0000001, 3.4028235e38, Float(bitPattern: 5), Float(bitPattern: 0x3EAA_AAAB),
        ]
        table.tensors[1].summary.mean = awkward[0]
        for (i, x) in awkward.enumerated() {
            table.tensors[1].min = -Swift.abs(x)
            table.tensors[1].summary.p50 = x
            table.tensors[1].scale = i == 6 ? 1 : Swift.abs(x)
            let back = try CalibrationTable.decode(try table.encoded())
            XCTAssertEqual(floatBits(back.tensors[1]), floatBits(table.tensors[1]), "\(x)")
        }
    }

    // MARK: Rejections

    func testRejections() throws {
        let good = try JSONSerialization.jsonObject(with: try sampleTable().encoded()) as! [String: Any]
        func reject(
            _ expected: CalibrationTableError, _ edit: (inout [String: Any]) -> Void,
            file: StaticString = #filePath, line: UInt = #line
        ) {
            var object = good
            edit(&object)
            let data = try! JSONSerialization.data(withJSONObject: object)
            XCTAssertThrowsError(try CalibrationTable.decode(data), file: file, line: line) { error in
                XCTAssertEqual(error as? CalibrationTableError, expected, file: file, line: line)
            }
        }
        func editTensor(_ index: Int, _ edit: @escaping (inout [String: Any]) -> Void) -> (inout [String: Any]) -> Void
        {
            { object in
                var tensors = object["tensors"] as! [[String: Any]]
                edit(&tensors[index])
                object["tensors"] = tensors
            }
        }
        let name = "features.layer1"
        reject(.wrongFormat(found: "onnx")) { $0["format"] = "onnx" }
        reject(.wrongFormat(found: nil)) { $0["format"] = nil }
        reject(.unsupportedVersion(2)) {
            $0["version"] = 2; $0["tensors"] = "a different shape"
        }
        reject(.unknownMethod("kl")) { $0["method"] = "kl" }
        reject(.duplicateTensor("corr")) { object in
            let tensors = object["tensors"] as! [[String: Any]]
            object["tensors"] = [tensors[0]] + tensors
        }
        reject(.invalidScale(tensor: name, scale: 0), editTensor(1) { $0["scale"] = 0 })
        reject(.invalidScale(tensor: name, scale: -0.5), editTensor(1) { $0["scale"] = -0.5 })
        reject(.invalidScale(tensor: name, scale: 1e39), editTensor(1) { $0["scale"] = 1e39 })
        reject(.zeroPointOutOfRange(tensor: name, zeroPoint: 256), editTensor(1) { $0["zero_point"] = 256 })
        reject(.zeroPointOutOfRange(tensor: name, zeroPoint: -1), editTensor(1) { $0["zero_point"] = -1 })
        reject(.rangeExcludesZero(tensor: name, lo: 0.5, hi: 1), editTensor(1) { $0["range"] = [0.5, 1] })
        reject(.rangeExcludesZero(tensor: name, lo: -2, hi: -1), editTensor(1) { $0["range"] = [-2, -1] })

        for edit: (inout [String: Any]) -> Void in [
            { $0["tensors"] = nil }, { $0["frames"] = "twelve" },
            editTensor(0) { $0["range"] = [1, -1] },
            editTensor(0) { $0["summary"] = [:] },
        ] {
            var object = good
            edit(&object)
            XCTAssertThrowsError(try CalibrationTable.decode(try JSONSerialization.data(withJSONObject: object))) {
                guard case .malformedJSON = $0 as? CalibrationTableError else { return XCTFail("\($0)") }
            }
        }
        let encoded = try sampleTable().encoded()
        for broken in [encoded.prefix(encoded.count / 2), Data("[1, 2]".utf8), Data()] {
            XCTAssertThrowsError(try CalibrationTable.decode(Data(broken))) {
                guard case .malformedJSON = $0 as? CalibrationTableError else { return XCTFail("\($0)") }
            }
        }
        XCTAssertThrowsError(try CalibrationTable.read(from: URL(fileURLWithPath: "/nonexistent/table.json"))) {
            guard case .unreadable = $0 as? CalibrationTableError else { return XCTFail("\($0)") }
        }
    }

    /// An invalid table in memory is not written, and the destination is left untouched.
    func testWriteRefusesInvalidTables() throws {
        let folder = try TestPaths.temporaryDirectory("calibration-table")
        defer { try? FileManager.default.removeItem(at: folder) }
        var table = sampleTable()
        table.tensors[0].scale = .nan
        let url = folder.appendingPathComponent("t.json")
        XCTAssertThrowsError(try table.write(to: url)) {
            guard case .invalidScale = $0 as? CalibrationTableError else { return XCTFail("\($0)") }
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: url.path))
        XCTAssertThrowsError(try sampleTable().write(to: folder.appendingPathComponent("missing/t.json"))) {
            guard case .writeFailed = $0 as? CalibrationTableError else { return XCTFail("\($0)") }
        }
    }

    func testErrorDescriptionsAreOneSentence() {
        let errors: [CalibrationTableError] = [
            .unreadable(path: "/x.json", reason: "No such file"), .malformedJSON("unexpected end"),
            .wrongFormat(found: "onnx"), .wrongFormat(found: nil), .unsupportedVersion(2), .unknownMethod("kl"),
            .duplicateTensor("a"), .invalidScale(tensor: "a", scale: 0),
            .zeroPointOutOfRange(tensor: "a", zeroPoint: 300),
            .rangeExcludesZero(tensor: "a", lo: 1, hi: 2), .writeFailed(path: "/x.json", reason: "Permission denied"),
        ]
        for e in errors {
            let text = e.description
            XCTAssertTrue(text.hasSuffix("."), text)
            XCTAssertFalse(text.contains("\n"), text)
            XCTAssertNil(
                text.range(of: #"[.!?] +[A-Z]"#, options: .regularExpression), "more than one sentence: \(text)")
        }
    }

    private func floatBits(_ e: CalibrationTable.Entry) -> [UInt32] {
        let s = e.summary
        return [
            e.min, e.max, e.range.lowerBound, e.range.upperBound, e.scale, s.mean, s.std, s.zeroFraction, s.p0_01,
            s.p1, s.p50, s.p99, s.p99_99,
        ].map(\.bitPattern)
    }
}

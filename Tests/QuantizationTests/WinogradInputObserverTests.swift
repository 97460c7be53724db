import Foundation
import TestSupport
import XCTest
@testable import Quantization

/// The Winograd statistic of calibration and the table entries that carry it.
final class WinogradInputObserverTests: XCTestCase {
    /// B^T d B against a direct sum over the definition, and the per-position maxima over tiles, channels and
    /// frames, with zero padding and dilated sub-grids.
    func testTransformAndMaxima() {
        var g = SeededGenerator(seed: 9)
        let d = (0..<16).map { _ in Float.random(in: -3...3, using: &g) }
        var v = d
        WinogradInputObserver.transform(&v)
        let bt: [[Float]] = [[1, 0, -1, 0], [0, 1, 1, 0], [0, -1, 1, 0], [0, 1, 0, -1]]
        for i in 0..<4 {
            for j in 0..<4 {
                var sum: Float = 0
                for r in 0..<4 { for q in 0..<4 { sum += bt[i][r] * d[4 * r + q] * bt[j][q] } }
                XCTAssertEqual(v[4 * i + j], sum, accuracy: 1e-5)
            }
        }
        // A constant plane of 1 with padding 1: interior tiles have V = 4 at (1, 1) and 0 elsewhere, border tiles
        // see the zero padding.
        for dilation in [1, 2] {
            var o = WinogradInputObserver(padding: dilation, dilation: dilation)
            let ones = [Float](repeating: 1, count: 2 * 9 * 9)
            ones.withUnsafeBufferPointer { o.observe($0, channels: 2, height: 9, width: 9) }
            XCTAssertEqual(o.absMax[5], 4)
            XCTAssertEqual(o.absMax[0], 1, "a corner tile: d0 = 0 (padding), d2 = 1")
            XCTAssertEqual(o.frames, 1)
            let twice = ones.map { 2 * $0 }
            twice.withUnsafeBufferPointer { o.observe($0, channels: 2, height: 9, width: 9) }
            XCTAssertEqual(o.absMax[5], 8)
            XCTAssertEqual(o.frames, 2)
        }
        var o = WinogradInputObserver(padding: 0, dilation: 1)
        [Float.nan, .infinity, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1].withUnsafeBufferPointer {
            o.observe($0, channels: 1, height: 4, width: 4)
        }
        XCTAssertTrue(o.absMax.allSatisfy(\.isFinite), "non-finite values are skipped")
    }

    func testMultipliers() {
        var absMax = [Float](repeating: 0, count: 16)
        absMax[0] = 254   // with scale 1: 127 * 32768 / 254 = 16384 (half)
        absMax[1] = 1   // a tiny range would amplify: capped at 32767 (identity)
        absMax[2] = 1e9   // a huge range: at least 1
        absMax[3] = .nan
        let m = WinogradInputObserver.multipliers(absMax: absMax, inputScale: 1)
        XCTAssertEqual(Array(m[0..<4]), [16384, 32767, 1, 32767])
        XCTAssertEqual(m[4], 32767, "nothing observed")
        // In input codes: a real range of 2.54 at scale 0.01 is 254 codes.
        XCTAssertEqual(
            WinogradInputObserver.multipliers(absMax: [Float](repeating: 2.54, count: 16), inputScale: 0.01)[0],
            16384)
    }

    func testTableEntriesRoundTripAndAreChecked() throws {
        var table = CalibrationTable(
            method: .mse, model: "m", sources: ["s"], frames: 1,
            tensors: [
                CalibrationTable.Entry(
                    name: "x", min: 0, max: 1, range: 0...1, scale: 1 / 255, zeroPoint: 0, count: 1, nonFinite: 0,
                    byteImage: false,
                    summary: CalibrationTable.Summary(
                        mean: 0, std: 0, zeroFraction: 0, p0_01: 0, p1: 0, p50: 0, p99: 0, p99_99: 0))
            ])
        let plain = try table.encoded()
        XCTAssertFalse(String(decoding: plain, as: UTF8.self).contains("winograd"), "absent when empty")
        table.winograd = [
            .init(node: "b", absMax: (0..<16).map { Float($0) * 0.25 }),
            .init(node: "a", absMax: [Float](repeating: 3, count: 16)),
        ]
        let back = try CalibrationTable.decode(try table.encoded())
        XCTAssertEqual(back.winograd.map(\.node), ["a", "b"])
        XCTAssertEqual(back.winogradAbsMax(for: "b"), (0..<16).map { Float($0) * 0.25 })
        XCTAssertNil(back.winogradAbsMax(for: "c"))
        for bad in [
            [CalibrationTable.WinogradEntry(node: "a", absMax: [1, 2])],
            [.init(node: "a", absMax: [Float](repeating: -1, count: 16))],
            [
                .init(node: "a", absMax: [Float](repeating: 1, count: 16)),
                .init(node: "a", absMax: [Float](repeating: 1, count: 16)),
            ],
        ] {
            var t = table
            t.winograd = bad
            XCTAssertThrowsError(try CalibrationTable.decode(try JSONEncoder().encode(t))) {
                XCTAssertEqual($0 as? CalibrationTableError, .invalidWinogradEntry(node: "a"))
            }
        }
    }
}

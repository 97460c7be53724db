import TestSupport
import XCTest
@testable import Quantization

final class AffineQuantizationTests: XCTestCase {
    func testCoveringFormula() {
        let q = AffineQuantization.uint8(covering: -1...3)
        XCTAssertEqual(q.scale, Float(4) / 255)
        XCTAssertEqual(q.zeroPoint, Int32((Float(1) / (Float(4) / 255)).rounded()))
        XCTAssertEqual(AffineQuantization.uint8(covering: 0...255), .byteImage)
        XCTAssertEqual(AffineQuantization.uint8(covering: 0.5...2).zeroPoint, 0)   // extended to 0...2
        XCTAssertEqual(AffineQuantization.uint8(covering: 0.5...2).scale, Float(2) / 255)
        XCTAssertEqual(AffineQuantization.uint8(covering: -4 ... -1).zeroPoint, 255)   // extended to -4...0
        XCTAssertEqual(AffineQuantization.uint8(covering: 0...0).scale, AffineQuantization.minimumScale)
        let wide = AffineQuantization.uint8(covering: -Float.greatestFiniteMagnitude...Float.greatestFiniteMagnitude)
        XCTAssertTrue(wide.scale.isFinite)
        XCTAssertEqual(wide.zeroPoint, 128)
    }

    /// Real 0 maps to the zero point and back to exactly 0; values inside the range round-trip within scale / 2.
    func testZeroExactAndRoundTripError() {
        var g = SeededGenerator(seed: 31)
        for _ in 0..<200 {
            let lo = Float.random(in: -50...0, using: &g), hi = Float.random(in: 0...50, using: &g)
            let q = AffineQuantization.uint8(covering: lo...hi)
            XCTAssertEqual(Int32(q.quantize(0)), q.zeroPoint)
            XCTAssertEqual(q.dequantize(q.quantize(0)), 0)
            XCTAssertEqual(q.quantize(-0.0), q.quantize(0))
            let covered = q.representableRange
            for _ in 0..<50 {
                let x = Float.random(in: covered, using: &g)
                let error = abs(q.dequantize(q.quantize(x)) - x)
                // scale / 2 plus the float32 rounding of x * (1/scale) and of the dequantisation.
                XCTAssertLessThanOrEqual(error, q.scale / 2 * (1 + 1e-5) + 4 * x.magnitude.ulp, "\(x) \(q)")
            }
        }
    }

    func testHalfToEvenAtHalfSteps() {
        let q = AffineQuantization(scale: 1, zeroPoint: 128)
        let cases: [(Float, UInt8)] = [
            (0.5, 128), (1.5, 130), (2.5, 130), (-0.5, 128), (-1.5, 126), (-2.5, 126),
            (0.49999997, 128), (0.50000006, 129), (127, 255), (127.5, 255), (-128, 0),
        ]
        for (x, expected) in cases { XCTAssertEqual(q.quantize(x), expected, "\(x)") }
        let half = AffineQuantization(scale: 0.5, zeroPoint: 0)
        XCTAssertEqual(half.quantize(0.25), 0)   // t = 0.5 -> 0
        XCTAssertEqual(half.quantize(0.75), 2)   // t = 1.5 -> 2
    }

    /// NaN takes the -512 clamp and ends at code 0; infinities and huge values saturate.
    func testNonFiniteAndSaturation() {
        let q = AffineQuantization(scale: 0.1, zeroPoint: 100)
        XCTAssertEqual(q.quantize(.nan), 0)
        XCTAssertEqual(q.quantize(.infinity), 255)
        XCTAssertEqual(q.quantize(-.infinity), 0)
        XCTAssertEqual(q.quantize(1e30), 255)
        XCTAssertEqual(q.quantize(-1e30), 0)
        XCTAssertEqual(q.quantize(15.5), 255)
        XCTAssertEqual(q.dequantize(0), Float(0.1) * -100)
        XCTAssertEqual(q.dequantize(255), Float(0.1) * 155)
    }

    /// The rule multiplies by the float32 reciprocal (like the kernels), which is not always the same as dividing.
    func testMultipliesByTheReciprocal() {
        var g = SeededGenerator(seed: 32)
        var differing = 0
        for _ in 0..<20_000 {
            let scale = Float.random(in: 0.001...0.1, using: &g)
            let q = AffineQuantization(scale: scale, zeroPoint: 128)
            // Values on half steps, where one rounding of t decides the code.
            let x = (Float(Int.random(in: -120...120, using: &g)) + 0.5) * scale
            let inverse = 1 / scale
            let byMultiply = Int32((x * inverse).rounded(.toNearestOrEven)) + 128
            let byDivide = Int32((x / scale).rounded(.toNearestOrEven)) + 128
            XCTAssertEqual(Int32(q.quantize(x)), byMultiply)
            if byMultiply != byDivide { differing += 1 }
        }
        XCTAssertGreaterThan(differing, 0, "no case told multiply and divide apart: the test would not catch a change")
        XCTAssertEqual(q(0.1).quantize([0, 0.1, -0.1]), [128, 129, 127])
        XCTAssertEqual(q(0.1).dequantize([128, 129]), [0, Float(0.1)])
    }

    private func q(_ scale: Float) -> AffineQuantization { AffineQuantization(scale: scale, zeroPoint: 128) }
}

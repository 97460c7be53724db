import CKernels
import Runtime
import Tensors
import TestSupport
import XCTest

/// Mixed int8 / float32 graphs: the lowering picks int8 kernels from the weights, keeps uint8 activations between
/// int8 nodes, and inserts quantise / dequantise steps where float32 nodes meet them. Every int8 output must equal,
/// bit for bit, a plain Swift emulation of the specification in siam_int8.h.
final class Int8LoweringTests: XCTestCase {
    // MARK: The specification, written out in Swift

    enum Spec {
        static func quantize(_ x: Float, _ e: UInt8Encoding) -> UInt8 {
            var t = x * (1 / e.scale)
            t = t > -512 ? t : -512
            t = t < 512 ? t : 512
            return UInt8(max(0, min(255, Int32(t.rounded(.toNearestOrEven)) + e.zeroPoint)))
        }
        static func dequantize(_ q: UInt8, _ e: UInt8Encoding) -> Float { Float(Int32(q) - e.zeroPoint) * e.scale }

        enum Residual { case none, u8([UInt8], UInt8Encoding) }

        /// conv2d_u8s8 with the float32 epilogue; returns float32 values (output nil) or quantised bytes as floats.
        static func conv(
            _ qx: [UInt8], _ s: ActivationShape, zx: Int32, sx: Float, _ w: Int8ConvolutionWeights,
            outChannels: Int, kernel k: Int, stride: Int, padding: Int, relu: Bool, residual: Residual,
            output: UInt8Encoding?
        ) -> (floats: [Float], bytes: [UInt8], shape: ActivationShape) {
            let oh = (s.height + 2 * padding - k) / stride + 1, ow = (s.width + 2 * padding - k) / stride + 1
            var floats = [Float](repeating: 0, count: outChannels * oh * ow)
            var bytes = [UInt8](repeating: 0, count: floats.count)
            for o in 0..<outChannels {
                let scale = sx * w.scales[o]
                for y in 0..<oh {
                    for x in 0..<ow {
                        var acc: Int32 = 0
                        for c in 0..<s.channels {
                            for ky in 0..<k {
                                for kx in 0..<k {
                                    let iy = y * stride - padding + ky, ix = x * stride - padding + kx
                                    guard iy >= 0, iy < s.height, ix >= 0, ix < s.width else { continue }
                                    let q = Int32(qx[(c * s.height + iy) * s.width + ix]) - zx
                                    acc += q * Int32(w.values[((o * s.channels + c) * k + ky) * k + kx])
                                }
                            }
                        }
                        let i = (o * oh + y) * ow + x
                        var v = Float(acc) * scale
                        v = v + w.bias[o]
                        if case .u8(let r, let e) = residual { v = v + (Float(Int32(r[i]) - e.zeroPoint) * e.scale) }
                        if relu { v = v > 0 ? v : 0 }
                        floats[i] = v
                        if let output { bytes[i] = quantize(v, output) }
                    }
                }
            }
            return (floats, bytes, ActivationShape(outChannels, oh, ow))
        }
    }

    func int8Conv(_ name: String, out: Int, in inC: Int, k: Int, seed: UInt64) -> ConvolutionWeights {
        var rng = SeededGenerator(seed: seed)
        let w = (0..<(out * inC * k * k)).map { _ in Float.random(in: -0.5...0.5, using: &rng) }
        let b = (0..<out).map { _ in Float.random(in: -0.2...0.2, using: &rng) }
        var q = [Int8](repeating: 0, count: w.count)
        var scales = [Float](repeating: 0, count: out)
        let per = inC * k * k
        for o in 0..<out {
            let m = w[(o * per)..<((o + 1) * per)].map(abs).max()!
            scales[o] = m / 127
            for i in 0..<per { q[o * per + i] = Int8((w[o * per + i] / scales[o]).rounded(.toNearestOrEven)) }
        }
        let dequantized = q.enumerated().map { Float($0.element) * scales[$0.offset / per] }
        return ConvolutionWeights(
            name: name, weights: dequantized, bias: b, outChannels: out, inChannels: inC, kernel: k,
            int8: Int8ConvolutionWeights(values: q, scales: scales, bias: b))
    }

    /// x -> A (int8, s2) -> max-pool -> B (int8, uint8 residual = the pool) -> window W -> { X: int8 correlation with a
    /// float kernel input -> D (int8, graph output); E (float32 by name, reads W dequantised, graph output) }.
    func testMixedGraphEqualsTheSpecificationBitForBit() throws {
        let a = int8Conv("A", out: 8, in: 3, k: 3, seed: 1), b = int8Conv("B", out: 8, in: 8, k: 3, seed: 2)
        let d = int8Conv("D", out: 4, in: 8, k: 1, seed: 3), e = int8Conv("E", out: 5, in: 8, k: 3, seed: 4)
        var g = GraphBuilder()
        let x = g.input("x", ActivationShape(3, 21, 21))
        let kernelInput = g.input("k", ActivationShape(8, 3, 3))
        let va = try g.conv2d("A", x, a, stride: 2, padding: 1, relu: true)   // 8x11x11
        let vp = try g.maxPool2d("P", va, kernel: 3, stride: 2, padding: 1)   // 8x6x6
        let vb = try g.conv2d("B", vp, b, padding: 1, relu: true, residual: vp)   // 8x6x6
        let vw = try g.window("W", vb, top: -1, left: 1, height: 6, width: 6)   // zero row on top
        let vx = try g.depthwiseCrossCorrelation("X", search: vw, kernel: kernelInput)   // 8x4x4
        g.output("d", try g.conv2d("D", vx, d, relu: false))
        g.output("e", try g.conv2d("E", vw, e, padding: 1, relu: false))
        let graph = g.build()

        var rng = SeededGenerator(seed: 7)
        let image = (0..<(3 * 21 * 21)).map { _ in Float(Int.random(in: 0...255, using: &rng)) }
        let kernelValues = (0..<72).map { _ in Float.random(in: -1...1, using: &rng) }
        let inputs = [
            "x": Tensor(shape: [1, 3, 21, 21], floats: image), "k": Tensor(shape: [1, 8, 3, 3], floats: kernelValues),
        ]

        // Encodings from a float run's ranges, as a calibration would pick them.
        var ranges: [String: (Float, Float)] = [:]
        let float = try Executor(graph: graph, tier: SM_TIER_REFERENCE)
        float.observer = { name, _, values in
            ranges[name] = (min(0, values.min()!), max(0, values.max()!))
        }
        _ = try float.run(inputs)
        var encodings: [String: UInt8Encoding] = ["x": UInt8Encoding(scale: 1, zeroPoint: 0)]
        for name in ["A", "B", "X"] {
            let (lo, hi) = ranges[name]!
            let scale = (hi - lo) / 255
            encodings[name] = UInt8Encoding(scale: scale, zeroPoint: Int32((-lo / scale).rounded()))
        }
        let (ea, eb, ex) = (encodings["A"]!, encodings["B"]!, encodings["X"]!)

        // The specification, step by step.
        let qx = image.map { UInt8($0) }
        let ya = Spec.conv(
            qx, ActivationShape(3, 21, 21), zx: 0, sx: 1, a.int8!, outChannels: 8, kernel: 3, stride: 2,
            padding: 1, relu: true, residual: .none, output: ea)
        var qp = [UInt8](repeating: 0, count: 8 * 36)
        for c in 0..<8 {
            for y in 0..<6 {
                for xx in 0..<6 {
                    var m: UInt8 = 0
                    for ky in -1...1 {
                        for kx in -1...1 {
                            let iy = 2 * y + ky, ix = 2 * xx + kx
                            if iy >= 0, iy < 11, ix >= 0, ix < 11 { m = max(m, ya.bytes[(c * 11 + iy) * 11 + ix]) }
                        }
                    }
                    qp[(c * 6 + y) * 6 + xx] = m
                }
            }
        }
        let yb = Spec.conv(
            qp, ActivationShape(8, 6, 6), zx: ea.zeroPoint, sx: ea.scale, b.int8!, outChannels: 8, kernel: 3,
            stride: 1, padding: 1, relu: true, residual: .u8(qp, ea), output: eb)
        var qw = [UInt8](repeating: UInt8(eb.zeroPoint), count: 8 * 36)
        for c in 0..<8 {
            for y in 0..<6 {
                for xx in 0..<6 {
                    let sy = y - 1, sx = xx + 1
                    if sy >= 0, sy < 6, sx < 6 { qw[(c * 6 + y) * 6 + xx] = yb.bytes[(c * 6 + sy) * 6 + sx] }
                }
            }
        }
        var qxc = [UInt8](repeating: 0, count: 8 * 16)
        for c in 0..<8 {
            let kc = Array(kernelValues[(c * 9)..<(c * 9 + 9)])
            let m = kc.map(abs).max()!
            let sk = m / 127
            let qk = kc.map { Int32(($0 / sk).rounded(.toNearestOrEven)) }
            for y in 0..<4 {
                for xx in 0..<4 {
                    var acc: Int32 = 0
                    for u in 0..<3 {
                        for v in 0..<3 {
                            acc += qk[u * 3 + v] * (Int32(qw[(c * 6 + y + u) * 6 + xx + v]) - eb.zeroPoint)
                        }
                    }
                    qxc[(c * 4 + y) * 4 + xx] = Spec.quantize(Float(acc) * (eb.scale * sk), ex)
                }
            }
        }
        let yd = Spec.conv(
            qxc, ActivationShape(8, 4, 4), zx: ex.zeroPoint, sx: ex.scale, d.int8!, outChannels: 4, kernel: 1,
            stride: 1, padding: 0, relu: false, residual: .none, output: nil)
        // E is float32: the float kernel on W dequantised, on the same float tier.
        var ge = GraphBuilder()
        let we = ge.input("w", ActivationShape(8, 6, 6))
        ge.output("e", try ge.conv2d("E", we, e, padding: 1, relu: false))
        let wDequantized = Tensor(shape: [1, 8, 6, 6], floats: qw.map { Spec.dequantize($0, eb) })

        for (fp32Tier, int8Tier) in [
            (SM_TIER_REFERENCE, SM_INT8_TIER_REFERENCE), (sm_active_tier(), sm_int8_active_tier()),
        ] {
            for threads in [1, 2] {
                let config = Int8Configuration(encodings: encodings, float32Nodes: ["E"], tier: int8Tier)
                let executor = try Executor(graph: graph, threads: threads, tier: fp32Tier, int8: config)
                XCTAssertEqual(executor.int8Nodes, ["A", "B", "X", "D"])
                var observedA: [Float] = []
                executor.observer = { name, _, values in if name == "A" { observedA = Array(values) } }
                let out = try executor.run(inputs)
                let label = "tiers \(fp32Tier.rawValue)/\(int8Tier.rawValue), \(threads) threads"
                XCTAssertEqual(out["d"]!.floats, yd.floats, "D: \(label)")
                let eReference = try Executor(graph: ge.build(), tier: fp32Tier).run(["w": wDequantized])["e"]!
                XCTAssertEqual(out["e"]!.floats, eReference.floats, "E: \(label)")
                XCTAssertEqual(
                    observedA, ya.bytes.map { Spec.dequantize($0, ea) }, "observer sees A dequantised: \(label)")
                // A second run reuses the buffers and gives the same bytes.
                XCTAssertEqual(try executor.run(inputs)["d"]!.floats, yd.floats)
            }
        }

        // Close to the float graph (the int8 error is small, not zero).
        let reference = try float.run(inputs)["d"]!.floats
        let quantized = try Executor(graph: graph, int8: Int8Configuration(encodings: encodings)).run(inputs)["d"]!
            .floats
        let error = zip(reference, quantized).map { ($0 - $1) * ($0 - $1) }.reduce(0, +)
        let signal = reference.map { $0 * $0 }.reduce(0, +)
        XCTAssertGreaterThan(10 * log10(signal / error), 20, "int8 output SQNR")
    }

    /// Without encodings, or with every node listed as float32, nothing runs in int8 and results equal the float
    /// graph on the (dequantised) weights exactly.
    func testNodesWithoutEncodingsStayFloat() throws {
        let a = int8Conv("A", out: 4, in: 3, k: 3, seed: 11)
        var g = GraphBuilder()
        let x = g.input("x", ActivationShape(3, 9, 9))
        g.output("y", try g.conv2d("A", x, a, padding: 1, relu: true))
        let graph = g.build()
        var rng = SeededGenerator(seed: 3)
        let input = [
            "x": Tensor(shape: [3, 9, 9], floats: (0..<243).map { _ in Float.random(in: 0...1, using: &rng) })
        ]
        let float = try Executor(graph: graph).run(input)["y"]!
        for config in [
            Int8Configuration(encodings: [:]),
            Int8Configuration(encodings: ["x": UInt8Encoding(scale: 1, zeroPoint: 0)], float32Nodes: ["A"]),
        ] {
            let executor = try Executor(graph: graph, int8: config)
            XCTAssertEqual(executor.int8Nodes, [])
            XCTAssertEqual(try executor.run(input)["y"]!, float)
        }
        XCTAssertEqual(graph.encodingSource(of: x), "x")
    }

    func testQuantizeAndDequantizeKernelsFollowTheRule() {
        let e = UInt8Encoding(scale: 0.5, zeroPoint: 10)
        let values: [Float] = [0, 0.25, 0.75, -0.25, 1e9, -1e9, .nan, .infinity, -.infinity, 122.5, 122.75, -5, -5.25]
        var q = [UInt8](repeating: 0, count: values.count)
        sm_quantize_f32_u8(values, values.count, 1 / e.scale, e.zeroPoint, &q)
        XCTAssertEqual(q, values.map { Spec.quantize($0, e) })
        XCTAssertEqual(Array(q.prefix(4)), [10, 10, 12, 10])   // 0.5 and -0.5 round to even (0), 1.5 to 2
        XCTAssertEqual(q[6], 0)   // NaN -> -512 -> clamped to 0
        // Many values, halves and near-halves included, against the rule written with Swift's rounding.
        var rng = SeededGenerator(seed: 21)
        let many: [Float] = (0..<20_000).map { i in
            let v = Float.random(in: -300...300, using: &rng)
            return i % 3 == 0 ? (v * 2).rounded() / 2 : (i % 3 == 1 ? v.rounded().nextUp : v)
        }
        for e in [
            UInt8Encoding(scale: 1, zeroPoint: 128), UInt8Encoding(scale: 0.37, zeroPoint: 3),
            UInt8Encoding(scale: 2.5, zeroPoint: 255),
        ] {
            var out = [UInt8](repeating: 0, count: many.count)
            sm_quantize_f32_u8(many, many.count, 1 / e.scale, e.zeroPoint, &out)
            XCTAssertEqual(out, many.map { Spec.quantize($0, e) }, "\(e)")
        }
        var back = [Float](repeating: 0, count: q.count)
        sm_dequantize_u8_f32(q, q.count, e.scale, e.zeroPoint, &back)
        XCTAssertEqual(back, q.map { Spec.dequantize($0, e) })
    }
}

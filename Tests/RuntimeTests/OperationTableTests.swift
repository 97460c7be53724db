import CKernels
import Runtime
import Tensors
import TestSupport
import XCTest

/// Every graph operation of the runtime, one small graph per case, through the `Executor` on every kernel tier this
/// CPU has (float32 and int8), against a naive double-precision reference written below. Shapes include the edges:
/// 1x1 planes, one channel, odd and non-multiple-of-vector sizes, windows reaching outside their input.
final class OperationTableTests: XCTestCase {
    // MARK: Named tolerances

    /// |got - reference| <= absolute + relative * magnitude, where magnitude is the sum of the absolute values of the
    /// terms the operation adds (so a sum that cancels is judged by what it added, not by its small result).
    struct Tolerance: CustomStringConvertible {
        let name: String
        let absolute: Double
        let relative: Double
        var description: String { "\(name) (\(absolute) + \(relative) x magnitude)" }

        /// Operations that only move or compare values (max-pool, resize, window) and float32 addition (one
        /// correctly rounded operation, equal to the double result rounded): bit-exact.
        static let exact = Tolerance(name: "exact", absolute: 0, relative: 0)
        /// A float32 sum of products (convolution, transposed convolution, correlation), GEMM blocking, FMA and
        /// Winograd F(4x4, 3x3) transforms included: observed worst 1.7e-6 x magnitude (Winograd, 32 channels).
        static let float32Sum = Tolerance(name: "float32Sum", absolute: 1e-6, relative: 1e-5)
        /// The vectorised exp of the SIMD tiers' sigmoid: observed worst 1.2e-7 relative, 8.7e-8 absolute.
        static let sigmoid = Tolerance(name: "sigmoid", absolute: 2e-7, relative: 1e-6)
        /// int8 convolution / correlation with a float32 output: an exact int32 accumulation (inputs on the
        /// encoding's grid), then the float32 epilogue (scale product, multiply, bias, residual): a few float32
        /// roundings of the terms: observed worst 8.7e-8 x magnitude.
        static let int8Epilogue = Tolerance(name: "int8Epilogue", absolute: 1e-6, relative: 1e-6)
    }

    /// A uint8 activation computed in float32 (the kernels' epilogue) can round to the neighbouring code when the
    /// double result lies within float32 rounding of a rounding boundary: such values may differ by one step, and at
    /// most this share of them.
    static let requantizationStepShare = 0.02

    // MARK: Tiers

    static let float32Tiers: [sm_tier] = [SM_TIER_REFERENCE, SM_TIER_AVX2, SM_TIER_AVX512].filter {
        sm_tier_supported($0) != 0 && sm_kernels_for_tier($0) != nil
    }
    static let int8Tiers: [sm_int8_tier] = (0..<SM_INT8_TIER_COUNT.rawValue).map { sm_int8_tier(rawValue: $0) }.filter {
        sm_int8_tier_supported($0) != 0 && sm_int8_kernels_for_tier($0) != nil
    }

    // MARK: Checking

    func check(
        _ got: [Float], _ reference: [Double], magnitude: [Double]? = nil, _ tolerance: Tolerance,
        _ label: String, file: StaticString = #filePath, line: UInt = #line
    ) {
        guard got.count == reference.count else {
            return XCTFail("\(label): \(got.count) values, reference \(reference.count)", file: file, line: line)
        }
        var worst = 0.0, worstIndex = -1
        for i in 0..<got.count {
            let m = magnitude?[i] ?? abs(reference[i])
            let bound = tolerance.absolute + tolerance.relative * m
            let error = abs(Double(got[i]) - reference[i])
            let excess = bound == 0 ? (error == 0 ? 0 : .infinity) : error / bound
            if !(excess <= worst) { worst = excess; worstIndex = i }   // NaN counts as a failure
        }
        if worst > 1 || worst.isNaN {
            XCTFail(
                "\(label): value \(worstIndex) is \(got[worstIndex]), reference \(reference[worstIndex]), "
                    + "beyond \(tolerance)", file: file, line: line)
        }
    }

    func random(_ count: Int, _ range: ClosedRange<Float>, seed: UInt64) -> [Float] {
        var rng = SeededGenerator(seed: seed)
        return (0..<count).map { _ in Float.random(in: range, using: &rng) }
    }

    /// Runs a one-output graph on a float32 tier (and an int8 configuration, when given).
    func run(
        _ graph: Graph, _ inputs: [String: Tensor], tier: sm_tier, int8: Int8Configuration? = nil,
        threads: Int = 1, expectInt8 nodes: [String]? = nil
    ) throws -> [Float] {
        let executor = try Executor(graph: graph, threads: threads, tier: tier, int8: int8)
        if let nodes { XCTAssertEqual(executor.int8Nodes, nodes, "lowering") }
        return try XCTUnwrap(executor.run(inputs)["y"]).floats
    }

    // MARK: The naive reference (double precision, plain loops)

    enum Reference {
        /// conv2d with bias, optional residual and ReLU; weights OIHW. Returns values and magnitudes.
        static func conv(
            _ x: [Double], _ s: ActivationShape, _ w: [Double], _ bias: [Double], out: Int, k: Int,
            stride: Int, padding: Int, dilation: Int, relu: Bool, residual: [Double]?
        )
            -> (values: [Double], magnitude: [Double])
        {
            let span = dilation * (k - 1) + 1
            let oh = (s.height + 2 * padding - span) / stride + 1, ow = (s.width + 2 * padding - span) / stride + 1
            var values = [Double](repeating: 0, count: out * oh * ow), magnitude = values
            for o in 0..<out {
                for y in 0..<oh {
                    for xx in 0..<ow {
                        var sum = bias[o], m = abs(bias[o])
                        for c in 0..<s.channels {
                            for ky in 0..<k {
                                for kx in 0..<k {
                                    let iy = y * stride - padding + ky * dilation,
                                        ix = xx * stride - padding + kx * dilation
                                    guard iy >= 0, iy < s.height, ix >= 0, ix < s.width else { continue }
                                    let p =
                                        x[(c * s.height + iy) * s.width + ix]
                                        * w[((o * s.channels + c) * k + ky) * k + kx]
                                    sum += p
                                    m += abs(p)
                                }
                            }
                        }
                        let i = (o * oh + y) * ow + xx
                        if let residual { sum += residual[i]; m += abs(residual[i]) }
                        values[i] = relu ? max(0, sum) : sum
                        magnitude[i] = m
                    }
                }
            }
            return (values, magnitude)
        }

        /// Transposed convolution, stride == kernel, no padding; weights (in, out, k, k).
        static func convTranspose(
            _ x: [Double], _ s: ActivationShape, _ w: [Double], _ bias: [Double], out: Int, k: Int
        )
            -> (values: [Double], magnitude: [Double])
        {
            let oh = s.height * k, ow = s.width * k
            var values = [Double](repeating: 0, count: out * oh * ow), magnitude = values
            for o in 0..<out {
                for y in 0..<oh {
                    for xx in 0..<ow {
                        var sum = bias[o], m = abs(bias[o])
                        for c in 0..<s.channels {
                            let p =
                                x[(c * s.height + y / k) * s.width + xx / k]
                                * w[((c * out + o) * k + y % k) * k + xx % k]
                            sum += p
                            m += abs(p)
                        }
                        values[(o * oh + y) * ow + xx] = sum
                        magnitude[(o * oh + y) * ow + xx] = m
                    }
                }
            }
            return (values, magnitude)
        }

        /// Max-pool with implicit -infinity padding, floor mode.
        static func maxPool(_ x: [Double], _ s: ActivationShape, k: Int, stride: Int, padding: Int) -> [Double] {
            let oh = (s.height + 2 * padding - k) / stride + 1, ow = (s.width + 2 * padding - k) / stride + 1
            var out = [Double](repeating: 0, count: s.channels * oh * ow)
            for c in 0..<s.channels {
                for y in 0..<oh {
                    for xx in 0..<ow {
                        var m = -Double.infinity
                        for ky in 0..<k {
                            for kx in 0..<k {
                                let iy = y * stride - padding + ky, ix = xx * stride - padding + kx
                                if iy >= 0, iy < s.height, ix >= 0, ix < s.width {
                                    m = max(m, x[(c * s.height + iy) * s.width + ix])
                                }
                            }
                        }
                        out[(c * oh + y) * ow + xx] = m
                    }
                }
            }
            return out
        }

        /// Nearest resize, src = floor(dst * in / out).
        static func resizeNearest(_ x: [Double], _ s: ActivationShape, height: Int, width: Int) -> [Double] {
            var out = [Double](repeating: 0, count: s.channels * height * width)
            for c in 0..<s.channels {
                for y in 0..<height {
                    for xx in 0..<width {
                        out[(c * height + y) * width + xx] =
                            x[(c * s.height + y * s.height / height) * s.width + xx * s.width / width]
                    }
                }
            }
            return out
        }

        /// out[c,y,x] = in[c, y + top, x + left], `fill` outside.
        static func window(
            _ x: [Double], _ s: ActivationShape, top: Int, left: Int, height: Int, width: Int,
            fill: Double = 0
        ) -> [Double] {
            var out = [Double](repeating: fill, count: s.channels * height * width)
            for c in 0..<s.channels {
                for y in 0..<height {
                    for xx in 0..<width {
                        let iy = y + top, ix = xx + left
                        if iy >= 0, iy < s.height, ix >= 0, ix < s.width {
                            out[(c * height + y) * width + xx] = x[(c * s.height + iy) * s.width + ix]
                        }
                    }
                }
            }
            return out
        }

        /// Depth-wise valid cross-correlation.
        static func correlation(
            _ x: [Double], _ s: ActivationShape, _ kernel: [Double], kh: Int, kw: Int
        )
            -> (values: [Double], magnitude: [Double])
        {
            let oh = s.height - kh + 1, ow = s.width - kw + 1
            var values = [Double](repeating: 0, count: s.channels * oh * ow), magnitude = values
            for c in 0..<s.channels {
                for y in 0..<oh {
                    for xx in 0..<ow {
                        var sum = 0.0, m = 0.0
                        for u in 0..<kh {
                            for v in 0..<kw {
                                let p = x[(c * s.height + y + u) * s.width + xx + v] * kernel[(c * kh + u) * kw + v]
                                sum += p
                                m += abs(p)
                            }
                        }
                        values[(c * oh + y) * ow + xx] = sum
                        magnitude[(c * oh + y) * ow + xx] = m
                    }
                }
            }
            return (values, magnitude)
        }

        /// uint8 code of a value: round half to even, clamped (siam_int8.h).
        static func quantize(_ v: Double, _ e: UInt8Encoding) -> Double {
            let q = (v / Double(e.scale)).rounded(.toNearestOrEven) + Double(e.zeroPoint)
            return min(255, max(0, q))
        }
        static func dequantize(_ q: Double, _ e: UInt8Encoding) -> Double {
            (q - Double(e.zeroPoint)) * Double(e.scale)
        }
    }

    // MARK: Weights and inputs

    func convWeights(
        _ name: String, out: Int, in inC: Int, k: Int, seed: UInt64, int8: Bool = false
    ) -> ConvolutionWeights {
        let w = random(out * inC * k * k, -0.5...0.5, seed: seed), b = random(out, -0.2...0.2, seed: seed + 1000)
        guard int8 else {
            return ConvolutionWeights(name: name, weights: w, bias: b, outChannels: out, inChannels: inC, kernel: k)
        }
        let per = inC * k * k
        var q = [Int8](repeating: 0, count: w.count), scales = [Float](repeating: 0, count: out)
        for o in 0..<out {
            scales[o] = w[(o * per)..<((o + 1) * per)].map(abs).max()! / 127
            for i in 0..<per { q[o * per + i] = Int8((w[o * per + i] / scales[o]).rounded(.toNearestOrEven)) }
        }
        let dequantized = q.enumerated().map { Float($0.element) * scales[$0.offset / per] }
        return ConvolutionWeights(
            name: name, weights: dequantized, bias: b, outChannels: out, inChannels: inC, kernel: k,
            int8: Int8ConvolutionWeights(values: q, scales: scales, bias: b))
    }

    /// The real weights an int8 convolution computes with: values x per-channel scale, in double.
    func int8Real(_ w: ConvolutionWeights) -> [Double] {
        let q = w.int8!, per = w.inChannels * w.kernel * w.kernel
        return q.values.enumerated().map { Double($0.element) * Double(q.scales[$0.offset / per]) }
    }

    /// The graph input encoding of the int8 cases: a power-of-two scale, and inputs drawn on its grid, so quantising
    /// them is exact and the reference needs no rounding rule.
    static let inputEncoding = UInt8Encoding(scale: 1.0 / 32, zeroPoint: 97)
    func onGrid(_ count: Int, seed: UInt64) -> [Float] {
        var rng = SeededGenerator(seed: seed)
        let e = Self.inputEncoding
        return (0..<count).map { _ in Float(Int32.random(in: 0...255, using: &rng) - e.zeroPoint) * e.scale }
    }

    // MARK: The table

    struct ConvCase {
        let inC: Int, outC: Int, k: Int, stride: Int, padding: Int, dilation: Int, relu: Bool, residual: Bool
        let h: Int, w: Int
        var threads = 1
        var label: String {
            "conv \(inC)->\(outC) k\(k) s\(stride) p\(padding) d\(dilation)\(relu ? " relu" : "")\(residual ? " +res" : "") on \(h)x\(w)"
                + (threads > 1 ? " (\(threads) threads)" : "")
        }
    }

    static let convCases: [ConvCase] = [
        ConvCase(inC: 3, outC: 5, k: 1, stride: 1, padding: 0, dilation: 1, relu: false, residual: false, h: 1, w: 1),
        ConvCase(inC: 1, outC: 1, k: 3, stride: 1, padding: 0, dilation: 1, relu: false, residual: false, h: 3, w: 3),
        ConvCase(inC: 2, outC: 3, k: 3, stride: 1, padding: 1, dilation: 1, relu: true, residual: false, h: 2, w: 1),
        ConvCase(inC: 4, outC: 8, k: 3, stride: 1, padding: 1, dilation: 1, relu: false, residual: false, h: 9, w: 9),
        ConvCase(inC: 17, outC: 3, k: 3, stride: 1, padding: 1, dilation: 1, relu: true, residual: true, h: 13, w: 11),
        ConvCase(inC: 3, outC: 6, k: 3, stride: 2, padding: 1, dilation: 1, relu: true, residual: false, h: 11, w: 11),
        ConvCase(inC: 8, outC: 8, k: 3, stride: 1, padding: 2, dilation: 2, relu: false, residual: true, h: 10, w: 10),
        ConvCase(inC: 3, outC: 4, k: 7, stride: 2, padding: 3, dilation: 1, relu: true, residual: false, h: 21, w: 21),
        ConvCase(inC: 5, outC: 7, k: 5, stride: 1, padding: 0, dilation: 1, relu: false, residual: false, h: 5, w: 5),
        ConvCase(inC: 9, outC: 33, k: 1, stride: 2, padding: 0, dilation: 1, relu: true, residual: false, h: 7, w: 6),
        ConvCase(
            inC: 32, outC: 16, k: 3, stride: 1, padding: 1, dilation: 1, relu: true, residual: true, h: 17, w: 17,
            threads: 2),
    ]

    func testConvolution() throws {
        for (n, c) in Self.convCases.enumerated() {
            let weights = convWeights("conv", out: c.outC, in: c.inC, k: c.k, seed: UInt64(10 * n + 1))
            let shape = ActivationShape(c.inC, c.h, c.w)
            var g = GraphBuilder()
            let x = g.input("x", shape)
            var residualShape: ActivationShape?
            var residual: ValueID?
            if c.residual {
                let span = c.dilation * (c.k - 1) + 1
                residualShape = ActivationShape(
                    c.outC, (c.h + 2 * c.padding - span) / c.stride + 1, (c.w + 2 * c.padding - span) / c.stride + 1)
                residual = g.input("r", residualShape!)
            }
            g.output(
                "y",
                try g.conv2d(
                    "conv", x, weights, stride: c.stride, padding: c.padding, dilation: c.dilation,
                    relu: c.relu, residual: residual))
            let input = random(shape.count, -1...1, seed: UInt64(10 * n + 2))
            var feeds = ["x": Tensor(shape: shape.dims, floats: input)]
            var residualValues: [Float]?
            if let rs = residualShape {
                residualValues = random(rs.count, -1...1, seed: UInt64(10 * n + 3))
                feeds["r"] = Tensor(shape: rs.dims, floats: residualValues!)
            }
            let ref = Reference.conv(
                input.map(Double.init), shape, weights.weights.map(Double.init), weights.bias.map(Double.init),
                out: c.outC, k: c.k, stride: c.stride, padding: c.padding, dilation: c.dilation,
                relu: c.relu, residual: residualValues?.map(Double.init))
            for tier in Self.float32Tiers {
                let got = try run(g.build(), feeds, tier: tier, threads: c.threads)
                check(got, ref.values, magnitude: ref.magnitude, .float32Sum, "\(c.label), tier \(tier.rawValue)")
            }
        }
    }

    func testTransposedConvolution() throws {
        // (in, out, kernel, input height, width): the refine deconvolution's shape (1x1 input, large kernel), odd sizes.
        let cases = [(16, 2, 15, 1, 1), (4, 3, 2, 3, 5), (1, 1, 1, 1, 1), (9, 5, 3, 2, 4)]
        for (n, (inC, outC, k, h, w)) in cases.enumerated() {
            let wv = random(inC * outC * k * k, -0.5...0.5, seed: UInt64(100 + n)),
                bv = random(outC, -0.2...0.2, seed: UInt64(200 + n))
            let weights = try TransposedConvolutionWeights(
                name: "deconv", weight: Tensor(shape: [inC, outC, k, k], floats: wv),
                bias: Tensor(shape: [outC], floats: bv))
            let shape = ActivationShape(inC, h, w)
            var g = GraphBuilder()
            g.output("y", try g.convTranspose2d("deconv", g.input("x", shape), weights))
            let input = random(shape.count, -1...1, seed: UInt64(300 + n))
            let ref = Reference.convTranspose(
                input.map(Double.init), shape, wv.map(Double.init), bv.map(Double.init), out: outC, k: k)
            for tier in Self.float32Tiers {
                for threads in [1, 2] {
                    let got = try run(
                        g.build(), ["x": Tensor(shape: shape.dims, floats: input)], tier: tier, threads: threads)
                    check(
                        got, ref.values, magnitude: ref.magnitude, .float32Sum,
                        "deconv \(inC)->\(outC) k\(k) on \(h)x\(w), tier \(tier.rawValue), \(threads) threads")
                }
            }
        }
    }

    func testMaxPool() throws {
        // (channels, height, width, kernel, stride, padding)
        let cases = [
            (4, 11, 11, 3, 2, 1), (3, 5, 5, 2, 2, 0), (17, 1, 1, 3, 1, 1), (2, 6, 9, 1, 1, 0), (5, 8, 7, 3, 1, 1),
            (64, 25, 25, 3, 2, 1),
        ]
        for (n, (c, h, w, k, stride, padding)) in cases.enumerated() {
            let shape = ActivationShape(c, h, w)
            var g = GraphBuilder()
            g.output("y", try g.maxPool2d("pool", g.input("x", shape), kernel: k, stride: stride, padding: padding))
            let input = random(shape.count, -1...1, seed: UInt64(400 + n)).map { -abs($0) }   // all negative: padding must not win
            let ref = Reference.maxPool(input.map(Double.init), shape, k: k, stride: stride, padding: padding)
            for tier in Self.float32Tiers {
                for threads in [1, 2] {
                    let got = try run(
                        g.build(), ["x": Tensor(shape: shape.dims, floats: input)], tier: tier, threads: threads)
                    check(
                        got, ref, .exact,
                        "max-pool k\(k) s\(stride) p\(padding) on \(shape), tier \(tier.rawValue), \(threads) threads")
                }
            }
        }
    }

    func testResizeNearest() throws {
        // (channels, in height, in width, out height, out width): up, down, identity, non-integer factors, 1x1.
        let cases = [
            (3, 5, 7, 10, 14), (2, 7, 5, 3, 2), (1, 1, 1, 4, 3), (4, 3, 3, 3, 3), (5, 4, 4, 15, 15),
            (1, 31, 31, 63, 63),
        ]
        for (n, (c, h, w, oh, ow)) in cases.enumerated() {
            let shape = ActivationShape(c, h, w)
            var g = GraphBuilder()
            g.output("y", try g.resizeNearest("resize", g.input("x", shape), height: oh, width: ow))
            let input = random(shape.count, -1...1, seed: UInt64(500 + n))
            let ref = Reference.resizeNearest(input.map(Double.init), shape, height: oh, width: ow)
            for tier in Self.float32Tiers {
                let got = try run(g.build(), ["x": Tensor(shape: shape.dims, floats: input)], tier: tier)
                check(got, ref, .exact, "resize \(shape) -> \(oh)x\(ow), tier \(tier.rawValue)")
            }
        }
    }

    /// Windows inside, overlapping an edge, larger than the input on every side, and entirely outside (all zero);
    /// also an origin moved at run time.
    func testWindow() throws {
        let shape = ActivationShape(5, 6, 7)
        let input = random(shape.count, -1...1, seed: 600)
        let cases = [
            (0, 0, 6, 7), (1, 2, 3, 4), (-2, -3, 5, 5), (4, 5, 5, 5), (-1, -1, 8, 9), (-3, -4, 12, 15), (6, 0, 2, 7),
            (0, 7, 6, 3), (-10, -10, 4, 4), (20, 30, 1, 1),
        ]
        for (top, left, h, w) in cases {
            var g = GraphBuilder()
            g.output("y", try g.window("win", g.input("x", shape), top: top, left: left, height: h, width: w))
            let ref = Reference.window(input.map(Double.init), shape, top: top, left: left, height: h, width: w)
            for tier in Self.float32Tiers {
                for threads in [1, 2] {
                    let got = try run(
                        g.build(), ["x": Tensor(shape: shape.dims, floats: input)], tier: tier, threads: threads)
                    check(
                        got, ref, .exact,
                        "window (\(top), \(left)) \(h)x\(w) of \(shape), tier \(tier.rawValue), \(threads) threads")
                }
            }
        }
        var g = GraphBuilder()
        g.output("y", try g.window("win", g.input("x", shape), top: 0, left: 0, height: 4, width: 4))
        let executor = try Executor(graph: g.build())
        for (top, left) in [(-2, 5), (3, -1), (100, 0)] {
            try executor.setWindowOrigin("win", top: top, left: left)
            let got = try XCTUnwrap(executor.run(["x": Tensor(shape: shape.dims, floats: input)])["y"]).floats
            check(
                got, Reference.window(input.map(Double.init), shape, top: top, left: left, height: 4, width: 4), .exact,
                "window moved to (\(top), \(left))")
        }
    }

    func testSigmoid() throws {
        let special: [Float] = [
            0, -0.0, 1, -1, 20, -20, 88, -88, 100, -100, 1e-8, -1e-8, 0.5, -0.5, 16.6, -16.6, 87.3, -87.3,
        ]
        for (n, shape) in [
            ActivationShape(1, 1, 1), ActivationShape(3, 5, 7), ActivationShape(1, 127, 127), ActivationShape(2, 3, 3),
        ].enumerated() {
            var input = random(shape.count, -12...12, seed: UInt64(700 + n))
            for i in 0..<min(special.count, input.count) { input[i] = special[i] }
            var g = GraphBuilder()
            g.output("y", g.sigmoid("sigmoid", g.input("x", shape)))
            let ref = input.map { 1 / (1 + exp(-Double($0))) }
            for tier in Self.float32Tiers {
                let got = try run(g.build(), ["x": Tensor(shape: shape.dims, floats: input)], tier: tier)
                check(got, ref, .sigmoid, "sigmoid on \(shape), tier \(tier.rawValue)")
            }
        }
    }

    func testAdd() throws {
        for (n, shape) in [ActivationShape(1, 1, 1), ActivationShape(3, 5, 7), ActivationShape(17, 9, 9)].enumerated() {
            for relu in [false, true] {
                let a = random(shape.count, -1...1, seed: UInt64(800 + n)),
                    b = random(shape.count, -1...1, seed: UInt64(900 + n))
                var g = GraphBuilder()
                g.output("y", try g.add("add", g.input("a", shape), g.input("b", shape), relu: relu))
                // Float32 addition is correctly rounded: the double sum rounded to float32 is the exact answer.
                let ref = zip(a, b).map { Double(Float(Double($0) + Double($1))) }.map { relu ? max(0, $0) : $0 }
                for tier in Self.float32Tiers {
                    let got = try run(
                        g.build(),
                        ["a": Tensor(shape: shape.dims, floats: a), "b": Tensor(shape: shape.dims, floats: b)],
                        tier: tier)
                    check(got, ref, .exact, "add\(relu ? " relu" : "") on \(shape), tier \(tier.rawValue)")
                }
            }
        }
    }

    /// (channels, search height, width, kernel height, width): the tracker's 7x7 on 31x31, 1x1, non-square, 17 channels.
    static let correlationCases = [
        (4, 31, 31, 7, 7), (1, 1, 1, 1, 1), (17, 9, 7, 4, 2), (3, 5, 5, 5, 5), (8, 6, 6, 3, 3),
    ]

    func testDepthwiseCrossCorrelation() throws {
        for (n, (c, sh, sw, kh, kw)) in Self.correlationCases.enumerated() {
            let s = ActivationShape(c, sh, sw), k = ActivationShape(c, kh, kw)
            var g = GraphBuilder()
            g.output("y", try g.depthwiseCrossCorrelation("xcorr", search: g.input("s", s), kernel: g.input("k", k)))
            let search = random(s.count, -1...1, seed: UInt64(1000 + n)),
                kernel = random(k.count, -1...1, seed: UInt64(1100 + n))
            let ref = Reference.correlation(search.map(Double.init), s, kernel.map(Double.init), kh: kh, kw: kw)
            for tier in Self.float32Tiers {
                for threads in [1, 2] {
                    let got = try run(
                        g.build(),
                        ["s": Tensor(shape: s.dims, floats: search), "k": Tensor(shape: k.dims, floats: kernel)],
                        tier: tier, threads: threads)
                    check(
                        got, ref.values, magnitude: ref.magnitude, .float32Sum,
                        "correlation \(s) * \(k), tier \(tier.rawValue), \(threads) threads")
                }
            }
        }
    }

    // MARK: int8 lowering

    /// int8 convolution (quantised input, float32 output, optional float32 residual) against the double reference on
    /// the int8 weights' real values.
    func testInt8Convolution() throws {
        let e = Self.inputEncoding
        for (n, c) in Self.convCases.enumerated() {
            let weights = convWeights("conv", out: c.outC, in: c.inC, k: c.k, seed: UInt64(10 * n + 5), int8: true)
            let shape = ActivationShape(c.inC, c.h, c.w)
            var g = GraphBuilder()
            let x = g.input("x", shape)
            var residual: ValueID?, residualShape: ActivationShape?
            if c.residual {
                let span = c.dilation * (c.k - 1) + 1
                residualShape = ActivationShape(
                    c.outC, (c.h + 2 * c.padding - span) / c.stride + 1, (c.w + 2 * c.padding - span) / c.stride + 1)
                residual = g.input("r", residualShape!)
            }
            g.output(
                "y",
                try g.conv2d(
                    "conv", x, weights, stride: c.stride, padding: c.padding, dilation: c.dilation,
                    relu: c.relu, residual: residual))
            let input = onGrid(shape.count, seed: UInt64(10 * n + 6))
            var feeds = ["x": Tensor(shape: shape.dims, floats: input)]
            var residualValues: [Float]?
            if let rs = residualShape {
                residualValues = random(rs.count, -1...1, seed: UInt64(10 * n + 7))
                feeds["r"] = Tensor(shape: rs.dims, floats: residualValues!)
            }
            let ref = Reference.conv(
                input.map(Double.init), shape, int8Real(weights), weights.int8!.bias.map(Double.init),
                out: c.outC, k: c.k, stride: c.stride, padding: c.padding, dilation: c.dilation,
                relu: c.relu, residual: residualValues?.map(Double.init))
            for tier in Self.int8Tiers {
                let config = Int8Configuration(encodings: ["x": e], tier: tier)
                let got = try run(
                    g.build(), feeds, tier: SM_TIER_REFERENCE, int8: config, threads: c.threads, expectInt8: ["conv"])
                check(
                    got, ref.values, magnitude: ref.magnitude, .int8Epilogue,
                    "int8 \(c.label), int8 tier \(tier.rawValue)")
            }
        }
    }

    /// Convolutions large enough to be split between workers: every thread count (rows split 2, 3 or 4 ways) gives the
    /// same bytes as one thread, fp32 (im2col, 1x1, stride 2) and int8, on the active tiers.
    func testRowSplitsGiveTheValuesOfOneThread() throws {
        let e = Self.inputEncoding
        for int8 in [false, true] {
            let shape = ActivationShape(32, 37, 29)
            var g = GraphBuilder()
            let x = g.input("x", shape)
            let a = try g.conv2d(
                "a", x, convWeights("a", out: 48, in: 32, k: 3, seed: 901, int8: int8), stride: 2, padding: 1,
                relu: true)
            let b = try g.conv2d("b", x, convWeights("b", out: 40, in: 32, k: 1, seed: 902, int8: int8), relu: false)
            g.output(
                "y", int8 ? b : try g.conv2d("c", a, convWeights("c", out: 8, in: 48, k: 1, seed: 903), relu: false))
            if int8 { g.output("z", a) }
            let graph = g.build()
            let feeds = ["x": Tensor(shape: shape.dims, floats: onGrid(shape.count, seed: 904))]
            let config = int8 ? Int8Configuration(encodings: ["x": e]) : nil
            let one = try Executor(graph: graph, threads: 1, int8: config).run(feeds)
            for threads in [2, 3, 4] {
                let many = try Executor(graph: graph, threads: threads, int8: config).run(feeds)
                for name in one.keys.sorted() {
                    XCTAssertEqual(
                        one[name]!.floats, many[name]!.floats, "\(int8 ? "int8" : "fp32") \(name), \(threads) threads")
                }
            }
        }
    }

    /// A graph output kept in uint8 (`uint8Outputs`) bound to a uint8 graph input (`uint8Inputs`) of another executor:
    /// the reader's results are the bytes of the float32 crossing with a quantise step, `withOutput` dequantises, a
    /// uint8 input fed through `run` is quantised on entry, and a float32 / uint8 mismatch is refused.
    func testUInt8OutputsBindToUInt8Inputs() throws {
        let e = Self.inputEncoding, mid = UInt8Encoding(scale: 1.0 / 16, zeroPoint: 3)
        let shape = ActivationShape(8, 9, 11)
        var a = GraphBuilder()
        a.output(
            "y",
            try a.conv2d(
                "a", a.input("x", shape), convWeights("a", out: 8, in: 8, k: 3, seed: 950, int8: true), padding: 1,
                relu: true))
        var b = GraphBuilder()
        let window = try b.window("w", b.input("f", ActivationShape(8, 9, 11)), top: 1, left: -2, height: 7, width: 12)
        b.output(
            "z", try b.conv2d("b", window, convWeights("b", out: 4, in: 8, k: 1, seed: 951, int8: true), relu: false))
        let encodings = ["x": e, "a": mid, "f": mid]
        let feeds = ["x": Tensor(shape: shape.dims, floats: onGrid(shape.count, seed: 952))]

        let floatA = try Executor(graph: a.build(), int8: Int8Configuration(encodings: encodings))
        let uint8A = try Executor(
            graph: a.build(), int8: Int8Configuration(encodings: encodings, uint8Outputs: ["y"]))
        XCTAssertNil(floatA.outputEncoding("y"))
        XCTAssertEqual(uint8A.outputEncoding("y"), mid)
        let y = try floatA.run(feeds)["y"]!
        var bytes = [UInt8](repeating: 0, count: y.count), rounded = [Float](repeating: 0, count: y.count)
        sm_quantize_f32_u8(y.floats, y.count, 1 / mid.scale, mid.zeroPoint, &bytes)
        sm_dequantize_u8_f32(bytes, y.count, mid.scale, mid.zeroPoint, &rounded)
        XCTAssertEqual(try uint8A.run(feeds)["y"]!.floats, rounded, "withOutput dequantises")

        let copied = try Executor(graph: b.build(), int8: Int8Configuration(encodings: encodings)).run(["f": y])
        let uint8B = try Executor(
            graph: b.build(), int8: Int8Configuration(encodings: encodings, uint8Inputs: ["f": mid]))
        XCTAssertEqual(uint8B.steps.filter { $0.node == nil }.map(\.name), [], "no conversion step")
        XCTAssertEqual(try uint8B.run(["f": y])["z"]!.floats, copied["z"]!.floats, "fed: quantised on entry")
        try uint8B.bindInput("f", to: uint8A, output: "y")
        _ = try uint8A.run(feeds)
        XCTAssertEqual(try uint8B.run([:])["z"]!.floats, copied["z"]!.floats, "bound in place")

        let other = try Executor(
            graph: b.build(), int8: Int8Configuration(encodings: encodings, uint8Inputs: ["f": mid]))
        XCTAssertThrowsError(try other.bindInput("f", to: floatA, output: "y")) {
            guard case GraphError.badBinding = $0 else { return XCTFail("\($0)") }
        }
    }

    /// int8 correlation: the search quantised with its encoding, the kernel per channel by the executor. Kernels of
    /// integers with a largest magnitude of 127 per channel quantise exactly (scale 1), so the reference is exact.
    func testInt8DepthwiseCrossCorrelation() throws {
        for (n, (c, sh, sw, kh, kw)) in Self.correlationCases.enumerated() {
            let s = ActivationShape(c, sh, sw), k = ActivationShape(c, kh, kw)
            var g = GraphBuilder()
            g.output("y", try g.depthwiseCrossCorrelation("xcorr", search: g.input("s", s), kernel: g.input("k", k)))
            let search = onGrid(s.count, seed: UInt64(1200 + n))
            var rng = SeededGenerator(seed: UInt64(1300 + n))
            var kernel = (0..<k.count).map { _ in Float(Int.random(in: -127...127, using: &rng)) }
            for ch in 0..<c { kernel[ch * kh * kw + (ch % (kh * kw))] = ch % 2 == 0 ? 127 : -127 }
            let ref = Reference.correlation(search.map(Double.init), s, kernel.map(Double.init), kh: kh, kw: kw)
            for tier in Self.int8Tiers {
                let config = Int8Configuration(encodings: ["s": Self.inputEncoding], tier: tier)
                let got = try run(
                    g.build(),
                    ["s": Tensor(shape: s.dims, floats: search), "k": Tensor(shape: k.dims, floats: kernel)],
                    tier: SM_TIER_REFERENCE, int8: config, expectInt8: ["xcorr"])
                check(
                    got, ref.values, magnitude: ref.magnitude, .int8Epilogue,
                    "int8 correlation \(s) * \(k), int8 tier \(tier.rawValue)")
            }
        }
    }

    /// Max-pool and window on uint8 activations: an int8 convolution writes uint8 (its only reader takes uint8), the
    /// pool / window runs on the codes (the window fills with the zero point, i.e. real 0), the graph output is
    /// dequantised. Reference: the double convolution, quantised, pooled / windowed, dequantised.
    func testInt8MaxPoolAndWindow() throws {
        let shape = ActivationShape(6, 11, 9)
        let weights = convWeights("conv", out: 8, in: 6, k: 3, seed: 1400, int8: true)
        let input = onGrid(shape.count, seed: 1401)
        let conv = Reference.conv(
            input.map(Double.init), shape, int8Real(weights), weights.int8!.bias.map(Double.init),
            out: 8, k: 3, stride: 1, padding: 1, dilation: 1, relu: false, residual: nil
        ).values
        let (lo, hi) = (min(0, conv.min()!), max(0, conv.max()!))
        let scale = Float((hi - lo) / 255)
        let convEncoding = UInt8Encoding(scale: scale, zeroPoint: Int32((-lo / Double(scale)).rounded()))
        let codes = conv.map { Reference.quantize($0, convEncoding) }
        let convShape = ActivationShape(8, 11, 9)

        typealias Build = (inout GraphBuilder, ValueID) throws -> ValueID
        let cases: [(String, Build, [Double])] = [
            (
                "max-pool k3 s2 p1", { try $0.maxPool2d("op", $1, kernel: 3, stride: 2, padding: 1) },
                Reference.maxPool(codes, convShape, k: 3, stride: 2, padding: 1)
            ),
            (
                "max-pool k2 s2 p0", { try $0.maxPool2d("op", $1, kernel: 2, stride: 2, padding: 0) },
                Reference.maxPool(codes, convShape, k: 2, stride: 2, padding: 0)
            ),
            (
                "window (-2, 3) 7x9", { try $0.window("op", $1, top: -2, left: 3, height: 7, width: 9) },
                Reference.window(
                    codes, convShape, top: -2, left: 3, height: 7, width: 9, fill: Double(convEncoding.zeroPoint))
            ),
            (
                "window (-20, -20) 2x2", { try $0.window("op", $1, top: -20, left: -20, height: 2, width: 2) },
                Reference.window(
                    codes, convShape, top: -20, left: -20, height: 2, width: 2, fill: Double(convEncoding.zeroPoint))
            ),
        ]
        for (label, build, referenceCodes) in cases {
            var g = GraphBuilder()
            let c = try g.conv2d("conv", g.input("x", shape), weights, padding: 1, relu: false)
            g.output("y", try build(&g, c))
            let ref = referenceCodes.map { Reference.dequantize($0, convEncoding) }
            for tier in Self.int8Tiers {
                let config = Int8Configuration(encodings: ["x": Self.inputEncoding, "conv": convEncoding], tier: tier)
                let got = try run(
                    g.build(), ["x": Tensor(shape: shape.dims, floats: input)], tier: SM_TIER_REFERENCE,
                    int8: config, expectInt8: ["conv"])
                XCTAssertEqual(got.count, ref.count, label)
                var stepped = 0
                for (a, b) in zip(got, ref) {
                    let error = abs(Double(a) - b)
                    if error <= 1e-6 * abs(b) { continue }
                    XCTAssertLessThanOrEqual(error, Double(scale) * 1.000001, "\(label): more than one step off")
                    stepped += 1
                }
                XCTAssertLessThanOrEqual(
                    Double(stepped), Self.requantizationStepShare * Double(ref.count),
                    "\(label), int8 tier \(tier.rawValue): \(stepped) values one step off")
                XCTAssertTrue(ref.contains(0) || !label.hasPrefix("window"), "the window reaches outside")
            }
        }
    }
}

import CKernels
import XCTest

// The int8 kernels (siam_int8.h): every int8 tier this build has and this CPU supports against the reference twin,
// byte for byte (float32 and uint8 outputs alike: the specification fixes every rounding). Sizes stay small because
// debug builds compile the kernels at -O0; Tools/arm64/test_int8.c runs the same kind of cases with the full
// SiamMask channel counts (and is what Tools/test_arm64.sh runs for the Arm tiers under qemu).
// On a CPU without AVX-VNNI (e.g. Zen 4, which has AVX-512 VNNI) the avxvnni tier is compiled and dispatch-guarded
// but cannot run, so it is not in `Int8Tiers.fast` there.

/// A 64-byte aligned byte buffer, as the kernels' callers guarantee for packed weights and workspaces.
final class AlignedBytes {
    let count: Int
    let raw: UnsafeMutableRawPointer

    init(count: Int, fill: UInt8 = 0) {
        self.count = count
        raw = UnsafeMutableRawPointer.allocate(byteCount: max(64, (count + 63) / 64 * 64), alignment: 64)
        raw.initializeMemory(as: UInt8.self, repeating: fill, count: max(64, (count + 63) / 64 * 64))
    }

    var bytes: [UInt8] { Array(UnsafeBufferPointer(start: raw.assumingMemoryBound(to: UInt8.self), count: count)) }
    var u8: UnsafeMutablePointer<UInt8> { raw.assumingMemoryBound(to: UInt8.self) }
    var i8: UnsafeMutablePointer<Int8> { raw.assumingMemoryBound(to: Int8.self) }
    var f32: UnsafeMutablePointer<Float> { raw.assumingMemoryBound(to: Float.self) }

    func copy() -> AlignedBytes {
        let other = AlignedBytes(count: count)
        other.raw.copyMemory(from: raw, byteCount: count)
        return other
    }

    deinit { raw.deallocate() }
}

typealias Int8Table = UnsafePointer<sm_int8_kernel_table>

enum Int8Tiers {
    static var reference: Int8Table {
        guard let table = sm_int8_kernels_for_tier(SM_INT8_TIER_REFERENCE) else { fatalError("no int8 reference") }
        return table
    }

    static let all = [
        SM_INT8_TIER_AVX2, SM_INT8_TIER_AVXVNNI, SM_INT8_TIER_AVX512VNNI, SM_INT8_TIER_NEON,
        SM_INT8_TIER_NEONDOT,
    ]

    /// The fast int8 tiers this build has and this CPU runs.
    static var fast: [Int8Table] {
        all.compactMap { tier -> Int8Table? in
            guard sm_int8_tier_supported(tier) != 0, let table = sm_int8_kernels_for_tier(tier) else { return nil }
            return table
        }
    }

    static func name(_ table: Int8Table) -> String { String(cString: table.pointee.name) }
}

/// How the data of a case is drawn.
enum Int8Data {
    case random
    case maxPositive   // all-255 activations, all +127 weights: u8 x s8 pairs far past int16
    case maxNegative   // all-255 activations, all -127 weights
    case minus128   // all-255 activations, weights -128 (stored as -127) and +127
    case zeroMinus128   // all-0 activations, weights -128 and -127: the extreme of the signed flip on Arm
    case ties   // scale 0.5, integer bias and residual, inv_sy 1: exact halves for round-half-to-even
    case sparse   // mostly the zero point, negative scales and -0 biases on odd channels: relu of -0
    case sevenBit   // random weights in [-63, 63] (a --weight-bits 7 model): AVX2's vpmaddubsw path
    case sevenBitExtremes   // all-255 activations, weights +63 / -63: the largest vpmaddubsw pair sums (+-32130)
}

struct Int8Epilogue: CustomStringConvertible {
    var bias = true
    var residual: sm_int8_residual_type = SM_INT8_RESIDUAL_NONE
    var relu = true
    var output: sm_int8_output_type = SM_INT8_OUTPUT_F32

    var description: String {
        "bias \(bias) residual \(residual.rawValue) relu \(relu) output \(output == SM_INT8_OUTPUT_U8 ? "u8" : "f32")"
    }

    /// Every combination (24).
    static var all: [Int8Epilogue] {
        var list: [Int8Epilogue] = []
        for bias in [false, true] {
            for residual in [SM_INT8_RESIDUAL_NONE, SM_INT8_RESIDUAL_F32, SM_INT8_RESIDUAL_U8] {
                for relu in [false, true] {
                    for output in [SM_INT8_OUTPUT_F32, SM_INT8_OUTPUT_U8] {
                        list.append(Int8Epilogue(bias: bias, residual: residual, relu: relu, output: output))
                    }
                }
            }
        }
        return list
    }
}

/// The inputs of one int8 case (convolution or xcorr): activations, weights, zero point and epilogue.
final class Int8Problem {
    let input: AlignedBytes
    let weights: AlignedBytes
    let scale, bias, residualF32: AlignedBytes
    let residualU8: AlignedBytes
    let zeroPoint: Int32
    var epilogue: sm_int8_epilogue
    let outputCount: Int
    let outputBytes: Int

    init(
        inputCount: Int, channels: Int, taps: Int, outputCount: Int, data: Int8Data, epilogue e: Int8Epilogue,
        seed: UInt64
    ) {
        var g = SeededGenerator(seed: seed)
        self.outputCount = outputCount
        outputBytes = outputCount * (e.output == SM_INT8_OUTPUT_U8 ? 1 : 4)
        input = AlignedBytes(count: inputCount)
        weights = AlignedBytes(count: channels * taps)
        scale = AlignedBytes(count: 4 * channels)
        bias = AlignedBytes(count: 4 * channels)
        residualF32 = AlignedBytes(count: 4 * outputCount)
        residualU8 = AlignedBytes(count: outputCount)
        var zx = Int32.random(in: 0...255, using: &g)
        switch data {
        case .maxPositive, .maxNegative, .minus128, .zeroMinus128, .sevenBitExtremes:
            zx = Bool.random(using: &g) ? 0 : 255
        default: break
        }
        zeroPoint = zx
        for i in 0..<inputCount {
            switch data {
            case .maxPositive, .maxNegative, .minus128, .sevenBitExtremes: input.u8[i] = 255
            case .zeroMinus128: input.u8[i] = 0
            case .sparse:
                input.u8[i] =
                    UInt8.random(in: 0...7, using: &g) == 0
                    ? UInt8.random(in: 0...255, using: &g)
                    : UInt8(zx)
            default: input.u8[i] = UInt8.random(in: 0...255, using: &g)
            }
        }
        for i in 0..<(channels * taps) {
            switch data {
            case .maxPositive: weights.i8[i] = 127
            case .maxNegative: weights.i8[i] = -127
            case .minus128: weights.i8[i] = i % 3 == 0 ? 127 : -128
            case .zeroMinus128: weights.i8[i] = i % 5 == 0 ? -127 : -128
            case .sevenBit: weights.i8[i] = Int8.random(in: -63...63, using: &g)
            case .sevenBitExtremes: weights.i8[i] = (i / 3) % 2 == 0 ? 63 : -63
            default: weights.i8[i] = Int8.random(in: -128...127, using: &g)
            }
        }
        // Scales that make f32 outputs of order 1 and u8 outputs span (and clamp at) both ends.
        let typical = 1 / (127 * 74 * Float(max(taps, 1)).squareRoot())
        for o in 0..<channels {
            scale.f32[o] = data == .ties ? 0.5 : typical * Float.random(in: 0.5...2, using: &g)
            bias.f32[o] = data == .ties ? Float(Int.random(in: -3...3, using: &g)) : Float.random(in: -1...1, using: &g)
            if data == .sparse && o % 2 == 1 {
                scale.f32[o] = -scale.f32[o]
                bias.f32[o] = -0.0
            }
        }
        for i in 0..<outputCount {
            residualF32.f32[i] =
                data == .ties ? Float(Int.random(in: -3...3, using: &g)) : Float.random(in: -2...2, using: &g)
            residualU8.u8[i] = UInt8.random(in: 0...255, using: &g)
        }
        let residual: UnsafeRawPointer? =
            e.residual == SM_INT8_RESIDUAL_F32
            ? UnsafeRawPointer(residualF32.raw)
            : e.residual == SM_INT8_RESIDUAL_U8 ? UnsafeRawPointer(residualU8.raw) : nil
        epilogue = sm_int8_epilogue(
            scale: UnsafePointer(scale.f32), bias: e.bias ? UnsafePointer(bias.f32) : nil,
            residual: residual, residual_type: Int32(e.residual.rawValue),
            residual_scale: data == .ties ? 1 : Float.random(in: 0.002...0.02, using: &g),
            residual_zero_point: Int32.random(in: 0...255, using: &g), relu: e.relu ? 1 : 0,
            output_type: Int32(e.output.rawValue),
            output_inv_scale: data == .ties ? 1 : Float.random(in: 40...160, using: &g),
            output_zero_point: Int32.random(in: 0...255, using: &g))
    }
}

/// Reports the first differing byte of two outputs.
func assertSameBytes(
    _ actual: AlignedBytes, _ expected: AlignedBytes, count: Int, _ label: @autoclosure () -> String,
    file: StaticString = #filePath, line: UInt = #line
) {
    if memcmp(actual.raw, expected.raw, count) == 0 { return }
    var at = 0
    while at < count && actual.u8[at] == expected.u8[at] { at += 1 }
    XCTFail(
        "\(label()): byte \(at) of \(count) is \(actual.u8[at]), reference \(expected.u8[at])", file: file, line: line)
}

final class Int8ConvolutionTests: XCTestCase {
    struct Case {
        var shape: sm_conv2d_shape
        var data = Int8Data.random
        var epilogue = Int8Epilogue()
        var label: String
        /// The Winograd-domain layer kind (siam_int8.h, wd23) with these 16 multipliers; nil: the exact convolution.
        var winograd: [Int16]? = nil
    }

    final class ConvProblem {
        var shape: sm_conv2d_shape
        let problem: Int8Problem
        let expected: AlignedBytes

        let winograd: [Int16]?

        init(_ c: Case, seed: UInt64) {
            shape = c.shape
            winograd = c.winograd
            let s = c.shape
            let outputCount = Int(s.out_channels * s.out_height * s.out_width)
            problem = Int8Problem(
                inputCount: Int(s.in_channels * s.in_height * s.in_width),
                channels: Int(s.out_channels), taps: Int(s.in_channels * s.kernel_h * s.kernel_w),
                outputCount: outputCount, data: c.data, epilogue: c.epilogue, seed: seed)
            expected = AlignedBytes(count: problem.outputBytes, fill: 0xCD)
            let reference = Int8Tiers.reference
            let packed = pack(reference)
            run(reference, packed: packed, output: expected, bounds: [0, s.out_height])
        }

        func pack(_ table: Int8Table) -> AlignedBytes {
            if let m = winograd {
                let packed = AlignedBytes(count: table.pointee.conv2d_wd23_packed_bytes(&shape))
                m.withUnsafeBufferPointer {
                    table.pointee.conv2d_wd23_pack(
                        &shape, problem.weights.i8, problem.zeroPoint, $0.baseAddress!, packed.raw)
                }
                return packed
            }
            let packed = AlignedBytes(count: table.pointee.conv2d_u8s8_packed_bytes(&shape))
            table.pointee.conv2d_u8s8_pack(&shape, problem.weights.i8, problem.zeroPoint, packed.raw)
            return packed
        }

        /// Rows [bounds[i], bounds[i+1]) as separate calls, each with its own workspace.
        func run(
            _ table: Int8Table, packed: AlignedBytes, output: AlignedBytes, bounds: [Int32],
            epilogue: sm_int8_epilogue? = nil
        ) {
            var e = epilogue ?? problem.epilogue
            let k = table.pointee
            let (bytes, conv) =
                winograd == nil
                ? (k.conv2d_u8s8_workspace_bytes!, k.conv2d_u8s8!) : (k.conv2d_wd23_workspace_bytes!, k.conv2d_wd23!)
            for i in 0..<(bounds.count - 1) {
                let workspace = Workspace(bytes: bytes(&shape, bounds[i + 1] - bounds[i]))
                conv(&shape, problem.input.u8, packed.raw, &e, output.raw, bounds[i], bounds[i + 1], workspace.pointer)
            }
        }
    }

    /// Every fast int8 tier against the reference on `cases`; `splits` adds calls over row ranges.
    func check(
        _ cases: [Case], seed: UInt64, splits: (Int32) -> [[Int32]] = { [[0, $0]] },
        file: StaticString = #filePath, line: UInt = #line
    ) throws {
        let tiers = Int8Tiers.fast
        if tiers.isEmpty { throw XCTSkip("no fast int8 tier on this CPU/build") }
        for (n, c) in cases.enumerated() {
            let p = ConvProblem(c, seed: seed &+ UInt64(n) &* 7919)
            for table in tiers {
                let packed = p.pack(table)
                for bounds in splits(c.shape.out_height) {
                    let output = AlignedBytes(count: p.problem.outputBytes, fill: 0xCD)
                    p.run(table, packed: packed, output: output, bounds: bounds)
                    assertSameBytes(
                        output, p.expected, count: p.problem.outputBytes,
                        "\(Int8Tiers.name(table)) \(c.label) (\(c.epilogue)) rows \(bounds)", file: file,
                        line: line)
                }
            }
        }
    }

    // Every convolution geometry of SiamMask with reduced channel counts, and the full counts where the plane is
    // small: 7x7 s2 stem on 3 channels, 1x1, 3x3 s1 p1, 3x3 s2 p0, 3x3 d2 p2, 3x3 p0, outputs 1x1 to 127x127.
    func testNetworkShapes() throws {
        let u8 = Int8Epilogue(output: SM_INT8_OUTPUT_U8)
        try check(
            [
                Case(
                    shape: geometry(3, 127, 127, out: 4, kernel: 7, stride: 2), label: "stem 7x7 s2 on the 127 template"
                ),
                Case(
                    shape: geometry(3, 71, 71, out: 3, kernel: 7, stride: 2), epilogue: u8, label: "stem 7x7 s2 u8 out"),
                Case(shape: geometry(8, 31, 31, out: 12, kernel: 1), label: "1x1 s1"),
                Case(shape: geometry(6, 31, 31, out: 9, kernel: 3, pad: 1), epilogue: u8, label: "3x3 s1 p1"),
                Case(shape: geometry(5, 31, 31, out: 7, kernel: 3, stride: 2), label: "3x3 s2 p0"),
                Case(
                    shape: geometry(6, 31, 31, out: 10, kernel: 3, pad: 2, dilation: 2), epilogue: u8,
                    label: "3x3 d2 p2"),
                Case(shape: geometry(7, 31, 31, out: 9, kernel: 3), label: "3x3 p0 (29x29 out)"),
                Case(shape: geometry(7, 7, 7, out: 9, kernel: 3), epilogue: u8, label: "3x3 p0 (5x5 out)"),
                Case(shape: geometry(2, 127, 127, out: 3, kernel: 3, pad: 1), label: "3x3 p1 on 127x127"),
                Case(shape: geometry(3, 3, 3, out: 4, kernel: 3), label: "3x3 p0 to 1x1"),
                Case(shape: geometry(1024, 2, 2, out: 3, kernel: 1), epilogue: u8, label: "1024 input channels"),
                Case(shape: geometry(2, 3, 3, out: 1024, kernel: 1), label: "1024 output channels"),
                Case(
                    shape: geometry(256, 3, 3, out: 5, kernel: 3, pad: 2, dilation: 2), label: "3x3 d2 on 256 channels"),
                Case(shape: geometry(255, 1, 1, out: 63, kernel: 1), epilogue: u8, label: "1x1 on 1x1, odd channels"),
                Case(shape: geometry(1, 1, 1, out: 1, kernel: 1), label: "one channel, one pixel"),
            ], seed: 1)
    }

    // Tile edges: K around multiples of 4 (vpdpbusd / sdot groups), 8 (NEON steps), 16 and 64, and past a B block
    // (256 KiB / K pixels); output channels around the micro-tiles (4 NEON, 6 AVX2 / AVX-VNNI, 8 AVX-512 / dot);
    // widths around the pixel tiles (8, 12, 16, 48) and vectors (4, 8, 16).
    func testTileEdges() throws {
        var cases: [Case] = []
        for (i, k) in ([1, 2, 3, 4, 5, 7, 8, 9, 12, 15, 16, 17, 31, 32, 33, 63, 64, 65, 129, 300] as [Int32])
            .enumerated()
        {
            cases.append(
                Case(
                    shape: geometry(k, 3, 5, out: 5, kernel: 1),
                    epilogue: Int8Epilogue(output: i % 2 == 0 ? SM_INT8_OUTPUT_F32 : SM_INT8_OUTPUT_U8),
                    label: "1x1 K=\(k)"))
        }
        for c: Int32 in [1, 2, 3, 4, 5, 7, 8] {   // 3x3: K = 9c
            cases.append(Case(shape: geometry(c, 4, 6, out: 5, kernel: 3, pad: 1), label: "3x3 K=\(9 * c)"))
        }
        for o: Int32 in [1, 2, 3, 4, 5, 6, 7, 8, 9, 11, 12, 13, 16, 17, 23, 24, 25] {
            cases.append(Case(shape: geometry(5, 2, 9, out: o, kernel: 1), label: "out channels \(o)"))
        }
        let widths: [Int32] = [
            1, 2, 3, 4, 5, 7, 8, 9, 11, 12, 13, 15, 16, 17, 23, 24, 25, 31, 32, 33, 47, 48, 49, 63,
            64, 65, 97,
        ]
        for (i, w) in widths.enumerated() {
            cases.append(
                Case(
                    shape: geometry(3, 2, w, out: 7, kernel: 3, pad: 1),
                    epilogue: Int8Epilogue(
                        residual: SM_INT8_RESIDUAL_U8,
                        output: i % 2 == 0 ? SM_INT8_OUTPUT_F32 : SM_INT8_OUTPUT_U8),
                    label: "width \(w)"))
        }
        cases.append(Case(shape: geometry(1200, 2, 40, out: 5, kernel: 1), label: "K=1200: several B blocks"))
        cases.append(Case(shape: geometry(2, 45, 45, out: 3, kernel: 1), label: "2025 pixels, 1x1"))
        cases.append(Case(shape: geometry(2, 16, 16, out: 3, kernel: 3, stride: 2), label: "3x3 s2, even size"))
        // Padding implied by the output size only (bottom/right), and top/left only with stride 2.
        var implied = geometry(3, 5, 7, out: 6, kernel: 2)
        implied.out_height = 5
        implied.out_width = 7
        cases.append(Case(shape: implied, label: "implied bottom/right padding"))
        var topLeft = geometry(4, 6, 6, out: 5, kernel: 3, stride: 2)
        topLeft.pad_top = 1
        topLeft.pad_left = 2
        topLeft.out_height = 3
        topLeft.out_width = 3
        cases.append(
            Case(shape: topLeft, epilogue: Int8Epilogue(output: SM_INT8_OUTPUT_U8), label: "top/left padding only"))
        try check(cases, seed: 2)
    }

    /// Layers whose weights all fit 7 bits take AVX2's vpmaddubsw path (marked in the packed header); it must give
    /// the reference's bytes on every shape, at the largest pair sums, over row splits; one weight of 64 keeps a
    /// layer on the exact int16 path.
    func testSevenBitWeights() throws {
        let u8 = Int8Epilogue(output: SM_INT8_OUTPUT_U8), res = Int8Epilogue(residual: SM_INT8_RESIDUAL_U8)
        var cases: [Case] = []
        for (i, shape) in [
            geometry(3, 71, 71, out: 4, kernel: 7, stride: 2), geometry(8, 31, 31, out: 12, kernel: 1),
            geometry(6, 31, 31, out: 9, kernel: 3, pad: 1), geometry(5, 31, 31, out: 7, kernel: 3, stride: 2),
            geometry(6, 31, 31, out: 10, kernel: 3, pad: 2, dilation: 2), geometry(7, 31, 31, out: 9, kernel: 3),
            geometry(1024, 2, 2, out: 3, kernel: 1), geometry(2, 3, 3, out: 25, kernel: 1),
            geometry(1200, 2, 40, out: 5, kernel: 1), geometry(3, 2, 49, out: 7, kernel: 3, pad: 1),
        ].enumerated() {
            cases.append(
                Case(
                    shape: shape, data: .sevenBit, epilogue: [Int8Epilogue(), u8, res][i % 3],
                    label: "7-bit \(shape.in_channels)x\(shape.kernel_h)"))
            cases.append(
                Case(
                    shape: shape, data: .sevenBitExtremes, epilogue: u8,
                    label: "7-bit extremes \(shape.in_channels)x\(shape.kernel_h)"))
        }
        try check(cases, seed: 17) { h in [[0, h], [0, h / 2, h]] }

        guard let avx2 = Int8Tiers.fast.first(where: { Int8Tiers.name($0) == "avx2" }) else {
            throw XCTSkip("no AVX2 int8 tier on this CPU/build")
        }
        let c = Case(shape: geometry(8, 9, 9, out: 6, kernel: 1), data: .sevenBit, label: "variant")
        let p = ConvProblem(c, seed: 3)
        let variantOffset = 5 * MemoryLayout<Int32>.size   // sm_i8_packed_header.variant
        let seven = p.pack(avx2)
        withExtendedLifetime(seven) {
            XCTAssertEqual(
                seven.raw.load(fromByteOffset: variantOffset, as: Int32.self), 1, "7-bit weights: vpmaddubsw path")
        }
        p.problem.weights.i8[7] = 64
        let eight = p.pack(avx2)
        withExtendedLifetime(eight) {
            XCTAssertEqual(
                eight.raw.load(fromByteOffset: variantOffset, as: Int32.self), 0, "a weight of 64: exact path")
        }
    }

    /// 3x3 stride-1 layers take AVX2's exact Winograd F(2x2, 3x3) (int16 transforms, marked in the
    /// packed header): the reference's bytes for dilations 1-3 with every padding, output sizes around the 2x2 tiles
    /// and the bands of 2 x dilation rows, odd channel counts (padded to pairs), output channels around the register
    /// tile (6) and the GEMM block (48), row splits through bands, and the int32 extremes at 1024 channels (the largest
    /// count it takes; its intermediate sums wrap and must still give the exact sum).
    func testWinogradF23() throws {
        var cases: [Case] = []
        let epilogues = [
            Int8Epilogue(), Int8Epilogue(output: SM_INT8_OUTPUT_U8),
            Int8Epilogue(residual: SM_INT8_RESIDUAL_U8, output: SM_INT8_OUTPUT_U8),
            Int8Epilogue(bias: false, residual: SM_INT8_RESIDUAL_F32, relu: false),
        ]
        var n = 0
        for d: Int32 in [1, 2, 3] {
            for pad in Array(0...d) {
                for size: Int32 in [7, 10, 13, 17] {
                    let c: Int32 = [1, 2, 3, 5, 17][n % 5]
                    let o: Int32 = [5, 6, 7, 13][n % 4]
                    let shape = geometry(c, size + (n % 2 == 0 ? 0 : 1), size, out: o, kernel: 3, pad: pad, dilation: d)
                    if shape.out_height >= 4 && shape.out_width >= 4 {
                        cases.append(
                            Case(
                                shape: shape, epilogue: epilogues[n % epilogues.count],
                                label: "F(2,3) C=\(c) \(size) p\(pad) d\(d)"))
                    }
                    n += 1
                }
            }
        }
        for o: Int32 in [47, 48, 49, 97] {
            cases.append(Case(shape: geometry(4, 9, 9, out: o, kernel: 3, pad: 1), label: "F(2,3) out channels \(o)"))
        }
        cases.append(
            Case(shape: geometry(64, 31, 31, out: 9, kernel: 3, pad: 2, dilation: 2), label: "F(2,3) 31x31 d2"))
        try check(cases, seed: 23) { h in [[0, h], [0, 1, h], [0, h / 2, h], [0, h / 3, 2 * h / 3, h]] }

        var extremes: [Case] = []
        for data in [Int8Data.maxPositive, .maxNegative, .minus128, .zeroMinus128] {
            extremes.append(
                Case(
                    shape: geometry(1024, 7, 7, out: 3, kernel: 3, pad: 1), data: data,
                    epilogue: Int8Epilogue(relu: false), label: "F(2,3) \(data) C=1024"))
        }
        try check(extremes, seed: 24)

        guard let avx2 = Int8Tiers.fast.first(where: { Int8Tiers.name($0) == "avx2" }) else {
            throw XCTSkip("no AVX2 int8 tier on this CPU/build")
        }
        if ProcessInfo.processInfo.environment["SIAMMASK_WINOGRAD"] == "0" {
            throw XCTSkip("SIAMMASK_WINOGRAD=0: the Winograd path is off")
        }
        let variantOffset = 5 * MemoryLayout<Int32>.size   // sm_i8_packed_header.variant
        for (shape, data, variant) in [
            (geometry(8, 9, 9, out: 6, kernel: 3, pad: 1), Int8Data.random, Int32(2)),
            (geometry(8, 9, 9, out: 6, kernel: 3, pad: 1), .sevenBit, 2),   // Winograd beats vpmaddubsw on 3x3s too
            (geometry(1025, 9, 9, out: 6, kernel: 3, pad: 1), .random, 0),
            (geometry(8, 9, 9, out: 6, kernel: 3, stride: 2), .random, 0),
            (geometry(8, 4, 4, out: 6, kernel: 3, pad: 1), .random, 0),
        ] {
            let p = ConvProblem(Case(shape: shape, data: data, label: "variant"), seed: 5)
            let packed = p.pack(avx2)
            withExtendedLifetime(packed) {
                XCTAssertEqual(
                    packed.raw.load(fromByteOffset: variantOffset, as: Int32.self), variant,
                    "C=\(shape.in_channels) stride \(shape.stride_h) \(shape.out_height)x\(shape.out_width) \(data)")
            }
        }
    }

    // The Winograd-domain layer kind (siam_int8.h, wd23) on every fast tier against the reference twin, bit for bit:
    // dilations 1-3 with every padding, sizes around the 2x2 tiles, the 8-tile gathers and the 16/64-tile vectors,
    // channel counts around the groups of 2 and 4, output channels around the micro-tiles and blocks, row splits
    // (whole bands or not), every epilogue, multipliers from 1 to 32767, extreme data at 1024 and 8192 channels.
    func testWinogradDomain() throws {
        let multiplierSets: [[Int16]] = [
            [Int16](repeating: 32767, count: 16), [Int16](repeating: 1, count: 16),
            (0..<16).map { Int16(700 + 2000 * $0) }, (0..<16).map { Int16([9001, 4000, 30000, 123][$0 % 4]) },
        ]
        let epilogues = [
            Int8Epilogue(), Int8Epilogue(output: SM_INT8_OUTPUT_U8),
            Int8Epilogue(residual: SM_INT8_RESIDUAL_U8, output: SM_INT8_OUTPUT_U8),
            Int8Epilogue(bias: false, residual: SM_INT8_RESIDUAL_F32, relu: false),
        ]
        var cases: [Case] = []
        var n = 0
        for d: Int32 in [1, 2, 3] {
            for pad in Array(0...d) {
                for size: Int32 in [3, 7, 10, 13, 20, 37] {
                    let c: Int32 = [1, 2, 3, 4, 5, 8, 17][n % 7]
                    let o: Int32 = [1, 5, 6, 7, 13, 48, 49][n % 7]
                    let shape = geometry(c, size + (n % 2 == 0 ? 0 : 1), size, out: o, kernel: 3, pad: pad, dilation: d)
                    if shape.out_height >= 1 && shape.out_width >= 1 {
                        cases.append(
                            Case(
                                shape: shape, epilogue: epilogues[n % epilogues.count],
                                label: "wd23 C=\(c) O=\(o) \(size) p\(pad) d\(d)",
                                winograd: multiplierSets[n % multiplierSets.count]))
                    }
                    n += 1
                }
            }
        }
        for o: Int32 in [95, 96, 97] {
            cases.append(
                Case(
                    shape: geometry(6, 31, 31, out: o, kernel: 3, pad: 2, dilation: 2), label: "wd23 31x31 d2 O=\(o)",
                    winograd: multiplierSets[2]))
        }
        cases.append(
            Case(
                shape: geometry(33, 63, 63, out: 10, kernel: 3, pad: 1), epilogue: epilogues[1],
                label: "wd23 63x63 (several chunks)", winograd: multiplierSets[3]))
        try check(cases, seed: 230) { h in [[0, h], [0, 1, h], [0, h / 2, h], [0, h / 3, 2 * h / 3, h]] }

        var extremes: [Case] = []
        for data in [Int8Data.maxPositive, .maxNegative, .minus128, .zeroMinus128, .sparse, .ties] {
            for c: Int32 in [1024, 8192] where c == 1024 || data == .maxPositive || data == .maxNegative {
                extremes.append(
                    Case(
                        shape: geometry(c, 5, 5, out: 3, kernel: 3, pad: 1), data: data,
                        epilogue: Int8Epilogue(relu: false), label: "wd23 \(data) C=\(c)",
                        winograd: multiplierSets[0]))
            }
        }
        try check(extremes, seed: 231)
    }

    // The Winograd-domain layer kind approximates the exact convolution: on a smooth input with multipliers set
    // from its own transform range (as the quantiser sets them), the reference's outputs stay within 2% of the
    // exact outputs' range, and a wrong transform (any) would be far off.
    func testWinogradDomainApproximatesTheConvolution() throws {
        let (c, size, o): (Int32, Int32, Int32) = (64, 15, 8)
        for dilation: Int32 in [1, 2] {
            var shape = geometry(c, size, size, out: o, kernel: 3, pad: dilation, dilation: dilation)
            var g = SeededGenerator(seed: 77)
            let input = AlignedBytes(count: Int(c * size * size))
            for ch in 0..<Int(c) {
                let (fx, fy, phase) = (
                    Double.random(in: 0.1...0.5, using: &g), Double.random(in: 0.1...0.5, using: &g),
                    Double.random(in: 0...6, using: &g)
                )
                for y in 0..<Int(size) {
                    for x in 0..<Int(size) {
                        let v = 128 + 100 * sin(fx * Double(x) + fy * Double(y) + phase)
                        input.u8[(ch * Int(size) + y) * Int(size) + x] = UInt8(max(0, min(255, v.rounded())))
                    }
                }
            }
            let weights = AlignedBytes(count: Int(o * c * 9))
            for i in 0..<Int(o * c * 9) { weights.i8[i] = Int8.random(in: -127...127, using: &g) }
            let zx: Int32 = 128
            // V of the zero-point-free input, largest magnitude per position: the calibration statistic.
            var vmax = [Int32](repeating: 1, count: 16)
            let d = Int(dilation)
            for ch in 0..<Int(c) {
                for oy0 in stride(from: 0, to: Int(shape.out_height), by: 1) where (oy0 / d) % 2 == 0 {
                    for ox0 in stride(from: 0, to: Int(shape.out_width), by: 1) where (ox0 / d) % 2 == 0 {
                        var p = [Int32](repeating: 0, count: 16)
                        for r in 0..<4 {
                            for q in 0..<4 {
                                let iy = oy0 - d + d * r, ix = ox0 - d + d * q
                                if iy >= 0 && iy < Int(size) && ix >= 0 && ix < Int(size) {
                                    p[4 * r + q] = Int32(input.u8[(ch * Int(size) + iy) * Int(size) + ix]) - zx
                                }
                            }
                        }
                        var t = p
                        for q in 0..<4 {
                            t[q] = p[q] - p[8 + q]; t[4 + q] = p[4 + q] + p[8 + q]
                            t[8 + q] = p[8 + q] - p[4 + q]; t[12 + q] = p[4 + q] - p[12 + q]
                        }
                        for r in 0..<4 {
                            let v = [
                                t[4 * r] - t[4 * r + 2], t[4 * r + 1] + t[4 * r + 2], t[4 * r + 2] - t[4 * r + 1],
                                t[4 * r + 1] - t[4 * r + 3],
                            ]
                            for q in 0..<4 { vmax[4 * r + q] = max(vmax[4 * r + q], abs(v[q])) }
                        }
                    }
                }
            }
            let m = vmax.map { Int16(max(1, min(32767, (127.0 * 32768.0 / Double($0)).rounded()))) }
            let reference = Int8Tiers.reference.pointee
            let count = Int(o * shape.out_height * shape.out_width)
            let scale = [Float](repeating: 1, count: Int(o))
            var e = sm_int8_epilogue()
            e.output_type = Int32(SM_INT8_OUTPUT_F32.rawValue)
            func run(_ winograd: Bool) -> [Float] {
                let out = AlignedBytes(count: 4 * count)
                let bytes =
                    winograd ? reference.conv2d_wd23_packed_bytes(&shape) : reference.conv2d_u8s8_packed_bytes(&shape)
                let packed = AlignedBytes(count: bytes)
                let ws = Workspace(
                    bytes: winograd
                        ? reference.conv2d_wd23_workspace_bytes(&shape, shape.out_height)
                        : reference.conv2d_u8s8_workspace_bytes(&shape, shape.out_height))
                scale.withUnsafeBufferPointer { sp in
                    e.scale = sp.baseAddress
                    if winograd {
                        m.withUnsafeBufferPointer {
                            reference.conv2d_wd23_pack(&shape, weights.i8, zx, $0.baseAddress!, packed.raw)
                        }
                        reference.conv2d_wd23(
                            &shape, input.u8, packed.raw, &e, out.raw, 0, shape.out_height, ws.pointer)
                    } else {
                        reference.conv2d_u8s8_pack(&shape, weights.i8, zx, packed.raw)
                        reference.conv2d_u8s8(
                            &shape, input.u8, packed.raw, &e, out.raw, 0, shape.out_height, ws.pointer)
                    }
                }
                return (0..<count).map { out.raw.load(fromByteOffset: 4 * $0, as: Float.self) }
            }
            let exact = run(false), approx = run(true)
            let range = exact.map(abs).max()!
            let worst = zip(exact, approx).map { abs($0 - $1) }.max()!
            XCTAssertLessThan(worst, 0.02 * range, "dilation \(dilation): worst error \(worst) of range \(range)")
            XCTAssertGreaterThan(
                worst, 0, "dilation \(dilation): the Winograd domain is lossy; identical outputs mean it did not run")
        }
    }

    // All-255 activations with all +127 / -127 weights provoke the int16 saturation of vpmaddubsw (not used) and the
    // largest int32 sums (K = 2304, float conversion past 2^24); -128 weights are stored as -127 by every tier;
    // all-0 activations with -128 / -127 weights are the extreme of the NEON tiers' signed flip.
    func testSaturationExtremes() throws {
        var cases: [Case] = []
        for data in [Int8Data.maxPositive, .maxNegative, .minus128, .zeroMinus128] {
            for output in [SM_INT8_OUTPUT_F32, SM_INT8_OUTPUT_U8] {
                let e = Int8Epilogue(relu: false, output: output)
                cases.append(
                    Case(
                        shape: geometry(256, 3, 4, out: 9, kernel: 3, pad: 1), data: data, epilogue: e,
                        label: "\(data) 3x3 K=2304"))
                cases.append(
                    Case(
                        shape: geometry(1024, 2, 3, out: 7, kernel: 1), data: data, epilogue: e,
                        label: "\(data) 1x1 K=1024"))
            }
        }
        try check(cases, seed: 3)
    }

    // Exact halves after scaling (round half to even in the u8 output), and sparse data (outputs of exactly 0 with
    // negative scales and -0 biases: ReLU of -0 is +0).
    func testRoundingAndSignedZeros() throws {
        var cases: [Case] = []
        for output in [SM_INT8_OUTPUT_F32, SM_INT8_OUTPUT_U8] {
            cases.append(
                Case(
                    shape: geometry(9, 6, 11, out: 13, kernel: 3, pad: 1), data: .ties,
                    epilogue: Int8Epilogue(residual: SM_INT8_RESIDUAL_F32, relu: false, output: output),
                    label: "ties"))
            cases.append(
                Case(
                    shape: geometry(5, 6, 11, out: 13, kernel: 1), data: .sparse,
                    epilogue: Int8Epilogue(output: output), label: "sparse, relu of -0"))
            cases.append(
                Case(
                    shape: geometry(33, 5, 9, out: 7, kernel: 3, pad: 1), data: .sparse,
                    epilogue: Int8Epilogue(residual: SM_INT8_RESIDUAL_U8, output: output), label: "sparse 3x3"))
        }
        try check(cases, seed: 4)
    }

    // Rows computed in separate calls equal one call; tiny and empty ranges.
    func testRowRangeSplits() throws {
        let f32Residual = Int8Epilogue(residual: SM_INT8_RESIDUAL_F32)
        let u8Residual = Int8Epilogue(residual: SM_INT8_RESIDUAL_U8, output: SM_INT8_OUTPUT_U8)
        try check(
            [
                Case(shape: geometry(3, 63, 63, out: 9, kernel: 7, stride: 2), epilogue: u8Residual, label: "7x7 s2"),
                Case(shape: geometry(5, 17, 13, out: 10, kernel: 3, pad: 1), epilogue: f32Residual, label: "3x3 p1"),
                Case(
                    shape: geometry(4, 17, 17, out: 7, kernel: 3, pad: 2, dilation: 2), epilogue: u8Residual,
                    label: "3x3 d2"),
                Case(shape: geometry(6, 11, 11, out: 9, kernel: 1), epilogue: f32Residual, label: "1x1"),
                Case(shape: geometry(5, 15, 15, out: 6, kernel: 3, stride: 2), epilogue: u8Residual, label: "3x3 s2"),
                Case(shape: geometry(600, 3, 7, out: 5, kernel: 1), label: "1x1 K=600"),
            ], seed: 5
        ) { h in
            [[0, h], [0, 1, h], [0, h / 2, h], [0, h - 1, h], [0, h / 3, h / 3, 2 * h / 3, h], [0, 0, h, h]]
        }
    }

    // Every epilogue combination: bias, residual (none, f32, u8), relu, output f32 / u8.
    func testEpilogueCombinations() throws {
        try check(
            Int8Epilogue.all.map {
                Case(shape: geometry(7, 5, 11, out: 9, kernel: 3, pad: 1), epilogue: $0, label: "3x3 p1")
            }, seed: 6)
    }

    /// The residual may be the output buffer itself when both have the output's type.
    func testResidualMayAliasOutput() throws {
        let tiers = Int8Tiers.fast
        if tiers.isEmpty { throw XCTSkip("no fast int8 tier on this CPU/build") }
        for (n, output) in [SM_INT8_OUTPUT_F32, SM_INT8_OUTPUT_U8].enumerated() {
            let residual = output == SM_INT8_OUTPUT_F32 ? SM_INT8_RESIDUAL_F32 : SM_INT8_RESIDUAL_U8
            let c = Case(
                shape: geometry(6, 7, 9, out: 9, kernel: 3, pad: 1),
                epilogue: Int8Epilogue(residual: residual, output: output), label: "in place")
            let p = ConvProblem(c, seed: 7 + UInt64(n))
            for table in tiers {
                let packed = p.pack(table)
                let buffer = (output == SM_INT8_OUTPUT_F32 ? p.problem.residualF32 : p.problem.residualU8).copy()
                var e = p.problem.epilogue
                e.residual = UnsafeRawPointer(buffer.raw)
                let h = c.shape.out_height
                p.run(table, packed: packed, output: buffer, bounds: [0, h / 2, h], epilogue: e)
                assertSameBytes(
                    buffer, p.expected, count: p.problem.outputBytes,
                    "\(Int8Tiers.name(table)) in-place residual \(c.epilogue)")
            }
        }
    }

    /// A call over rows [a, b) writes those rows of every channel and nothing else.
    func testWritesOnlyRequestedRows() throws {
        let tiers = Int8Tiers.fast
        if tiers.isEmpty { throw XCTSkip("no fast int8 tier on this CPU/build") }
        for (n, output) in [SM_INT8_OUTPUT_F32, SM_INT8_OUTPUT_U8].enumerated() {
            let c = Case(
                shape: geometry(4, 9, 19, out: 10, kernel: 3, pad: 1),
                epilogue: Int8Epilogue(residual: SM_INT8_RESIDUAL_F32, output: output), label: "rows")
            let p = ConvProblem(c, seed: 9 + UInt64(n))
            let expected = AlignedBytes(count: p.problem.outputBytes, fill: 0xCD)
            p.run(Int8Tiers.reference, packed: p.pack(Int8Tiers.reference), output: expected, bounds: [3, 6])
            for table in tiers {
                let output = AlignedBytes(count: p.problem.outputBytes, fill: 0xCD)
                p.run(table, packed: p.pack(table), output: output, bounds: [3, 6])
                assertSameBytes(output, expected, count: p.problem.outputBytes, "\(Int8Tiers.name(table)) rows [3, 6)")
            }
        }
    }

    /// A workspace sized for the largest row range serves every smaller one: workspace_bytes never decreases.
    func testWorkspaceGrowsWithRows() {
        let shapes = [
            geometry(3, 255, 255, out: 64, kernel: 7, stride: 2),
            geometry(256, 31, 31, out: 256, kernel: 3, pad: 2, dilation: 2),
            geometry(1024, 31, 31, out: 256, kernel: 1), geometry(64, 16, 16, out: 64, kernel: 1),
            geometry(1, 1, 1, out: 1, kernel: 1),
        ]
        for table in [Int8Tiers.reference] + Int8Tiers.fast {
            for shape in shapes {
                var s = shape
                var previous = 0
                for rows in 0...shape.out_height {
                    let bytes = table.pointee.conv2d_u8s8_workspace_bytes(&s, rows)
                    XCTAssertGreaterThanOrEqual(bytes, previous, "\(Int8Tiers.name(table)) rows \(rows)")
                    previous = bytes
                }
            }
        }
    }

    /// The reference against values worked out by hand, including padding at the zero point and the u8 rounding.
    func testReferenceByHand() {
        // 1 channel 2x2 input [[10, 20], [30, 40]], zero point 10 (so the real input is [[0, 10], [20, 30]]),
        // 2x2 kernel [[1, -1], [2, -128]] (-128 is stored as -127), pad 1 top/left, output 2x2.
        var shape = sm_conv2d_shape(
            in_channels: 1, in_height: 2, in_width: 2, out_channels: 1, out_height: 2,
            out_width: 2, kernel_h: 2, kernel_w: 2, stride_h: 1, stride_w: 1, pad_top: 1,
            pad_left: 1, dilation_h: 1, dilation_w: 1)
        let input = AlignedBytes(count: 4), weights = AlignedBytes(count: 4)
        for (i, v) in [10, 20, 30, 40].enumerated() { input.u8[i] = UInt8(v) }
        for (i, v) in [1, -1, 2, -128].enumerated() { weights.i8[i] = Int8(v) }
        let reference = Int8Tiers.reference
        let packed = AlignedBytes(count: reference.pointee.conv2d_u8s8_packed_bytes(&shape))
        reference.pointee.conv2d_u8s8_pack(&shape, weights.i8, 10, packed.raw)
        // acc(y, x) = sum over taps inside: x(y-1+ky, x-1+kx) * w(ky, kx), x real:
        // (0,0): only tap (1,1): 0 * -127 = 0; (0,1): taps (1,0) x(0,0)=0 * 2, (1,1) x(0,1)=10 * -127 -> -1270;
        // (1,0): taps (0,1) x(0,0)=0 * -1, (1,1) x(1,0)=20 * -127 -> -2540;
        // (1,1): 0*1 + 10*-1 + 20*2 + 30*-127 = -3780.
        let scale = AlignedBytes(count: 4), bias = AlignedBytes(count: 4)
        scale.f32[0] = 0.01
        bias.f32[0] = 30
        var e = sm_int8_epilogue()
        e.scale = UnsafePointer(scale.f32)
        e.bias = UnsafePointer(bias.f32)
        e.relu = 1
        e.output_type = Int32(SM_INT8_OUTPUT_F32.rawValue)
        let out = AlignedBytes(count: 16)
        reference.pointee.conv2d_u8s8(&shape, input.u8, packed.raw, &e, out.raw, 0, 2, nil)
        let scaled: [Float] = [0, -1270, -2540].map { Float($0) * 0.01 + 30 }
        XCTAssertEqual((0..<4).map { out.f32[$0] }, scaled + [0])
        // The same to u8 with inv_sy 0.5 and zy 100: t = y / 2 rounded half to even: 15 -> 115, 8.65 -> 109,
        // 2.3 -> 102, relu 0 -> 100.
        e.output_type = Int32(SM_INT8_OUTPUT_U8.rawValue)
        e.output_inv_scale = 0.5
        e.output_zero_point = 100
        reference.pointee.conv2d_u8s8(&shape, input.u8, packed.raw, &e, out.raw, 0, 2, nil)
        XCTAssertEqual(Array(out.bytes[0..<4]), [115, 109, 102, 100])
        // Half-way cases: y = 0.5 -> 0, 1.5 -> 2, 2.5 -> 2, -0.5 -> -0 (zy 10 -> 10), and clamping.
        var one = sm_conv2d_shape(
            in_channels: 1, in_height: 1, in_width: 5, out_channels: 1, out_height: 1,
            out_width: 5, kernel_h: 1, kernel_w: 1, stride_h: 1, stride_w: 1, pad_top: 0,
            pad_left: 0, dilation_h: 1, dilation_w: 1)
        let x5 = AlignedBytes(count: 5), w1 = AlignedBytes(count: 1)
        for (i, v) in [1, 3, 5, 0, 255].enumerated() { x5.u8[i] = UInt8(v) }   // zero point 1: 0, 2, 4, -1, 254
        w1.i8[0] = 1
        let p1 = AlignedBytes(count: reference.pointee.conv2d_u8s8_packed_bytes(&one))
        reference.pointee.conv2d_u8s8_pack(&one, w1.i8, 1, p1.raw)
        scale.f32[0] = 0.5
        bias.f32[0] = 0.5
        e.relu = 0
        e.output_inv_scale = 1
        e.output_zero_point = 10
        // y = acc * 0.5 + 0.5: 0.5, 1.5, 2.5, 0, 127.5 -> 10+0, 10+2, 10+2, 10+0, 10+128 = 138.
        reference.pointee.conv2d_u8s8(&one, x5.u8, p1.raw, &e, out.raw, 0, 1, nil)
        XCTAssertEqual(Array(out.bytes[0..<5]), [10, 12, 12, 10, 138])
        e.output_zero_point = 200   // 200 + 128 clamps to 255
        reference.pointee.conv2d_u8s8(&one, x5.u8, p1.raw, &e, out.raw, 0, 1, nil)
        XCTAssertEqual(out.bytes[4], 255)
    }
}

final class Int8XcorrTests: XCTestCase {
    /// One xcorr case: every fast tier against the reference, in two calls over channel ranges.
    func check(
        channels: Int32, searchHeight sh: Int32, searchWidth sw: Int32, kernelHeight kh: Int32,
        kernelWidth kw: Int32, data: Int8Data = .random,
        epilogue: Int8Epilogue = Int8Epilogue(bias: false, relu: false),
        seed: UInt64, file: StaticString = #filePath, line: UInt = #line
    ) {
        let oh = sh - kh + 1, ow = sw - kw + 1
        let p = Int8Problem(
            inputCount: Int(channels * sh * sw), channels: Int(channels), taps: Int(kh * kw),
            outputCount: Int(channels * oh * ow), data: data, epilogue: epilogue, seed: seed)
        let reference = Int8Tiers.reference.pointee
        let expected = AlignedBytes(count: p.outputBytes, fill: 0xCD)
        let refPacked = AlignedBytes(count: reference.xcorr_u8s8_packed_bytes(channels, kh, kw))
        reference.xcorr_u8s8_pack(p.weights.i8, channels, kh, kw, p.zeroPoint, refPacked.raw)
        var e = p.epilogue
        reference.depthwise_xcorr_u8s8(
            p.input.u8, channels, sh, sw, refPacked.raw, kh, kw, &e, expected.raw, 0,
            channels, nil)
        for table in Int8Tiers.fast {
            let t = table.pointee
            let packed = AlignedBytes(count: t.xcorr_u8s8_packed_bytes(channels, kh, kw))
            t.xcorr_u8s8_pack(p.weights.i8, channels, kh, kw, p.zeroPoint, packed.raw)
            let workspace = Workspace(bytes: t.xcorr_u8s8_workspace_bytes(sh, sw, kh, kw))
            let output = AlignedBytes(count: p.outputBytes, fill: 0xCD)
            let mid = channels / 3
            t.depthwise_xcorr_u8s8(
                p.input.u8, channels, sh, sw, packed.raw, kh, kw, &e, output.raw, 0, mid,
                workspace.pointer)
            t.depthwise_xcorr_u8s8(
                p.input.u8, channels, sh, sw, packed.raw, kh, kw, &e, output.raw, mid, channels,
                workspace.pointer)
            assertSameBytes(
                output, expected, count: p.outputBytes,
                "\(Int8Tiers.name(table)) xcorr \(channels)x\(sh)x\(sw) * \(kh)x\(kw) \(data) (\(epilogue))",
                file: file, line: line)
        }
    }

    func requireFastTier() throws {
        if Int8Tiers.fast.isEmpty { throw XCTSkip("no fast int8 tier on this CPU/build") }
    }

    /// SiamMask's correlation (29x29 search, 5x5 kernel -> 25x25), channels reduced, both outputs; extremes.
    func testNetworkShape() throws {
        try requireFastTier()
        check(channels: 8, searchHeight: 29, searchWidth: 29, kernelHeight: 5, kernelWidth: 5, seed: 1)
        check(
            channels: 5, searchHeight: 29, searchWidth: 29, kernelHeight: 5, kernelWidth: 5,
            epilogue: Int8Epilogue(output: SM_INT8_OUTPUT_U8), seed: 2)
        for (n, data) in [Int8Data.maxPositive, .maxNegative, .minus128, .zeroMinus128, .ties, .sparse].enumerated() {
            check(
                channels: 3, searchHeight: 13, searchWidth: 13, kernelHeight: 5, kernelWidth: 5, data: data,
                epilogue: Int8Epilogue(
                    relu: data == .sparse, output: n % 2 == 0 ? SM_INT8_OUTPUT_F32 : SM_INT8_OUTPUT_U8),
                seed: 3 + UInt64(n))
        }
    }

    /// Output widths around the vectors and phase blocks (4, 8, 16, 32, 64 pixels), kernel widths around the 4-tap
    /// groups and 2-tap pairs.
    func testWidthsAndKernels() throws {
        try requireFastTier()
        var seed: UInt64 = 20
        for ow: Int32 in [1, 2, 3, 4, 5, 7, 8, 9, 15, 16, 17, 31, 32, 33, 63, 64, 65, 70] {
            for kw: Int32 in [1, 2, 3, 4, 5, 7, 9] {
                seed += 1
                check(
                    channels: 2, searchHeight: 4, searchWidth: ow + kw - 1, kernelHeight: 2, kernelWidth: kw,
                    epilogue: Int8Epilogue(
                        bias: true, residual: SM_INT8_RESIDUAL_F32, relu: true,
                        output: seed % 2 == 0 ? SM_INT8_OUTPUT_F32 : SM_INT8_OUTPUT_U8),
                    seed: seed)
            }
        }
        check(channels: 3, searchHeight: 1, searchWidth: 1, kernelHeight: 1, kernelWidth: 1, seed: 99)
        check(channels: 2, searchHeight: 8, searchWidth: 8, kernelHeight: 8, kernelWidth: 8, seed: 98)
    }

    func testEpilogueCombinations() throws {
        try requireFastTier()
        for (n, e) in Int8Epilogue.all.enumerated() {
            check(
                channels: 4, searchHeight: 9, searchWidth: 12, kernelHeight: 4, kernelWidth: 6, epilogue: e,
                seed: 200 + UInt64(n))
        }
    }

    /// The reference by hand: one channel, 2x3 search with zero point 2, 1x2 kernel [1, -3].
    func testReferenceByHand() {
        let search = AlignedBytes(count: 6), kernel = AlignedBytes(count: 2)
        for (i, v) in [2, 3, 4, 5, 6, 7].enumerated() { search.u8[i] = UInt8(v) }   // real 0 1 2 / 3 4 5
        kernel.i8[0] = 1
        kernel.i8[1] = -3
        let reference = Int8Tiers.reference.pointee
        let packed = AlignedBytes(count: reference.xcorr_u8s8_packed_bytes(1, 1, 2))
        reference.xcorr_u8s8_pack(kernel.i8, 1, 1, 2, 2, packed.raw)
        let scale = AlignedBytes(count: 4)
        scale.f32[0] = 1
        var e = sm_int8_epilogue()
        e.scale = UnsafePointer(scale.f32)
        e.output_type = Int32(SM_INT8_OUTPUT_F32.rawValue)
        let out = AlignedBytes(count: 16)
        reference.depthwise_xcorr_u8s8(search.u8, 1, 2, 3, packed.raw, 1, 2, &e, out.raw, 0, 1, nil)
        let expected: [Float] = [-3, -5, -9, -11]   // 0*1 + 1*-3, 1 + 2*-3, 3 + 4*-3, 4 + 5*-3
        XCTAssertEqual((0..<4).map { out.f32[$0] }, expected)
    }
}

/// Tier names, the SIAMMASK_MAX_TIER cap levels and the int8 tables.
final class Int8DispatchTests: XCTestCase {
    func testNamesAndLevels() {
        let names = ["reference", "avx2", "avxvnni", "avx512vnni", "neon", "neondot"]
        for (t, name) in names.enumerated() {
            XCTAssertEqual(sm_int8_tier_from_name(name), Int32(t))
            XCTAssertEqual(sm_int8_tier_from_name(name.uppercased()), Int32(t))
        }
        for bad in ["", "avx512", "avx", "vnni", " neon", "neon ", "sve"] {
            XCTAssertEqual(sm_int8_tier_from_name(bad), -1, "'\(bad)'")
        }
        XCTAssertEqual(sm_int8_tier_from_name(nil), -1)
        let levels = [
            "reference": 0, "avx2": 1, "neon": 1, "avxvnni": 2, "neondot": 2, "avx512": 3, "AVX512": 3,
            "avx512vnni": 3,
        ]
        for (name, level) in levels { XCTAssertEqual(sm_int8_cap_level(name), Int32(level), name) }
        XCTAssertEqual(sm_int8_cap_level("nope"), -1)
        // The fp32 parser is unchanged: it still knows only its own names.
        XCTAssertEqual(sm_tier_from_name("avx512vnni"), -1)
    }

    func testCapAndActiveTier() {
        let levels = [0, 1, 2, 3, 1, 2]   // by tier: reference, avx2, avxvnni, avx512vnni, neon, neondot
        func level(_ t: sm_int8_tier) -> Int { levels[Int(t.rawValue)] }
        let available =
            [SM_INT8_TIER_REFERENCE]
            + Int8Tiers.all.filter {
                sm_int8_tier_supported($0) != 0 && sm_int8_kernels_for_tier($0) != nil
            }
        func best(_ limit: Int) -> sm_int8_tier {
            available.filter { level($0) <= limit }.max { level($0) < level($1) }!
        }
        XCTAssertEqual(sm_int8_tier_for_cap(nil), best(3))
        XCTAssertEqual(sm_int8_tier_for_cap("no-such-tier"), best(3))   // ignored, with one line on stderr
        for (cap, level) in [
            ("reference", 0), ("avx2", 1), ("neon", 1), ("avxvnni", 2), ("neondot", 2), ("avx512", 3),
            ("avx512vnni", 3),
        ] {
            XCTAssertEqual(sm_int8_tier_for_cap(cap), best(level), cap)
        }
        let active = sm_int8_active_tier()
        XCTAssertEqual(sm_int8_active_tier(), active)
        XCTAssertEqual(sm_int8_kernels()?.pointee.tier, active)
        let cap = ProcessInfo.processInfo.environment["SIAMMASK_MAX_TIER"]
        XCTAssertEqual(active, sm_int8_tier_for_cap(cap))
        XCTAssertEqual(sm_int8_tier_supported(SM_INT8_TIER_COUNT), 0)
        XCTAssertNil(sm_int8_kernels_for_tier(SM_INT8_TIER_COUNT))
    }

    func testTables() {
        for t in [SM_INT8_TIER_REFERENCE] + Int8Tiers.all {
            guard let table = sm_int8_kernels_for_tier(t) else {
                #if arch(x86_64)
                XCTAssertTrue(
                    [SM_INT8_TIER_NEON, SM_INT8_TIER_NEONDOT].contains(t), "x86-64 builds have every x86 tier")
                #elseif arch(arm64)
                XCTAssertTrue(
                    [SM_INT8_TIER_AVX2, SM_INT8_TIER_AVXVNNI, SM_INT8_TIER_AVX512VNNI].contains(t),
                    "arm64 builds have every Arm tier")
                #endif
                continue
            }
            let k = table.pointee
            XCTAssertEqual(k.tier, t)
            XCTAssertEqual(sm_int8_tier_from_name(k.name), Int32(t.rawValue))
            XCTAssertNotNil(k.conv2d_u8s8_packed_bytes)
            XCTAssertNotNil(k.conv2d_u8s8_pack)
            XCTAssertNotNil(k.conv2d_u8s8_workspace_bytes)
            XCTAssertNotNil(k.conv2d_u8s8)
            XCTAssertNotNil(k.xcorr_u8s8_packed_bytes)
            XCTAssertNotNil(k.xcorr_u8s8_pack)
            XCTAssertNotNil(k.xcorr_u8s8_workspace_bytes)
            XCTAssertNotNil(k.depthwise_xcorr_u8s8)
        }
        #if arch(x86_64)
        // This CPU kind (Zen 4) has AVX-512 VNNI but not AVX-VNNI: the avxvnni tier is built and guarded.
        if sm_int8_tier_supported(SM_INT8_TIER_AVXVNNI) == 0 {
            print("int8: avxvnni tier compiled but not run (this CPU has no AVX-VNNI)")
        }
        #endif
    }
}

import CKernels
import XCTest

/// Geometry with symmetric padding, the output size following PyTorch's formula.
func geometry(
    _ c: Int32, _ h: Int32, _ w: Int32, out o: Int32, kernel k: Int32, stride s: Int32 = 1,
    pad p: Int32 = 0, dilation d: Int32 = 1
) -> sm_conv2d_shape {
    let oh = (h + 2 * p - d * (k - 1) - 1) / s + 1
    let ow = (w + 2 * p - d * (k - 1) - 1) / s + 1
    return sm_conv2d_shape(
        in_channels: c, in_height: h, in_width: w, out_channels: o, out_height: oh,
        out_width: ow, kernel_h: k, kernel_w: k, stride_h: s, stride_w: s, pad_top: p,
        pad_left: p, dilation_h: d, dilation_w: d)
}

/// The fast convolutions against the reference twin: every SiamMask layer shape (with reduced channel counts),
/// sizes around each tier's tile edges, row-range splits and every epilogue combination. Sizes stay small because
/// debug builds compile the kernels at -O0.
final class ConvolutionTests: XCTestCase {
    struct Case {
        var shape: sm_conv2d_shape
        var bias = true
        var residual = false
        var relu = true
        var label: String
    }

    /// Inputs of one case and the reference results: the output and the per-output sum of |terms|.
    final class Problem {
        var shape: sm_conv2d_shape
        let input, weights, bias, residual: AlignedFloats
        let expected, magnitude: AlignedFloats
        let outputCount: Int
        var epilogue: sm_conv2d_epilogue

        init(_ c: Case, seed: UInt64) {
            shape = c.shape
            let s = c.shape
            var generator = SeededGenerator(seed: seed)
            outputCount = Int(s.out_channels * s.out_height * s.out_width)
            input = .random(count: Int(s.in_channels * s.in_height * s.in_width), using: &generator)
            weights = .random(count: Int(s.out_channels * s.in_channels * s.kernel_h * s.kernel_w), using: &generator)
            bias = .random(count: Int(s.out_channels), using: &generator)
            residual = .random(count: outputCount, scale: 2, using: &generator)
            epilogue = sm_conv2d_epilogue(
                bias: c.bias ? bias.constBase : nil,
                residual: c.residual ? residual.constBase : nil, relu: c.relu ? 1 : 0, channel_begin: 0,
                channel_end: 0)
            expected = AlignedFloats(count: outputCount)
            magnitude = AlignedFloats(count: outputCount)
            let reference = Tiers.reference.pointee
            reference.conv2d_f32(
                &shape, input.constBase, weights.constBase, &epilogue, expected.base, 0,
                s.out_height, nil)
            // The same convolution over |x|, |w|, |bias|, |residual| without ReLU is the sum of |terms|.
            let absInput = input.absolute(), absWeights = weights.absolute()
            let absBias = bias.absolute(), absResidual = residual.absolute()
            var absEpilogue = sm_conv2d_epilogue(
                bias: c.bias ? absBias.constBase : nil,
                residual: c.residual ? absResidual.constBase : nil, relu: 0, channel_begin: 0, channel_end: 0)
            reference.conv2d_f32(
                &shape, absInput.constBase, absWeights.constBase, &absEpilogue, magnitude.base, 0,
                s.out_height, nil)
        }

        func pack(_ table: KernelTable) -> AlignedFloats {
            let packed = AlignedFloats(count: table.pointee.conv2d_f32_packed_floats(&shape))
            table.pointee.conv2d_f32_pack(&shape, weights.constBase, packed.base)
            return packed
        }

        /// Runs the rows [bounds[i], bounds[i+1]) as separate calls, each with its own workspace.
        func run(_ table: KernelTable, packed: AlignedFloats, output: AlignedFloats, bounds: [Int32]) {
            for i in 0..<(bounds.count - 1) {
                let rows = bounds[i + 1] - bounds[i]
                let workspace = Workspace(bytes: table.pointee.conv2d_f32_workspace_bytes(&shape, rows))
                table.pointee.conv2d_f32(
                    &shape, input.constBase, packed.constBase, &epilogue, output.base, bounds[i],
                    bounds[i + 1], workspace.pointer)
            }
        }
    }

    /// Compares every fast tier with the reference on `cases`; `splits` adds calls over row ranges.
    func check(
        _ cases: [Case], seed: UInt64, splits: (Int32) -> [[Int32]] = { [[0, $0]] },
        file: StaticString = #filePath, line: UInt = #line
    ) throws {
        let tiers = Tiers.fast
        if tiers.isEmpty { throw XCTSkip("no fast tier on this CPU/build") }
        for (n, c) in cases.enumerated() {
            let problem = Problem(c, seed: seed &+ UInt64(n))
            for table in tiers {
                let packed = problem.pack(table)
                for bounds in splits(c.shape.out_height) {
                    let output = AlignedFloats(count: problem.outputCount, fill: .nan)
                    problem.run(table, packed: packed, output: output, bounds: bounds)
                    assertWithinRelativeTolerance(
                        output, problem.expected, magnitude: problem.magnitude,
                        "\(Tiers.name(table)) \(c.label) rows \(bounds)", file: file,
                        line: line)
                }
            }
        }
    }

    // Every convolution geometry of SiamMask (ResNet-50 with dilation, adjust layers, depth-wise correlation's
    // 3x3 convolutions, mask head and refine module), channel counts reduced.
    func testNetworkShapes() throws {
        try check(
            [
                Case(
                    shape: geometry(3, 127, 127, out: 8, kernel: 7, stride: 2),
                    label: "conv1 7x7 s2 on the 127 template"),
                Case(
                    shape: geometry(3, 255, 255, out: 3, kernel: 7, stride: 2), label: "conv1 7x7 s2 on the 255 search"),
                Case(shape: geometry(8, 31, 31, out: 12, kernel: 1), label: "1x1 s1"),
                Case(shape: geometry(6, 31, 31, out: 9, kernel: 3, pad: 1), label: "3x3 s1 p1"),
                Case(
                    shape: geometry(5, 63, 63, out: 7, kernel: 3, stride: 2), label: "3x3 s2 p0 (layer2 / downsample)"),
                Case(shape: geometry(6, 31, 31, out: 10, kernel: 3, pad: 2, dilation: 2), label: "3x3 d2 p2 (layer3)"),
                Case(shape: geometry(7, 31, 31, out: 9, kernel: 3), label: "3x3 p0 (DepthCorr search side)"),
                Case(shape: geometry(7, 7, 7, out: 9, kernel: 3), label: "3x3 p0 (DepthCorr template side, 5x5 out)"),
                Case(shape: geometry(9, 15, 15, out: 6, kernel: 1), label: "1x1 on 15x15 (adjust)"),
                Case(shape: geometry(16, 1, 1, out: 11, kernel: 1), label: "1x1 on 1x1 (refine at one position)"),
                Case(shape: geometry(4, 61, 61, out: 5, kernel: 3, pad: 1), label: "3x3 p1 on 61x61 (refine)"),
                Case(shape: geometry(2, 127, 127, out: 3, kernel: 3, pad: 1), label: "3x3 p1 on 127x127 (refine)"),
                Case(shape: geometry(3, 3, 3, out: 4, kernel: 3), label: "3x3 p0 to 1x1"),
                Case(shape: geometry(1024, 2, 2, out: 3, kernel: 1), label: "1024 input channels"),
                Case(shape: geometry(2, 3, 3, out: 1024, kernel: 1), label: "1024 output channels"),
            ], seed: 1)
    }

    // Channel counts and widths at each tier's tile edges: AVX-512 tiles 8 channels x 48 pixels (3 x 16),
    // AVX2 6 x 16 (2 x 8); k blocks of 256, pixel blocks of 480, channel blocks of 256/240.
    func testTileEdges() throws {
        var cases: [Case] = []
        for o: Int32 in [1, 2, 5, 6, 7, 8, 9, 12, 13, 16, 17, 23] {
            cases.append(Case(shape: geometry(3, 5, 9, out: o, kernel: 1), label: "out channels \(o)"))
        }
        for w: Int32 in [1, 2, 7, 8, 9, 15, 16, 17, 31, 32, 33, 47, 48, 49, 53, 97] {
            cases.append(Case(shape: geometry(2, 2, w, out: 7, kernel: 3, pad: 1), label: "width \(w)"))
        }
        for c: Int32 in [1, 2, 3, 4, 8, 11, 85, 255, 256, 257, 300] {
            cases.append(Case(shape: geometry(c, 4, 5, out: 9, kernel: 1), label: "in channels \(c) (1x1)"))
        }
        for c: Int32 in [28, 29, 57] {   // K = 9c around 256 and 512
            cases.append(Case(shape: geometry(c, 3, 7, out: 5, kernel: 3, pad: 1), label: "in channels \(c) (3x3)"))
        }
        cases.append(Case(shape: geometry(2, 23, 23, out: 3, kernel: 1), label: "529 pixels: two pixel blocks"))
        cases.append(Case(shape: geometry(3, 24, 24, out: 3, kernel: 3, pad: 1), label: "576 pixels, 3x3"))
        cases.append(
            Case(shape: geometry(1, 3, 4, out: 263, kernel: 3, pad: 1), label: "263 channels: two channel blocks"))
        cases.append(Case(shape: geometry(3, 16, 16, out: 5, kernel: 1), label: "1x1 on a 256-float plane (copied B)"))
        cases.append(Case(shape: geometry(3, 8, 4, out: 5, kernel: 1), label: "1x1 on a 32-float plane (copied B)"))
        try check(cases, seed: 2)
    }

    // Rows computed in separate calls ([0,k) then [k,H), or three pieces) equal one call; tiny and empty ranges.
    func testRowRangeSplits() throws {
        try check(
            [
                Case(shape: geometry(3, 63, 63, out: 9, kernel: 7, stride: 2), label: "7x7 s2"),
                Case(shape: geometry(5, 17, 13, out: 10, kernel: 3, pad: 1), label: "3x3 p1"),
                Case(shape: geometry(4, 17, 17, out: 7, kernel: 3, pad: 2, dilation: 2), label: "3x3 d2"),
                Case(shape: geometry(6, 11, 11, out: 9, kernel: 1), residual: true, label: "1x1 with residual"),
                Case(shape: geometry(300, 5, 7, out: 9, kernel: 1), residual: true, label: "1x1, two k blocks"),
            ], seed: 3
        ) { h in
            [[0, h], [0, 1, h], [0, h / 2, h], [0, h - 1, h], [0, h / 3, h / 3, 2 * h / 3, h], [0, 0, h, h]]
        }
    }

    /// A workspace sized for the largest row range serves every smaller one: workspace_bytes never decreases.
    func testWorkspaceGrowsWithRows() {
        let shapes = [
            geometry(3, 255, 255, out: 64, kernel: 7, stride: 2),
            geometry(
                256, 31, 31, out: 256, kernel: 3,
                pad: 2, dilation: 2),
            geometry(64, 16, 16, out: 64, kernel: 1), geometry(64, 31, 31, out: 64, kernel: 1),
            geometry(1, 1, 1, out: 1, kernel: 1),
        ]
        for table in [Tiers.reference] + Tiers.fast {
            for shape in shapes {
                var s = shape
                var previous = 0
                for rows in 0...shape.out_height {
                    let bytes = table.pointee.conv2d_f32_workspace_bytes(&s, rows)
                    XCTAssertGreaterThanOrEqual(bytes, previous, "\(Tiers.name(table)) rows \(rows)")
                    previous = bytes
                }
            }
        }
    }

    /// A call over rows [a, b) writes those rows of every channel and nothing else.
    func testWritesOnlyRequestedRows() throws {
        let tiers = Tiers.fast
        if tiers.isEmpty { throw XCTSkip("no fast tier on this CPU/build") }
        let c = Case(shape: geometry(4, 9, 19, out: 10, kernel: 3, pad: 1), residual: true, label: "rows")
        let problem = Problem(c, seed: 4)
        let plane = Int(c.shape.out_height * c.shape.out_width)
        for table in tiers {
            let packed = problem.pack(table)
            let output = AlignedFloats(count: problem.outputCount, fill: 1234)
            problem.run(table, packed: packed, output: output, bounds: [3, 6])
            for o in 0..<Int(c.shape.out_channels) {
                for p in 0..<plane {
                    let row = p / Int(c.shape.out_width)
                    let at = o * plane + p
                    if row < 3 || row >= 6 {
                        XCTAssertEqual(output[at], 1234, "\(Tiers.name(table)) wrote row \(row) of channel \(o)")
                    } else {
                        XCTAssertLessThanOrEqual(
                            abs(output[at] - problem.expected[at]),
                            relativeTolerance * problem.magnitude[at] + tinyAbsoluteError)
                    }
                }
            }
        }
    }

    // Every combination of bias, residual and ReLU, with one k block and with three (partial sums in the output).
    func testEpilogueCombinations() throws {
        var cases: [Case] = []
        for bias in [false, true] {
            for residual in [false, true] {
                for relu in [false, true] {
                    let tag = "bias \(bias) residual \(residual) relu \(relu)"
                    cases.append(
                        Case(
                            shape: geometry(5, 9, 11, out: 9, kernel: 3, pad: 1), bias: bias, residual: residual,
                            relu: relu, label: "3x3 " + tag))
                    cases.append(
                        Case(
                            shape: geometry(600, 3, 5, out: 7, kernel: 1), bias: bias, residual: residual,
                            relu: relu, label: "1x1 K=600 " + tag))
                }
            }
        }
        try check(cases, seed: 5)
    }

    /// The residual may be the output buffer itself (in-place residual add).
    func testResidualMayAliasOutput() throws {
        let tiers = Tiers.fast
        if tiers.isEmpty { throw XCTSkip("no fast tier on this CPU/build") }
        for (n, shape) in [geometry(6, 7, 9, out: 9, kernel: 3, pad: 1), geometry(520, 3, 5, out: 9, kernel: 1)]
            .enumerated()
        {
            let problem = Problem(Case(shape: shape, residual: true, label: "in place"), seed: 6 + UInt64(n))
            for table in tiers {
                let packed = problem.pack(table)
                let output = problem.residual.copy()
                var epilogue = problem.epilogue
                epilogue.residual = output.constBase
                var s = shape
                let h = shape.out_height
                for (a, b) in [(0, h / 2), (h / 2, h)] {
                    let workspace = Workspace(bytes: table.pointee.conv2d_f32_workspace_bytes(&s, b - a))
                    table.pointee.conv2d_f32(
                        &s, problem.input.constBase, packed.constBase, &epilogue, output.base,
                        a, b, workspace.pointer)
                }
                assertWithinRelativeTolerance(
                    output, problem.expected, magnitude: problem.magnitude,
                    "\(Tiers.name(table)) in-place residual K=\(shape.in_channels * 9)")
            }
        }
    }

    /// The reference itself against values worked out by hand.
    func testReferenceByHand() {
        // 1 channel 3x3 input 1..9, 2x2 kernel [[-1, 0], [0, 1]], bias 0.5, stride 1, pad 1 on the top/left only
        // (the bottom/right padding is implied by the 3x3 output), residual 10 at (2, 2), then ReLU.
        var shape = sm_conv2d_shape(
            in_channels: 1, in_height: 3, in_width: 3, out_channels: 1, out_height: 3,
            out_width: 3, kernel_h: 2, kernel_w: 2, stride_h: 1, stride_w: 1, pad_top: 1,
            pad_left: 1, dilation_h: 1, dilation_w: 1)
        let input = AlignedFloats([1, 2, 3, 4, 5, 6, 7, 8, 9])
        let weights = AlignedFloats([-1, 0, 0, 1])
        let bias = AlignedFloats([0.5])
        let residual = AlignedFloats([0, 0, 0, 0, 0, 0, 0, 0, -10])
        let output = AlignedFloats(count: 9)
        var epilogue = sm_conv2d_epilogue(
            bias: bias.constBase, residual: residual.constBase, relu: 1, channel_begin: 0, channel_end: 0)
        Tiers.reference.pointee.conv2d_f32(
            &shape, input.constBase, weights.constBase, &epilogue, output.base, 0, 3,
            nil)
        // out(y, x) = in(y, x) - in(y-1, x-1) + 0.5 + residual, in() = 0 outside; max(0, .) at (2, 2): 4.5 - 10.
        XCTAssertEqual(output.array, [1.5, 2.5, 3.5, 4.5, 4.5, 4.5, 7.5, 4.5, 0])
        // 2 channels, 1x1 kernel, stride 2 on a 1x3 input: picks columns 0 and 2.
        var strided = sm_conv2d_shape(
            in_channels: 2, in_height: 1, in_width: 3, out_channels: 1, out_height: 1,
            out_width: 2, kernel_h: 1, kernel_w: 1, stride_h: 2, stride_w: 2, pad_top: 0,
            pad_left: 0, dilation_h: 1, dilation_w: 1)
        let x2 = AlignedFloats([1, 2, 3, 10, 20, 30]), w2 = AlignedFloats([2, -1]), out2 = AlignedFloats(count: 2)
        Tiers.reference.pointee.conv2d_f32(&strided, x2.constBase, w2.constBase, nil, out2.base, 0, 1, nil)
        XCTAssertEqual(out2.array, [2 * 1 - 10, 2 * 3 - 30])
        // Dilation 2 of a 1x3 kernel over a 1x5 row: taps at columns 0, 2, 4.
        var dilated = sm_conv2d_shape(
            in_channels: 1, in_height: 1, in_width: 5, out_channels: 1, out_height: 1,
            out_width: 1, kernel_h: 1, kernel_w: 3, stride_h: 1, stride_w: 1, pad_top: 0,
            pad_left: 0, dilation_h: 1, dilation_w: 2)
        let x3 = AlignedFloats([1, 2, 3, 4, 5]), w3 = AlignedFloats([1, 10, 100]), out3 = AlignedFloats(count: 1)
        Tiers.reference.pointee.conv2d_f32(&dilated, x3.constBase, w3.constBase, nil, out3.base, 0, 1, nil)
        XCTAssertEqual(out3.array, [1 + 30 + 500])
    }
}

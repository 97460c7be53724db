import CKernels
import XCTest

/// Winograd F(4x4, 3x3) against the direct convolution: the scalar twin against the direct reference, each fast tier
/// against the twin, and the fast tiers' conv2d_f32 routing qualifying shapes to it. Sizes cross every tile edge: 4x4
/// output tiles (partial tiles at 1..3 leftover rows/columns), dilated sub-grids, the GEMM's 8/6-channel panels and
/// 48/16-tile micro-panels, k blocks of 256 channels and chunks of at most 256 tiles.
final class WinogradTests: XCTestCase {
    typealias Case = ConvolutionTests.Case
    typealias Problem = ConvolutionTests.Problem

    /// Runs the Winograd entry points of `table` over row ranges `bounds`.
    func runWinograd(_ table: KernelTable, _ p: Problem, bounds: [Int32], output: AlignedFloats) {
        var s = p.shape
        let packed = AlignedFloats(count: table.pointee.winograd_f32_packed_floats(&s))
        table.pointee.winograd_f32_pack(&s, p.weights.constBase, packed.base)
        for i in 0..<(bounds.count - 1) {
            let workspace = Workspace(bytes: table.pointee.winograd_f32_workspace_bytes(&s, bounds[i + 1] - bounds[i]))
            table.pointee.winograd_f32(
                &s, p.input.constBase, packed.constBase, &p.epilogue, output.base, bounds[i],
                bounds[i + 1], workspace.pointer)
        }
    }

    func check(
        _ cases: [Case], seed: UInt64, splits: (Int32) -> [[Int32]] = { [[0, $0]] },
        file: StaticString = #filePath, line: UInt = #line
    ) {
        for (n, c) in cases.enumerated() {
            var s = c.shape
            XCTAssertEqual(
                Tiers.reference.pointee.winograd_applies(&s), 1, "\(c.label) should qualify", file: file, line: line)
            let p = Problem(c, seed: seed &+ UInt64(n))
            // One call over every row: splits must reproduce it bit for bit (tiles sit on a fixed grid).
            var whole: [String: AlignedFloats] = [:]
            for table in [Tiers.reference] + Tiers.fast {
                let out = AlignedFloats(count: p.outputCount, fill: .nan)
                runWinograd(table, p, bounds: [0, c.shape.out_height], output: out)
                whole[Tiers.name(table)] = out
            }
            for bounds in splits(c.shape.out_height) {
                let twin = AlignedFloats(count: p.outputCount, fill: .nan)
                runWinograd(Tiers.reference, p, bounds: bounds, output: twin)
                assertClose(
                    twin, whole["reference"]!, tolerance: 0, "reference twin, \(c.label): rows \(bounds) vs one call",
                    file: file, line: line)
                assertWithinRelativeTolerance(
                    twin, p.expected, magnitude: p.magnitude, tolerance: winogradTolerance,
                    "reference Winograd vs direct, \(c.label) rows \(bounds)", file: file, line: line)
                for table in Tiers.fast {
                    let fast = AlignedFloats(count: p.outputCount, fill: .nan)
                    runWinograd(table, p, bounds: bounds, output: fast)
                    assertClose(
                        fast, whole[Tiers.name(table)]!, tolerance: 0,
                        "\(Tiers.name(table)) \(c.label): rows \(bounds) vs one call", file: file, line: line)
                    assertWithinRelativeTolerance(
                        fast, twin, magnitude: p.magnitude, tolerance: winogradTwinTolerance,
                        "\(Tiers.name(table)) Winograd vs twin, \(c.label) rows \(bounds)",
                        file: file, line: line)
                }
            }
        }
    }

    /// Every 3x3 stride-1 geometry of SiamMask, channel counts reduced: layer1/2 (p1), layer3 (d2 p2), the
    /// correlation blocks' search side (p0, 31 -> 29), the refine module (p1 on 15/31/61).
    func testNetworkShapes() {
        check(
            [
                Case(shape: geometry(16, 63, 63, out: 8, kernel: 3, pad: 1), label: "layer1 conv2 (63x63 p1)"),
                Case(
                    shape: geometry(8, 31, 31, out: 16, kernel: 3, pad: 1), label: "layer2 conv2 / layer3.0 (31x31 p1)"),
                Case(
                    shape: geometry(12, 31, 31, out: 9, kernel: 3, pad: 2, dilation: 2), label: "layer3 conv2 (d2 p2)"),
                Case(shape: geometry(10, 31, 31, out: 11, kernel: 3), label: "conv_search (p0, 29x29 out)"),
                Case(shape: geometry(8, 15, 15, out: 8, kernel: 3, pad: 1), label: "refine 15x15"),
                Case(shape: geometry(9, 61, 61, out: 8, kernel: 3, pad: 1), label: "refine 61x61"),
            ], seed: 11)
    }

    func testTileEdges() {
        var cases: [Case] = []
        for side: Int32 in [3, 4, 5, 6, 7, 8, 9, 11, 13] {   // 0..3 leftover rows and columns
            cases.append(Case(shape: geometry(8, side, side + 1, out: 8, kernel: 3, pad: 1), label: "side \(side)"))
        }
        for o: Int32 in [8, 9, 12, 15, 16, 17, 23, 25] {   // AVX-512 panels of 8, AVX2 of 6
            cases.append(Case(shape: geometry(8, 9, 9, out: o, kernel: 3, pad: 1), label: "out channels \(o)"))
        }
        for c: Int32 in [8, 9, 255, 256, 257] {   // k blocks of 256
            cases.append(Case(shape: geometry(c, 6, 7, out: 9, kernel: 3, pad: 1), label: "in channels \(c)"))
        }
        // Tiles around the 48- and 16-tile micro-panels (7x7 = 49 tiles, 4x4 = 16, 4x12 = 48) and past the
        // 256-tile chunk (17x17 = 289 tiles: two chunks).
        for (h, w): (Int32, Int32) in [(28, 28), (16, 16), (16, 48), (15, 47), (68, 68)] {
            cases.append(Case(shape: geometry(8, h, w, out: 8, kernel: 3, pad: 1), label: "\(h)x\(w)"))
        }
        for (pad, d): (Int32, Int32) in [(0, 1), (2, 1), (1, 2), (2, 2), (0, 2), (3, 3), (1, 3)] {
            cases.append(
                Case(
                    shape: geometry(8, 21, 19, out: 9, kernel: 3, pad: pad, dilation: d),
                    label: "pad \(pad) dilation \(d)"))
        }
        check(cases, seed: 12)
    }

    func testRowSplitsAndEpilogues() {
        var cases: [Case] = []
        for bias in [false, true] {
            for residual in [false, true] {
                for relu in [false, true] {
                    cases.append(
                        Case(
                            shape: geometry(9, 13, 11, out: 10, kernel: 3, pad: 1), bias: bias, residual: residual,
                            relu: relu, label: "bias \(bias) residual \(residual) relu \(relu)"))
                }
            }
        }
        cases.append(
            Case(shape: geometry(8, 19, 17, out: 9, kernel: 3, pad: 2, dilation: 2), residual: true, label: "d2"))
        check(cases, seed: 13) { h in
            [[0, h], [0, 1, h], [0, h / 2, h], [0, h - 1, h], [0, h / 3, h / 3, 2 * h / 3, h], [0, 0, h, h]]
        }
    }

    /// Output-channel ranges (`channel_begin` / `channel_end`, multiples of 24: whole panels on every tier) computed by
    /// separate calls give the single call's values bit for bit, with every epilogue part and a dilated shape; nothing
    /// outside a call's range is written.
    func testChannelSplits() throws {
        if Tiers.fast.isEmpty { throw XCTSkip("no fast tier on this CPU/build") }
        for (n, c) in [
            Case(shape: geometry(16, 18, 18, out: 61, kernel: 3, pad: 1), residual: true, relu: true, label: "61 ch"),
            Case(shape: geometry(8, 19, 17, out: 48, kernel: 3, pad: 2, dilation: 2), label: "48 ch d2"),
        ].enumerated() {
            let p = Problem(c, seed: UInt64(40 + n))
            let o = Int(p.shape.out_channels), plane = p.outputCount / o
            for table in Tiers.fast {
                let whole = AlignedFloats(count: p.outputCount, fill: .nan)
                runWinograd(table, p, bounds: [0, p.shape.out_height], output: whole)
                let split = AlignedFloats(count: p.outputCount, fill: .nan)
                let edges = [0, 24, 48, o].filter { $0 <= o }
                for i in 0..<(edges.count - 1) where edges[i] < edges[i + 1] {
                    let part = AlignedFloats(count: p.outputCount, fill: .nan)
                    p.epilogue.channel_begin = Int32(edges[i])
                    p.epilogue.channel_end = Int32(edges[i + 1])
                    runWinograd(table, p, bounds: [0, p.shape.out_height], output: part)
                    let values = part.array
                    for k in 0..<p.outputCount {
                        let inside = (edges[i] * plane..<edges[i + 1] * plane).contains(k)
                        if inside { split.base[k] = values[k] } else { XCTAssertTrue(values[k].isNaN, "wrote outside") }
                    }
                }
                p.epilogue.channel_begin = 0
                p.epilogue.channel_end = 0
                assertClose(split, whole, tolerance: 0, "\(Tiers.name(table)) \(c.label): channel splits vs one call")
            }
        }
    }

    /// The fast tiers' conv2d_f32 takes Winograd for a qualifying shape (bit-identical to calling it), and the
    /// direct path for shapes Winograd does not cover.
    func testConvolutionRoutesQualifyingShapes() throws {
        if Tiers.fast.isEmpty { throw XCTSkip("no fast tier on this CPU/build") }
        let p = Problem(
            Case(shape: geometry(8, 14, 14, out: 9, kernel: 3, pad: 1), residual: true, label: "route"), seed: 14)
        for table in Tiers.fast {
            let viaConv = AlignedFloats(count: p.outputCount, fill: .nan)
            p.run(table, packed: p.pack(table), output: viaConv, bounds: [0, 5, 14])
            let viaWinograd = AlignedFloats(count: p.outputCount, fill: .nan)
            runWinograd(table, p, bounds: [0, 5, 14], output: viaWinograd)
            assertClose(viaConv, viaWinograd, tolerance: 0, "\(Tiers.name(table)) conv2d_f32 routes to Winograd")
        }
        for shape in [
            geometry(8, 9, 9, out: 8, kernel: 3, stride: 2), geometry(4, 9, 9, out: 8, kernel: 3, pad: 1),
            geometry(8, 9, 9, out: 8, kernel: 1), geometry(8, 3, 3, out: 8, kernel: 3),
        ] {
            var s = shape
            XCTAssertEqual(Tiers.reference.pointee.winograd_applies(&s), 0, "\(shape) should not qualify")
            for table in Tiers.fast { XCTAssertEqual(table.pointee.conv2d_f32_row_granule(&s), 1) }
        }
        // A few tiles with many channels stay direct (the transformed weights would stream for 4 tiles), though
        // Winograd could take them; with enough tiles, or small weights, the same channels route to Winograd.
        var windowed = geometry(96, 7, 7, out: 96, kernel: 3)
        XCTAssertEqual(Tiers.reference.pointee.winograd_applies(&windowed), 1)
        for table in Tiers.fast {
            XCTAssertEqual(table.pointee.conv2d_f32_row_granule(&windowed), 1, "5x5 output, 96 channels")
        }
        for var s in [geometry(96, 18, 18, out: 96, kernel: 3), geometry(16, 7, 7, out: 16, kernel: 3)] {
            for table in Tiers.fast { XCTAssertEqual(table.pointee.conv2d_f32_row_granule(&s), 4, "\(s)") }
        }
        // Threads split Winograd-routed rows on whole tiles: 4 sub-grid rows, i.e. 4 x dilation output rows.
        for (d, pad): (Int32, Int32) in [(1, 1), (2, 2)] {
            var s = geometry(8, 31, 31, out: 8, kernel: 3, pad: pad, dilation: d)
            XCTAssertEqual(Tiers.reference.pointee.conv2d_f32_row_granule(&s), 1, "the reference stays direct")
            for table in Tiers.fast { XCTAssertEqual(table.pointee.conv2d_f32_row_granule(&s), 4 * d) }
        }
    }

    /// Workspaces sized for the largest row range serve smaller ones.
    func testWorkspaceGrowsWithRows() {
        for table in [Tiers.reference] + Tiers.fast {
            for shape in [
                geometry(256, 31, 31, out: 1024, kernel: 3, pad: 1),
                geometry(16, 31, 31, out: 8, kernel: 3, pad: 2, dilation: 2),
                geometry(64, 63, 63, out: 64, kernel: 3, pad: 1),
            ] {
                var s = shape
                var previous = 0
                for rows in 0...shape.out_height {
                    let bytes = table.pointee.winograd_f32_workspace_bytes(&s, rows)
                    XCTAssertGreaterThanOrEqual(bytes, previous, "\(Tiers.name(table)) rows \(rows)")
                    previous = bytes
                }
            }
        }
    }
}

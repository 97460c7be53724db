import CKernels
import Runtime
import Tensors
import TestSupport
import XCTest

/// The generic runtime: shape inference and checks, memory planning with buffer reuse, threading.
final class RuntimeTests: XCTestCase {
    func randomConv(_ name: String, out: Int, in inC: Int, k: Int, seed: UInt64) -> ConvolutionWeights {
        var rng = SeededGenerator(seed: seed)
        let w = (0..<(out * inC * k * k)).map { _ in Float.random(in: -0.5...0.5, using: &rng) }
        let b = (0..<out).map { _ in Float.random(in: -0.1...0.1, using: &rng) }
        return ConvolutionWeights(name: name, weights: w, bias: b, outChannels: out, inChannels: inC, kernel: k)
    }

    func testShapeInferenceAndErrors() throws {
        var g = GraphBuilder()
        let x = g.input("x", ActivationShape(3, 127, 127))
        let c = try g.conv2d(
            "stem", x, randomConv("stem", out: 4, in: 3, k: 7, seed: 1), stride: 2, padding: 0, relu: true)
        XCTAssertEqual(g.shape(of: c), ActivationShape(4, 61, 61))
        let p = try g.maxPool2d("pool", c, kernel: 3, stride: 2, padding: 1)
        XCTAssertEqual(g.shape(of: p), ActivationShape(4, 31, 31))
        let d = try g.conv2d(
            "dil", p, randomConv("dil", out: 4, in: 4, k: 3, seed: 2), padding: 2, dilation: 2, relu: false)
        XCTAssertEqual(g.shape(of: d), ActivationShape(4, 31, 31))
        XCTAssertThrowsError(try g.conv2d("bad", p, randomConv("bad", out: 4, in: 5, k: 1, seed: 3), relu: false))
        XCTAssertThrowsError(try g.add("bad-add", p, c))
        XCTAssertThrowsError(
            try g.conv2d("res", p, randomConv("res", out: 8, in: 4, k: 1, seed: 4), relu: true, residual: p))
        let w = try g.window("win", p, top: -2, left: 3, height: 5, width: 6)
        XCTAssertEqual(g.shape(of: w), ActivationShape(4, 5, 6))
        let k = try g.window("k", p, top: 0, left: 0, height: 5, width: 5)
        let xc = try g.depthwiseCrossCorrelation("xcorr", search: p, kernel: k)
        XCTAssertEqual(g.shape(of: xc), ActivationShape(4, 27, 27))
    }

    /// A chain long enough that the planner reuses buffers; the result must equal a graph evaluated one node
    /// at a time (each node its own graph, nothing shared).
    func testBufferReuseDoesNotChangeResults() throws {
        let convs = (0..<6).map { randomConv("c\($0)", out: 8, in: 8, k: 3, seed: UInt64($0 + 10)) }
        var rng = SeededGenerator(seed: 99)
        let input = Tensor(shape: [1, 8, 20, 20], floats: (0..<3200).map { _ in Float.random(in: 0...1, using: &rng) })

        var g = GraphBuilder()
        let x = g.input("x", ActivationShape(8, 20, 20))
        var v = x
        var skips: [ValueID] = []
        for (i, c) in convs.enumerated() {
            v = try g.conv2d("c\(i)", v, c, padding: 1, relu: true, residual: i % 2 == 1 ? skips.last : nil)
            skips.append(v)
        }
        let sum = try g.add("sum", v, skips[1])
        g.output("y", sum)
        g.output("mid", skips[2])
        let whole = try Executor(graph: g.build(), tier: SM_TIER_REFERENCE).run(["x": input])

        // Step by step: every intermediate is materialised as a graph output.
        var values: [Tensor] = []
        var current = input
        for (i, c) in convs.enumerated() {
            var s = GraphBuilder()
            let a = s.input("a", ActivationShape(8, 20, 20))
            var residual: ValueID?
            if i % 2 == 1 { residual = s.input("r", ActivationShape(8, 20, 20)) }
            s.output("o", try s.conv2d("c", a, c, padding: 1, relu: true, residual: residual))
            var feeds = ["a": current]
            if i % 2 == 1 { feeds["r"] = values.last! }
            current = try Executor(graph: s.build(), tier: SM_TIER_REFERENCE).run(feeds)["o"]!
            values.append(current)
        }
        XCTAssertEqual(whole["mid"], values[2])
        let expected = zip(values[5].floats, values[1].floats).map { $0 + $1 }
        XCTAssertEqual(whole["y"]!.floats, expected)
    }

    func testThreadsGiveTheSameResultAsOneThread() throws {
        var g = GraphBuilder()
        let x = g.input("x", ActivationShape(16, 63, 63))
        let c = try g.conv2d("c", x, randomConv("c", out: 64, in: 16, k: 3, seed: 5), padding: 1, relu: true)
        g.output("y", c)
        var rng = SeededGenerator(seed: 6)
        let input = Tensor(
            shape: [1, 16, 63, 63], floats: (0..<(16 * 63 * 63)).map { _ in Float.random(in: -1...1, using: &rng) })
        let graph = g.build()
        let one = try Executor(graph: graph, threads: 1).run(["x": input])
        let two = try Executor(graph: graph, threads: 2).run(["x": input])
        XCTAssertEqual(one["y"], two["y"], "row splitting must not change any value")
        XCTAssertEqual(graph.multiplyAccumulates, 64 * 63 * 63 * 16 * 9)
    }
}

import CKernels
import Dispatch
import Tensors

/// Runs a graph on one kernel tier. Buffers are planned once (an activation's memory is reused as soon as its last
/// reader has run) and kept across runs, so a tracker pays no allocation per frame. Not reentrant: one run at a time.
public final class Executor {
    public let graph: Graph
    public let threads: Int
    public let tier: sm_tier
    /// Called after every node with its name, output shape and values (for drift and calibration observers).
    public var observer: ((String, ActivationShape, UnsafeBufferPointer<Float>) -> Void)?

    private let table: UnsafePointer<sm_kernel_table>
    private let bufferOfValue: [Int]
    private let buffers: [AlignedBuffer]
    private let workspaces: [AlignedBuffer]
    private let convShapes: [Int: sm_conv2d_shape]
    /// Run-time origins of window nodes (e.g. the refine crops, whose position is chosen per frame).
    private var windowOrigins: [Int: (top: Int, left: Int)] = [:]

    /// Work below this many multiply-accumulates runs on one thread: splitting costs more than it saves.
    static let parallelThreshold = 2_000_000

    /// - Parameters:
    ///   - threads: worker threads for large layers (1 = no threading).
    ///   - tier: kernel tier; defaults to the active one (the best the CPU has, capped by SIAMMASK_MAX_TIER).
    public init(graph: Graph, threads: Int = 1, tier: sm_tier? = nil) throws {
        self.graph = graph
        self.threads = max(1, threads)
        let chosen = tier ?? sm_active_tier()
        guard let t = sm_kernels_for_tier(chosen) else {
            throw GraphError.shapeMismatch(node: "executor", detail: "kernel tier \(chosen.rawValue) is not built for this CPU")
        }
        self.tier = chosen
        table = t

        // Liveness: the last node index that reads each value; graph outputs live to the end.
        let valueCount = graph.shapes.count
        var lastUse = [Int](repeating: -1, count: valueCount)
        for (i, node) in graph.nodes.enumerated() { for v in node.inputs { lastUse[v.index] = i } }
        for (_, v) in graph.outputs { lastUse[v.index] = Int.max }

        // Greedy best-fit assignment of values to buffers, in execution order.
        var capacities: [Int] = []
        var owner = [Int](repeating: -1, count: valueCount)
        var freeUntil: [Int] = []   // node index after which a buffer is free again
        func assign(_ v: Int, at step: Int) {
            let need = graph.shapes[v].count
            var best = -1
            for b in 0..<capacities.count where freeUntil[b] < step {
                if capacities[b] >= need, best < 0 || capacities[b] < capacities[best] { best = b }
            }
            if best < 0 {
                // Grow the largest free buffer rather than adding one, if any is free.
                if let b = (0..<capacities.count).filter({ freeUntil[$0] < step }).max(by: { capacities[$0] < capacities[$1] }) {
                    capacities[b] = need
                    best = b
                } else {
                    capacities.append(need)
                    freeUntil.append(-1)
                    best = capacities.count - 1
                }
            }
            owner[v] = best
            freeUntil[best] = lastUse[v] == -1 ? step : lastUse[v]
        }
        for (_, v) in graph.inputs { assign(v.index, at: -1) }
        for (i, node) in graph.nodes.enumerated() {
            // An output never shares memory with the node's own inputs: assign while inputs are still held.
            assign(node.output.index, at: i)
        }
        bufferOfValue = owner
        buffers = capacities.map { AlignedBuffer(floats: $0) }

        var shapes: [Int: sm_conv2d_shape] = [:]
        var workspaceBytes = 0
        for (i, node) in graph.nodes.enumerated() {
            guard case .conv2d(let w, let stride, let padding, let dilation, _) = node.operation else { continue }
            let input = graph.shapes[node.inputs[0].index], output = graph.shapes[node.output.index]
            var s = sm_conv2d_shape(
                in_channels: Int32(input.channels), in_height: Int32(input.height), in_width: Int32(input.width),
                out_channels: Int32(output.channels), out_height: Int32(output.height), out_width: Int32(output.width),
                kernel_h: Int32(w.kernel), kernel_w: Int32(w.kernel), stride_h: Int32(stride), stride_w: Int32(stride),
                pad_top: Int32(padding), pad_left: Int32(padding), dilation_h: Int32(dilation), dilation_w: Int32(dilation))
            shapes[i] = s
            workspaceBytes = max(workspaceBytes, t.pointee.conv2d_f32_workspace_bytes(&s, s.out_height))
            _ = w.packed(for: t, shape: s)   // pack up front so the first run is not slower
        }
        convShapes = shapes
        workspaces = (0..<self.threads).map { _ in AlignedBuffer(bytes: max(workspaceBytes, 64)) }
    }

    /// Moves a window node's origin for the following runs. The window's size stays what the graph was built with,
    /// so no buffer changes: one refine executor serves every cell of the score map.
    public func setWindowOrigin(_ nodeName: String, top: Int, left: Int) throws {
        guard let index = graph.nodes.firstIndex(where: { $0.name == nodeName }),
              case .window = graph.nodes[index].operation else {
            throw GraphError.shapeMismatch(node: nodeName, detail: "no window node of that name")
        }
        windowOrigins[index] = (top, left)
    }

    /// Runs the graph. Inputs are matched by name and checked against the graph's shapes ([1,C,H,W] or [C,H,W]).
    public func run(_ inputs: [String: Tensor]) throws -> [String: Tensor] {
        for name in inputs.keys where !graph.inputs.contains(where: { $0.name == name }) {
            throw GraphError.unexpectedInput(name)
        }
        for (name, v) in graph.inputs {
            guard let t = inputs[name] else { throw GraphError.missingInput(name) }
            let s = graph.shapes[v.index]
            guard t.dtype == .float32 else { throw GraphError.wrongInputType(name: name, dtype: t.dtype.description) }
            guard t.shape == s.dims || t.shape == Array(s.dims.dropFirst()) else {
                throw GraphError.wrongInputShape(name: name, expected: s.dims, actual: t.shape)
            }
            t.withUnsafeBytes { raw in
                UnsafeMutableRawPointer(pointer(v)).copyMemory(from: raw.baseAddress!, byteCount: s.count * 4)
            }
        }
        for (i, node) in graph.nodes.enumerated() {
            execute(node, index: i)
            if let observer {
                observer(node.name, graph.shapes[node.output.index],
                         UnsafeBufferPointer(start: pointer(node.output), count: graph.shapes[node.output.index].count))
            }
        }
        var result: [String: Tensor] = [:]
        for (name, v) in graph.outputs {
            let s = graph.shapes[v.index]
            result[name] = Tensor(shape: s.dims, floats: Array(UnsafeBufferPointer(start: pointer(v), count: s.count)))
        }
        return result
    }

    private func pointer(_ v: ValueID) -> UnsafeMutablePointer<Float> { buffers[bufferOfValue[v.index]].floats }

    private func execute(_ node: Node, index: Int) {
        let k = table.pointee
        let out = pointer(node.output)
        let os = graph.shapes[node.output.index]
        let x = pointer(node.inputs[0])
        let xs = graph.shapes[node.inputs[0].index]
        switch node.operation {
        case .conv2d(let w, _, _, _, let relu):
            var shape = convShapes[index]!
            let packed = w.packed(for: table, shape: shape)
            let residual: UnsafePointer<Float>? = node.inputs.count > 1 ? UnsafePointer(pointer(node.inputs[1])) : nil
            let macs = os.count * w.inChannels * w.kernel * w.kernel
            w.bias.withUnsafeBufferPointer { bias in
                var epilogue = sm_conv2d_epilogue(bias: bias.baseAddress, residual: residual, relu: relu ? 1 : 0)
                parallelRows(os.height, work: macs) { begin, end, worker in
                    k.conv2d_f32(&shape, x, packed, &epilogue, out, Int32(begin), Int32(end), self.workspaces[worker].floats)
                }
            }
        case .convTranspose2d(let w):
            w.weights.withUnsafeBufferPointer { wt in
                w.bias.withUnsafeBufferPointer { b in
                    k.conv_transpose2d_f32(x, Int32(xs.channels), Int32(xs.height), Int32(xs.width), wt.baseAddress!,
                                           b.baseAddress, Int32(w.outChannels), Int32(w.kernel), out)
                }
            }
        case .maxPool2d(let kernel, let stride, let padding):
            parallelRows(os.height, work: os.count * kernel * kernel / 8) { begin, end, _ in
                k.max_pool2d_f32(x, Int32(xs.channels), Int32(xs.height), Int32(xs.width), Int32(kernel), Int32(stride),
                                 Int32(padding), out, Int32(os.height), Int32(os.width), Int32(begin), Int32(end))
            }
        case .depthwiseCrossCorrelation:
            let kernelShape = graph.shapes[node.inputs[1].index]
            let kp = pointer(node.inputs[1])
            parallelRows(os.channels, work: os.count * kernelShape.height * kernelShape.width) { begin, end, _ in
                k.depthwise_xcorr_f32(x, Int32(xs.channels), Int32(xs.height), Int32(xs.width), kp,
                                      Int32(kernelShape.height), Int32(kernelShape.width), out, Int32(begin), Int32(end))
            }
        case .resizeNearest:
            k.resize_nearest_f32(x, Int32(xs.channels), Int32(xs.height), Int32(xs.width), out, Int32(os.height), Int32(os.width))
        case .window(var top, var left, _, _):
            if let o = windowOrigins[index] { (top, left) = (o.top, o.left) }
            k.window_f32(x, Int32(xs.channels), Int32(xs.height), Int32(xs.width), Int32(top), Int32(left), out,
                         Int32(os.height), Int32(os.width))
        case .add(let relu):
            k.add_f32(x, pointer(node.inputs[1]), out, os.count, relu ? 1 : 0)
        case .sigmoid:
            k.sigmoid_f32(x, out, os.count)
        }
    }

    /// Splits [0, count) into one contiguous range per worker when the work is large enough.
    private func parallelRows(_ count: Int, work: Int, _ body: @escaping (Int, Int, Int) -> Void) {
        let workers = min(threads, count)
        if workers <= 1 || work < Executor.parallelThreshold {
            body(0, count, 0)
            return
        }
        let task = UncheckedSendable(body)
        DispatchQueue.concurrentPerform(iterations: workers) { w in
            let begin = count * w / workers, end = count * (w + 1) / workers
            if begin < end { task.value(begin, end, w) }
        }
    }
}

/// Carries raw-pointer closures into `concurrentPerform`; the executor guarantees the ranges are disjoint.
struct UncheckedSendable<T>: @unchecked Sendable {
    let value: T
    init(_ value: T) { self.value = value }
}

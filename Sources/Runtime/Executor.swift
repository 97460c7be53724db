import CKernels
import Dispatch
import Tensors

/// Which nodes of a graph run in int8, and the uint8 encodings of the activations they read and write.
public struct Int8Configuration: Sendable {
    /// Encodings by `Graph.encodingSource` name (node or graph input).
    public var encodings: [String: UInt8Encoding]
    /// Nodes kept in float32 although they could run in int8 (mixed precision). A convolution runs in int8 only
    /// when its weights have an int8 form; a depth-wise correlation whenever its search input has an encoding.
    public var float32Nodes: Set<String>
    /// int8 kernel tier; nil: the active one (the best the CPU has, capped by SIAMMASK_MAX_TIER).
    public var tier: sm_int8_tier?
    /// Graph outputs kept in uint8 (their producer's encoding) when the producer writes uint8 anyway, for another
    /// executor to bind in place (`bindInput`); `withOutput` and `run` dequantise them. Others are float32.
    public var uint8Outputs: Set<String>
    /// Graph inputs held in uint8 with these encodings: bound to another executor's uint8 output, or quantised when
    /// fed through `run` / `evaluate`.
    public var uint8Inputs: [String: UInt8Encoding]

    public init(
        encodings: [String: UInt8Encoding], float32Nodes: Set<String> = [], tier: sm_int8_tier? = nil,
        uint8Outputs: Set<String> = [], uint8Inputs: [String: UInt8Encoding] = [:]
    ) {
        self.encodings = encodings
        self.float32Nodes = float32Nodes
        self.tier = tier
        self.uint8Outputs = uint8Outputs
        self.uint8Inputs = uint8Inputs
    }
}

/// Runs a graph on one kernel tier. The graph is first lowered: with an int8 configuration, int8 nodes read and
/// write uint8 activations and quantise / dequantise steps are inserted where float32 and int8 nodes meet. Buffers
/// are planned once (an activation's memory is reused as soon as its last reader has run) and kept across runs, so a
/// tracker pays no allocation per frame. Not reentrant: one run at a time.
public final class Executor {
    public let graph: Graph
    public let threads: Int
    private let pool: ThreadPool?
    public let tier: sm_tier
    /// Called for every graph input, then after every node, with its name, shape and float values (uint8
    /// activations dequantised) — the hook of calibration and drift observers.
    public var observer: ((String, ActivationShape, UnsafeBufferPointer<Float>) -> Void)?
    /// When set, each run records the wall time of every step (inserted conversions named "quantize X" /
    /// "dequantize X" after the value's producer), in execution order.
    public var profiling = false
    public private(set) var lastProfile: [(step: String, seconds: Double)] = []

    private let table: UnsafePointer<sm_kernel_table>
    private let int8Table: UnsafePointer<sm_int8_kernel_table>?
    private let plan: LoweredGraph
    private let buffers: [AlignedBuffer]
    /// Where each lowered value lives: its planned buffer, or another executor's output buffer for a bound input.
    private var valuePointers: [UnsafeMutableRawPointer] = []
    /// Bound graph inputs: input name -> (source executor, its output name). The sources are retained, which keeps
    /// the memory the pointers point into alive.
    private var bindings: [String: (source: Executor, output: String)] = [:]
    /// Completed runs; a bound input's source must have run before its reader does.
    public private(set) var runCount = 0
    private let workspaces: [AlignedBuffer]
    private let observerScratch: AlignedBuffer?
    private let convShapes: [Int: sm_conv2d_shape]
    /// Run-time origins of window nodes (e.g. the refine crops, whose position is chosen per frame).
    private var windowOrigins: [Int: (top: Int, left: Int)] = [:]

    /// Work below this many multiply-accumulates runs on one thread: splitting costs more than it saves (with the
    /// spinning pool a split costs a few microseconds; 0.3 M MACs measured best of 2 M and 0.3 M on the full model).
    static let parallelThreshold = 300000
    /// Channel splits (Winograd) fall on multiples of this: whole weight panels on every tier (MR 4, 6, 8 or 12).
    static let channelGranule = 24
    /// Winograd layers whose transformed weights come to this many bytes per 4x4 output tile or more split channels
    /// between workers: split by rows, each worker would stream all the weights for its half of the tiles. At full
    /// size layer3.0's 512 -> 1024 downsample (75 MB, 64 tiles; 17% faster at 2 threads) and the refine module's
    /// 512 -> 128 (9.4 MB, 16 tiles; 1.06x at 2 threads by rows). The 9.4 MB ones with 64 tiles (layer3's dilated 3x3s,
    /// the correlation blocks' search side) measured 17-23% slower (dilated) or within noise that way: each worker
    /// repeats the whole input transform, so they keep splitting rows.
    static let channelSplitBytesPerTile = 384 << 10

    /// - Parameters:
    ///   - threads: worker threads for large layers (1 = no threading).
    ///   - pool: the worker pool to run on (shared by the executors of one frame); nil: one of `threads` workers
    ///     of its own. When given, its size is the thread count.
    ///   - tier: float32 kernel tier; defaults to the active one (the best the CPU has, capped by SIAMMASK_MAX_TIER).
    ///   - int8: run the nodes it selects in int8; nil: everything in float32.
    public init(
        graph: Graph, threads: Int = 1, tier: sm_tier? = nil, int8: Int8Configuration? = nil,
        pool: ThreadPool? = nil
    ) throws {
        self.graph = graph
        let workerPool = pool ?? (threads > 1 ? ThreadPool(threads: threads) : nil)
        self.pool = workerPool
        self.threads = workerPool?.threads ?? 1
        let chosen = tier ?? sm_active_tier()
        guard let t = sm_kernels_for_tier(chosen) else {
            throw GraphError.shapeMismatch(
                node: "executor", detail: "kernel tier \(chosen.rawValue) is not built for this CPU")
        }
        self.tier = chosen
        table = t
        if let int8 {
            let t8 = int8.tier ?? sm_int8_active_tier()
            guard sm_int8_tier_supported(t8) != 0, let k = sm_int8_kernels_for_tier(t8) else {
                throw GraphError.shapeMismatch(
                    node: "executor", detail: "int8 kernel tier \(t8.rawValue) is not available on this CPU")
            }
            int8Table = k
        } else {
            int8Table = nil
        }
        let lowered = try LoweredGraph(graph, int8: int8)
        plan = lowered

        // Liveness over the lowered steps: the last step that reads each value; graph outputs live to the end.
        let valueCount = lowered.values.count
        var lastUse = [Int](repeating: -1, count: valueCount)
        for (i, step) in lowered.steps.enumerated() { for v in step.inputs { lastUse[v] = i } }
        for v in lowered.outputs { lastUse[v] = Int.max }

        // Greedy best-fit assignment of values to buffers (in bytes), in execution order.
        var capacities: [Int] = []
        var owner = [Int](repeating: -1, count: valueCount)
        var freeUntil: [Int] = []   // step index after which a buffer is free again
        func assign(_ v: Int, at step: Int) {
            let need = lowered.values[v].bytes
            var best = -1
            for b in 0..<capacities.count where freeUntil[b] < step {
                if capacities[b] >= need, best < 0 || capacities[b] < capacities[best] { best = b }
            }
            if best < 0 {
                // Grow the largest free buffer rather than adding one, if any is free.
                if let b = (0..<capacities.count).filter({ freeUntil[$0] < step }).max(by: {
                    capacities[$0] < capacities[$1]
                }) {
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
        for v in lowered.inputs { assign(v, at: -1) }
        for (i, step) in lowered.steps.enumerated() {
            // An output never shares memory with the step's own inputs: assign while inputs are still held.
            assign(step.output, at: i)
        }
        let planned = capacities.map { AlignedBuffer(bytes: $0) }
        buffers = planned
        valuePointers = owner.map { UnsafeMutableRawPointer(planned[$0].floats) }

        var shapes: [Int: sm_conv2d_shape] = [:]
        var workspaceBytes = 0
        for (i, step) in lowered.steps.enumerated() {
            switch step.kind {
            case .float(.conv2d(let w, let stride, let padding, let dilation, _)):
                var s = Self.convShape(graph, step, w, stride, padding, dilation)
                shapes[i] = s
                workspaceBytes = max(workspaceBytes, t.pointee.conv2d_f32_workspace_bytes(&s, s.out_height))
                _ = w.packed(for: t, shape: s)   // pack up front so the first run is not slower
            case .int8Conv(let c):
                var s = Self.convShape(graph, step, c.weights, c.stride, c.padding, c.dilation)
                shapes[i] = s
                let k = int8Table!.pointee
                workspaceBytes = max(
                    workspaceBytes,
                    c.weights.runsInWinogradDomain(shape: s)
                        ? k.conv2d_wd23_workspace_bytes(&s, s.out_height)
                        : k.conv2d_u8s8_workspace_bytes(&s, s.out_height))
                _ = c.weights.packedInt8(for: int8Table!, shape: s, inputZeroPoint: c.input.zeroPoint)
            case .int8Correlation(let x):
                let k = int8Table!.pointee
                x.packed = AlignedBuffer(
                    bytes: max(
                        64, k.xcorr_u8s8_packed_bytes(Int32(x.channels), Int32(x.kernelHeight), Int32(x.kernelWidth))))
                workspaceBytes = max(
                    workspaceBytes,
                    k.xcorr_u8s8_workspace_bytes(
                        Int32(x.searchHeight), Int32(x.searchWidth),
                        Int32(x.kernelHeight), Int32(x.kernelWidth)))
            default: break
            }
        }
        convShapes = shapes
        workspaces = (0..<self.threads).map { _ in AlignedBuffer(bytes: max(workspaceBytes, 64)) }
        let largestU8 = lowered.values.filter { $0.encoding != nil }.map(\.count).max()
        observerScratch = largestU8.map { AlignedBuffer(floats: $0) }
    }

    private static func convShape(
        _ graph: Graph, _ step: LoweredGraph.Step, _ w: ConvolutionWeights, _ stride: Int,
        _ padding: Int, _ dilation: Int
    ) -> sm_conv2d_shape {
        let node = graph.nodes[step.node!]
        let input = graph.shapes[node.inputs[0].index], output = graph.shapes[node.output.index]
        return sm_conv2d_shape(
            in_channels: Int32(input.channels), in_height: Int32(input.height), in_width: Int32(input.width),
            out_channels: Int32(output.channels), out_height: Int32(output.height), out_width: Int32(output.width),
            kernel_h: Int32(w.kernel), kernel_w: Int32(w.kernel), stride_h: Int32(stride), stride_w: Int32(stride),
            pad_top: Int32(padding), pad_left: Int32(padding), dilation_h: Int32(dilation), dilation_w: Int32(dilation))
    }

    /// One executed step: its profile name (as in `lastProfile`), the graph node it computes (nil for inserted
    /// conversions), whether it runs an int8 kernel, and its multiply-accumulates.
    public struct StepInfo: Sendable {
        public let name: String
        public let node: String?
        public let isInt8: Bool
        public let multiplyAccumulates: Int
    }

    /// The lowered steps in execution order: `lastProfile[i]` times `steps[i]`.
    public var steps: [StepInfo] {
        plan.steps.map { step in
            let node = step.node.map { graph.nodes[$0] }
            return StepInfo(
                name: stepName(step), node: node?.name, isInt8: step.isInt8,
                multiplyAccumulates: node.map { graph.multiplyAccumulates(of: $0) } ?? 0)
        }
    }

    /// Names of the nodes that run in int8 after lowering, in execution order.
    public var int8Nodes: [String] { plan.int8Nodes(of: graph) }

    /// The same without building an executor (no buffers, no weight packing).
    public static func int8Nodes(of graph: Graph, int8: Int8Configuration?) throws -> [String] {
        try LoweredGraph(graph, int8: int8).int8Nodes(of: graph)
    }

    /// Moves a window node's origin for the following runs. The window's size stays what the graph was built with,
    /// so no buffer changes: one refine executor serves every cell of the score map.
    public func setWindowOrigin(_ nodeName: String, top: Int, left: Int) throws {
        guard let index = graph.nodes.firstIndex(where: { $0.name == nodeName }),
            case .window = graph.nodes[index].operation
        else {
            throw GraphError.shapeMismatch(node: nodeName, detail: "no window node of that name")
        }
        windowOrigins[index] = (top, left)
    }

    /// Makes graph input `name` read `source`'s output `output` in place on every following run, instead of a copy
    /// fed through `run`. The output must have the input's shape and representation (float32, or uint8 with the same
    /// encoding: `Int8Configuration.uint8Outputs` / `uint8Inputs`); it stays untouched until `source` runs again, so
    /// the reader sees the source's last run.
    public func bindInput(_ name: String, to source: Executor, output: String) throws {
        guard let input = graph.inputs.first(where: { $0.name == name }) else { throw GraphError.unexpectedInput(name) }
        guard source !== self else {
            throw GraphError.badBinding(input: name, detail: "an executor cannot read its own output")
        }
        guard bindings[name] == nil else {
            throw GraphError.badBinding(input: name, detail: "already bound to output '\(bindings[name]!.output)'")
        }
        guard let k = source.graph.outputs.firstIndex(where: { $0.name == output }) else {
            throw GraphError.badBinding(input: name, detail: "the source graph has no output named '\(output)'")
        }
        let have = source.graph.shapes[source.graph.outputs[k].value.index], want = graph.shapes[input.value.index]
        guard have == want else { throw GraphError.wrongInputShape(name: name, expected: want.dims, actual: have.dims) }
        let lowered = source.plan.outputs[k]
        let sourceEncoding = source.plan.values[lowered].encoding,
            inputEncoding = plan.values[input.value.index].encoding
        guard sourceEncoding == inputEncoding else {
            func describe(_ e: UInt8Encoding?) -> String {
                e.map { "uint8 (scale \($0.scale), zero point \($0.zeroPoint))" } ?? "float32"
            }
            throw GraphError.badBinding(
                input: name,
                detail: "output '\(output)' is \(describe(sourceEncoding)), the input takes \(describe(inputEncoding))")
        }
        var chain = source.bindings.values.map(\.source)
        while let e = chain.popLast() {   // no cycles: a source must not (indirectly) read this executor
            guard e !== self else { throw GraphError.badBinding(input: name, detail: "the binding would form a cycle") }
            chain += e.bindings.values.map(\.source)
        }
        bindings[name] = (source, output)
        valuePointers[input.value.index] = source.valuePointers[lowered]
    }

    /// The uint8 encoding output `name` is kept in (`Int8Configuration.uint8Outputs`), nil when it is float32.
    public func outputEncoding(_ name: String) -> UInt8Encoding? {
        graph.outputs.firstIndex { $0.name == name }.flatMap { plan.values[plan.outputs[$0]].encoding }
    }

    /// Names of the inputs bound to other executors' outputs.
    public var boundInputs: [String] { graph.inputs.map(\.name).filter { bindings[$0] != nil } }

    /// Runs the graph and returns a copy of every output.
    public func run(_ inputs: [String: Tensor]) throws -> [String: Tensor] {
        try evaluate(inputs)
        var result: [String: Tensor] = [:]
        for (name, v) in graph.outputs {
            result[name] = try withOutput(name) { Tensor(shape: graph.shape(of: v).dims, floats: Array($0)) }
        }
        return result
    }

    /// Calls `body` with output `name` of the last run, in place (float32, C x H x W; a uint8 output is dequantised
    /// into a copy first). The memory is the executor's and is overwritten by the next run: do not keep the pointer.
    public func withOutput<R>(_ name: String, _ body: (UnsafeBufferPointer<Float>) throws -> R) throws -> R {
        guard let k = graph.outputs.firstIndex(where: { $0.name == name }) else {
            throw GraphError.shapeMismatch(node: name, detail: "the graph has no output of that name")
        }
        guard runCount > 0 else { throw GraphError.notRun("output '\(name)'") }
        let count = graph.shapes[graph.outputs[k].value.index].count
        let v = plan.outputs[k]
        guard let e = plan.values[v].encoding else {
            return try body(UnsafeBufferPointer(start: floats(v), count: count))
        }
        var values = [Float](repeating: 0, count: count)   // a uint8 output (bound in place elsewhere): dequantised
        values.withUnsafeMutableBufferPointer {
            sm_dequantize_u8_f32(bytes(v), count, e.scale, e.zeroPoint, $0.baseAddress!)
        }
        return try values.withUnsafeBufferPointer { try body($0) }
    }

    /// Runs the graph, leaving the outputs in the executor's buffers (read them with `withOutput`). Inputs are
    /// matched by name and checked against the graph's shapes ([1,C,H,W] or [C,H,W]); bound inputs are not fed.
    public func evaluate(_ inputs: [String: Tensor]) throws {
        for name in inputs.keys where !graph.inputs.contains(where: { $0.name == name }) {
            throw GraphError.unexpectedInput(name)
        }
        for (name, _) in graph.inputs {
            guard let binding = bindings[name] else { continue }
            guard inputs[name] == nil else {
                throw GraphError.badBinding(
                    input: name, detail: "bound to output '\(binding.output)' of another executor; do not feed it")
            }
            guard binding.source.runCount > 0 else { throw GraphError.notRun("the source of bound input '\(name)'") }
        }
        for (name, v) in graph.inputs {
            if bindings[name] != nil {
                if let observer { observer(name, graph.shapes[v.index], observable(v.index)) }
                continue
            }
            guard let t = inputs[name] else { throw GraphError.missingInput(name) }
            let s = graph.shapes[v.index]
            guard t.dtype == .float32 else { throw GraphError.wrongInputType(name: name, dtype: t.dtype.description) }
            guard t.shape == s.dims || t.shape == Array(s.dims.dropFirst()) else {
                throw GraphError.wrongInputShape(name: name, expected: s.dims, actual: t.shape)
            }
            if let e = plan.values[v.index].encoding {   // a uint8 input fed in float32: quantised on entry
                t.withUnsafeBytes { raw in
                    sm_quantize_f32_u8(
                        raw.baseAddress!.assumingMemoryBound(to: Float.self), s.count, 1 / e.scale, e.zeroPoint,
                        bytes(v.index))
                }
            } else {
                t.withUnsafeBytes { raw in
                    pointer(v.index).copyMemory(from: raw.baseAddress!, byteCount: s.count * 4)
                }
            }
            if let observer { observer(name, s, observable(v.index)) }
        }
        lastProfile.removeAll(keepingCapacity: true)
        for (i, step) in plan.steps.enumerated() {
            let start = profiling ? DispatchTime.now().uptimeNanoseconds : 0
            execute(step, index: i)
            if profiling {
                let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
                lastProfile.append((stepName(step), seconds))
            }
            if let observer, let n = step.node {
                let node = graph.nodes[n]
                observer(node.name, graph.shapes[node.output.index], observable(step.output))
            }
        }
        runCount += 1
    }

    private func stepName(_ step: LoweredGraph.Step) -> String {
        if let n = step.node { return graph.nodes[n].name + (step.isInt8 ? " (int8)" : "") }
        let source =
            graph.nodes.first { $0.output.index == step.inputs[0] }?.name
            ?? graph.inputs.first { $0.value.index == step.inputs[0] }?.name ?? "%\(step.inputs[0])"
        if case .quantize = step.kind { return "quantize " + source }
        return "dequantize " + source
    }

    private func pointer(_ v: Int) -> UnsafeMutableRawPointer { valuePointers[v] }
    /// Value v as float32 for the observer: in place, or dequantised into the observer's scratch when uint8.
    private func observable(_ v: Int) -> UnsafeBufferPointer<Float> {
        let value = plan.values[v]
        guard let e = value.encoding, let scratch = observerScratch else {
            return UnsafeBufferPointer(start: floats(v), count: value.count)
        }
        sm_dequantize_u8_f32(bytes(v), value.count, e.scale, e.zeroPoint, scratch.floats)
        return UnsafeBufferPointer(start: scratch.floats, count: value.count)
    }
    private func floats(_ v: Int) -> UnsafeMutablePointer<Float> { pointer(v).assumingMemoryBound(to: Float.self) }
    private func bytes(_ v: Int) -> UnsafeMutablePointer<UInt8> { pointer(v).assumingMemoryBound(to: UInt8.self) }

    private func execute(_ step: LoweredGraph.Step, index: Int) {
        switch step.kind {
        case .float(let operation): executeFloat(operation, step, index: index)
        case .int8Conv(let c): executeInt8Conv(c, step, index: index)
        case .int8Correlation(let x): executeInt8Correlation(x, step)
        case .maxPoolU8(let kernel, let stride, let padding):
            let xs = plan.values[step.inputs[0]].shape, os = plan.values[step.output].shape
            let (x, out) = (bytes(step.inputs[0]), bytes(step.output))
            parallelRows(os.height, work: os.count * kernel * kernel) { begin, end, _ in
                sm_max_pool2d_u8(
                    x, Int32(xs.channels), Int32(xs.height), Int32(xs.width), Int32(kernel), Int32(stride),
                    Int32(padding), out, Int32(os.height), Int32(os.width), Int32(begin), Int32(end))
            }
        case .windowU8(var top, var left, let pad):
            if let o = windowOrigins[step.node!] { (top, left) = (o.top, o.left) }
            let xs = plan.values[step.inputs[0]].shape, os = plan.values[step.output].shape
            let (x, out) = (bytes(step.inputs[0]), bytes(step.output))
            let (inPlane, outPlane) = (xs.height * xs.width, os.height * os.width)
            parallelRows(xs.channels, work: os.count) { begin, end, _ in
                sm_window_u8(
                    x + begin * inPlane, Int32(end - begin), Int32(xs.height), Int32(xs.width), Int32(top),
                    Int32(left), pad, out + begin * outPlane, Int32(os.height), Int32(os.width))
            }
        case .quantize(let e):
            let (x, out) = (floats(step.inputs[0]), bytes(step.output))
            parallelElements(plan.values[step.output].count) { lo, hi in
                sm_quantize_f32_u8(x + lo, hi - lo, 1 / e.scale, e.zeroPoint, out + lo)
            }
        case .dequantize(let e):
            let (x, out) = (bytes(step.inputs[0]), floats(step.output))
            parallelElements(plan.values[step.output].count) { lo, hi in
                sm_dequantize_u8_f32(x + lo, hi - lo, e.scale, e.zeroPoint, out + lo)
            }
        }
    }

    private func executeFloat(_ operation: Operation, _ step: LoweredGraph.Step, index: Int) {
        let k = table.pointee
        let out = floats(step.output)
        let os = plan.values[step.output].shape
        let x = floats(step.inputs[0])
        let xs = plan.values[step.inputs[0]].shape
        switch operation {
        case .conv2d(let w, _, _, _, let relu):
            var shape = convShapes[index]!
            let packed = w.packed(for: table, shape: shape)
            let residual: UnsafePointer<Float>? = step.inputs.count > 1 ? UnsafePointer(floats(step.inputs[1])) : nil
            let macs = os.count * w.inChannels * w.kernel * w.kernel
            let granule = Int(k.conv2d_f32_row_granule(&shape))
            w.bias.withUnsafeBufferPointer { bias in
                var epilogue = sm_conv2d_epilogue(
                    bias: bias.baseAddress, residual: residual, relu: relu ? 1 : 0, channel_begin: 0, channel_end: 0)
                // Winograd (row granule > 1) with large transformed weights splits output channels, not rows: each
                // worker streams only its share of the weights and runs every tile (wider GEMMs); the input
                // transform, cheap, is done by each. Rows otherwise.
                let winogradBytes = k.conv2d_f32_packed_floats(&shape) * MemoryLayout<Float>.size
                let tiles = ((os.height + 3) / 4) * ((os.width + 3) / 4)
                if granule > 1, winogradBytes >= Executor.channelSplitBytesPerTile * tiles {
                    let g = Executor.channelGranule
                    parallelRows((w.outChannels + g - 1) / g, work: macs) { begin, end, worker in
                        var e = epilogue
                        (e.channel_begin, e.channel_end) = (Int32(begin * g), Int32(min(w.outChannels, end * g)))
                        k.conv2d_f32(&shape, x, packed, &e, out, 0, Int32(os.height), self.workspaces[worker].floats)
                    }
                    return
                }
                parallelRows(os.height, work: macs, granule: granule) { begin, end, worker in
                    k.conv2d_f32(
                        &shape, x, packed, &epilogue, out, Int32(begin), Int32(end), self.workspaces[worker].floats)
                }
            }
        case .convTranspose2d(let w):
            w.weights.withUnsafeBufferPointer { wt in
                w.bias.withUnsafeBufferPointer { b in
                    parallelRows(w.outChannels, work: os.count * xs.channels) { begin, end, _ in
                        k.conv_transpose2d_f32(
                            x, Int32(xs.channels), Int32(xs.height), Int32(xs.width), wt.baseAddress!,
                            b.baseAddress, Int32(w.outChannels), Int32(w.kernel), out, Int32(begin),
                            Int32(end))
                    }
                }
            }
        case .maxPool2d(let kernel, let stride, let padding):
            parallelRows(os.height, work: os.count * kernel * kernel) { begin, end, _ in
                k.max_pool2d_f32(
                    x, Int32(xs.channels), Int32(xs.height), Int32(xs.width), Int32(kernel), Int32(stride),
                    Int32(padding), out, Int32(os.height), Int32(os.width), Int32(begin), Int32(end))
            }
        case .depthwiseCrossCorrelation:
            let kernelShape = plan.values[step.inputs[1]].shape
            let kp = floats(step.inputs[1])
            parallelRows(os.channels, work: os.count * kernelShape.height * kernelShape.width) { begin, end, _ in
                k.depthwise_xcorr_f32(
                    x, Int32(xs.channels), Int32(xs.height), Int32(xs.width), kp,
                    Int32(kernelShape.height), Int32(kernelShape.width), out, Int32(begin), Int32(end))
            }
        case .resizeNearest:
            k.resize_nearest_f32(
                x, Int32(xs.channels), Int32(xs.height), Int32(xs.width), out, Int32(os.height), Int32(os.width))
        case .window(var top, var left, _, _):
            if let o = windowOrigins[step.node!] { (top, left) = (o.top, o.left) }
            // Channels are independent planes: split them (a copy, so weigh each element as a few MACs).
            let (inPlane, outPlane) = (xs.height * xs.width, os.height * os.width)
            parallelRows(xs.channels, work: os.count * 4) { begin, end, _ in
                k.window_f32(
                    x + begin * inPlane, Int32(end - begin), Int32(xs.height), Int32(xs.width), Int32(top),
                    Int32(left), out + begin * outPlane, Int32(os.height), Int32(os.width))
            }
        case .add(let relu):
            k.add_f32(x, floats(step.inputs[1]), out, os.count, relu ? 1 : 0)
        case .sigmoid:
            k.sigmoid_f32(x, out, os.count)
        }
    }

    private func executeInt8Conv(_ c: LoweredGraph.Int8Conv, _ step: LoweredGraph.Step, index: Int) {
        let k = int8Table!
        var shape = convShapes[index]!
        let packed = c.weights.packedInt8(for: k, shape: shape, inputZeroPoint: c.input.zeroPoint)
        let os = plan.values[step.output].shape
        let macs = os.count * c.weights.inChannels * c.weights.kernel * c.weights.kernel
        var epilogue = c.epilogue(residual: step.inputs.count > 1 ? UnsafeRawPointer(pointer(step.inputs[1])) : nil)
        let (x, out) = (bytes(step.inputs[0]), pointer(step.output))
        c.scales.withUnsafeBufferPointer { scales in
            c.weights.int8!.bias.withUnsafeBufferPointer { bias in
                epilogue.scale = scales.baseAddress
                epilogue.bias = bias.baseAddress
                let winograd = c.weights.runsInWinogradDomain(shape: shape)
                let run = (winograd ? k.pointee.conv2d_wd23 : k.pointee.conv2d_u8s8)!
                // Winograd-domain rows in whole bands (2 x dilation rows), so no worker repeats another's tiles.
                parallelRows(os.height, work: macs, granule: winograd ? 2 * c.dilation : 1) { begin, end, worker in
                    run(
                        &shape, x, packed, &epilogue, out, Int32(begin), Int32(end),
                        UnsafeMutableRawPointer(self.workspaces[worker].floats))
                }
            }
        }
    }

    /// The correlation kernel (the template's features, a float input) is quantised symmetrically per channel on
    /// every run: it is small (C x 5 x 5) and changes with the target.
    private func executeInt8Correlation(_ x: LoweredGraph.Int8Correlation, _ step: LoweredGraph.Step) {
        let k = int8Table!
        let kernel = floats(step.inputs[1])
        let taps = x.kernelHeight * x.kernelWidth
        var scales = [Float](repeating: 0, count: x.channels)
        var q = [Int8](repeating: 0, count: x.channels * taps)
        for c in 0..<x.channels {
            var largest: Float = 0
            for i in 0..<taps { largest = max(largest, abs(kernel[c * taps + i])) }
            let sk: Float = largest > 0 && largest.isFinite ? largest / 127 : 1
            for i in 0..<taps {
                let v = (kernel[c * taps + i] / sk).rounded(.toNearestOrEven)
                q[c * taps + i] = Int8(max(-127, min(127, v.isNaN ? 0 : v)))
            }
            scales[c] = x.search.scale * sk
        }
        let packed = x.packed!
        q.withUnsafeBufferPointer { qp in
            k.pointee.xcorr_u8s8_pack(
                qp.baseAddress!, Int32(x.channels), Int32(x.kernelHeight), Int32(x.kernelWidth),
                x.search.zeroPoint, packed.floats)
        }
        let os = plan.values[step.output].shape
        var epilogue = x.epilogue()
        let (s, out) = (bytes(step.inputs[0]), pointer(step.output))
        scales.withUnsafeBufferPointer { sp in
            epilogue.scale = sp.baseAddress
            parallelRows(x.channels, work: os.count * taps) { begin, end, worker in
                k.pointee.depthwise_xcorr_u8s8(
                    s, Int32(x.channels), Int32(x.searchHeight), Int32(x.searchWidth), packed.floats,
                    Int32(x.kernelHeight), Int32(x.kernelWidth), &epilogue, out, Int32(begin),
                    Int32(end), UnsafeMutableRawPointer(self.workspaces[worker].floats))
            }
        }
    }

    /// Splits [0, count) into one contiguous range per worker when the work is large enough; inner boundaries fall
    /// on multiples of `granule` (whole Winograd tiles) when there are enough granules for every worker.
    private func parallelRows(_ count: Int, work: Int, granule: Int = 1, _ body: (Int, Int, Int) -> Void) {
        let workers = min(threads, count)
        guard workers > 1, work >= Executor.parallelThreshold, let pool else { return body(0, count, 0) }
        let g = granule > 1 && (count + granule - 1) / granule >= workers ? granule : 1
        let units = (count + g - 1) / g
        pool.run { w in
            guard w < workers else { return }
            let begin = min(count, units * w / workers * g), end = min(count, units * (w + 1) / workers * g)
            if begin < end { body(begin, end, w) }
        }
    }

    /// Element-wise work over [0, count) split into contiguous ranges [lo, hi) that start on 64-element boundaries
    /// (cache lines for both float32 and uint8).
    private func parallelElements(_ count: Int, _ body: (Int, Int) -> Void) {
        parallelRows((count + 63) / 64, work: count * 2) { begin, end, _ in body(begin * 64, min(count, end * 64)) }
    }
}

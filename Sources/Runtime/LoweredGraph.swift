import CKernels
import Tensors

/// A graph lowered for execution: each node bound to a float32 or int8 kernel, every value typed (float32, or
/// uint8 with an encoding), and quantise / dequantise steps inserted where the two meet.
///
/// Rules (architecture.md, decision 3: the weight's dtype picks the kernel):
/// - a convolution runs in int8 when its weights have an int8 form, its input's encoding source has an encoding and
///   it is not listed as float32; a depth-wise correlation when its search input has an encoding and it is not listed;
/// - an int8 node writes uint8 (with its own encoding) when every reader takes uint8 and the value is not a graph
///   output; otherwise it writes float32 directly (the int8 epilogue dequantises for free);
/// - max-pool and window run on whatever their input is and keep its encoding;
/// - a reader that needs another representation gets one converted copy per value and representation.
struct LoweredGraph {
    struct Value {
        let shape: ActivationShape
        let encoding: UInt8Encoding?   // nil: float32
        var count: Int { shape.count }
        var bytes: Int { encoding == nil ? shape.count * 4 : shape.count }
    }

    final class Int8Conv {
        let weights: ConvolutionWeights
        let stride: Int, padding: Int, dilation: Int, relu: Bool
        let input: UInt8Encoding
        let output: UInt8Encoding?   // nil: float32 output
        let residual: UInt8Encoding??   // .none: no residual; .some(nil): float32; .some(e): uint8
        /// Epilogue scale per output channel: input scale x weight scale, in float32.
        let scales: [Float]

        init(
            weights: ConvolutionWeights, stride: Int, padding: Int, dilation: Int, relu: Bool, input: UInt8Encoding,
            output: UInt8Encoding?, residual: UInt8Encoding??
        ) {
            self.weights = weights
            (self.stride, self.padding, self.dilation, self.relu) = (stride, padding, dilation, relu)
            self.input = input
            self.output = output
            self.residual = residual
            scales = weights.int8!.scales.map { input.scale * $0 }
        }

        func epilogue(residual pointer: UnsafeRawPointer?) -> sm_int8_epilogue {
            var e = sm_int8_epilogue()
            e.relu = relu ? 1 : 0
            if case .some(let r) = residual, let pointer {
                e.residual = pointer
                if let r {
                    e.residual_type = Int32(SM_INT8_RESIDUAL_U8.rawValue)
                    e.residual_scale = r.scale
                    e.residual_zero_point = r.zeroPoint
                } else {
                    e.residual_type = Int32(SM_INT8_RESIDUAL_F32.rawValue)
                }
            }
            if let o = output {
                e.output_type = Int32(SM_INT8_OUTPUT_U8.rawValue)
                e.output_inv_scale = 1 / o.scale
                e.output_zero_point = o.zeroPoint
            }
            return e
        }
    }

    final class Int8Correlation {
        let channels: Int, searchHeight: Int, searchWidth: Int, kernelHeight: Int, kernelWidth: Int
        let search: UInt8Encoding
        let output: UInt8Encoding?
        var packed: AlignedBuffer?

        init(search: ActivationShape, kernel: ActivationShape, searchEncoding: UInt8Encoding, output: UInt8Encoding?) {
            (channels, searchHeight, searchWidth) = (search.channels, search.height, search.width)
            (kernelHeight, kernelWidth) = (kernel.height, kernel.width)
            self.search = searchEncoding
            self.output = output
        }

        func epilogue() -> sm_int8_epilogue {
            var e = sm_int8_epilogue()
            if let o = output {
                e.output_type = Int32(SM_INT8_OUTPUT_U8.rawValue)
                e.output_inv_scale = 1 / o.scale
                e.output_zero_point = o.zeroPoint
            }
            return e
        }
    }

    enum Kind {
        case float(Operation)
        case int8Conv(Int8Conv)
        case int8Correlation(Int8Correlation)
        case maxPoolU8(kernel: Int, stride: Int, padding: Int)
        case windowU8(top: Int, left: Int, pad: UInt8)
        case quantize(UInt8Encoding)
        case dequantize(UInt8Encoding)
    }

    struct Step {
        let kind: Kind
        let inputs: [Int]
        let output: Int
        /// The graph node this step computes; nil for inserted conversions.
        let node: Int?
        var isInt8: Bool {
            switch kind {
            case .int8Conv, .int8Correlation: return true
            default: return false
            }
        }
    }

    let values: [Value]
    let steps: [Step]
    /// Lowered values of the graph inputs (the graph's own value indices; float32 unless listed in `uint8Inputs`) and
    /// outputs (float32 unless listed in `uint8Outputs` and written in uint8 by their producer).
    let inputs: [Int]
    private(set) var outputs: [Int] = []

    func int8Nodes(of graph: Graph) -> [String] { steps.compactMap { $0.isInt8 ? graph.nodes[$0.node!].name : nil } }

    init(_ graph: Graph, int8 configuration: Int8Configuration?) throws {
        var values = graph.shapes.map { Value(shape: $0, encoding: nil) }
        for (name, v) in graph.inputs {
            if let e = configuration?.uint8Inputs[name] {
                values[v.index] = Value(shape: values[v.index].shape, encoding: e)
            }
        }
        var steps: [Step] = []
        inputs = graph.inputs.map(\.value.index)
        var consumers = [[(node: Int, slot: Int)]](repeating: [], count: graph.shapes.count)
        for (i, node) in graph.nodes.enumerated() {
            for (slot, v) in node.inputs.enumerated() { consumers[v.index].append((i, slot)) }
        }
        let graphOutputs = Set(graph.outputs.map(\.value.index))
        let uint8Outputs = Set(
            graph.outputs.filter { configuration?.uint8Outputs.contains($0.name) ?? false }.map(\.value.index))
        let encodings = configuration?.encodings ?? [:]
        let float32Nodes = configuration?.float32Nodes ?? []

        func encoding(of v: ValueID) -> UInt8Encoding? { encodings[graph.encodingSource(of: v)] }
        let runsInt8: [Bool] = graph.nodes.map { node in
            guard configuration != nil, !float32Nodes.contains(node.name) else { return false }
            switch node.operation {
            case .conv2d(let w, _, _, _, _): return w.int8 != nil && encoding(of: node.inputs[0]) != nil
            case .depthwiseCrossCorrelation: return encoding(of: node.inputs[0]) != nil
            default: return false
            }
        }
        func takesUInt8(_ node: Int, _ slot: Int) -> Bool {
            switch graph.nodes[node].operation {
            case .conv2d: return runsInt8[node]
            case .depthwiseCrossCorrelation: return runsInt8[node] && slot == 0
            case .maxPool2d, .window: return true
            default: return false
            }
        }

        func append(_ value: Value, _ kind: Kind, _ operands: [Int]) -> Int {
            values.append(value)
            steps.append(Step(kind: kind, inputs: operands, output: values.count - 1, node: nil))
            return values.count - 1
        }
        // Converted copies: (value, encoding or nil for float32) -> lowered value.
        var converted: [Int: [UInt8Encoding?: Int]] = [:]
        func materialize(_ v: Int, as wanted: UInt8Encoding?) -> Int {
            let have = values[v].encoding
            if have == wanted { return v }
            if let c = converted[v]?[wanted] { return c }
            var source = v
            if let have {   // to float32 first (requantising goes through float32)
                if let c = converted[v]?[nil] {
                    source = c
                } else {
                    source = append(Value(shape: values[v].shape, encoding: nil), .dequantize(have), [v])
                    converted[v, default: [:]][nil] = source
                }
            }
            if let wanted {
                let q = append(Value(shape: values[v].shape, encoding: wanted), .quantize(wanted), [source])
                converted[v, default: [:]][wanted] = q
                return q
            }
            return source
        }

        for (i, node) in graph.nodes.enumerated() {
            let out = node.output.index
            let int8Output: UInt8Encoding? = {
                // A graph output stays uint8 only where asked (a bound reader takes it in place); an unread value
                // has no reason to.
                let output = graphOutputs.contains(out)
                guard runsInt8[i], !output || uint8Outputs.contains(out), let e = encodings[node.name],
                    output || !consumers[out].isEmpty, consumers[out].allSatisfy({ takesUInt8($0.node, $0.slot) })
                else { return nil }
                return e
            }()
            switch node.operation {
            case .conv2d(let w, let stride, let padding, let dilation, let relu) where runsInt8[i]:
                let inputEncoding = encoding(of: node.inputs[0])!
                var operands = [materialize(node.inputs[0].index, as: inputEncoding)]
                var residual: UInt8Encoding?? = .none
                if node.inputs.count > 1 {
                    let r = node.inputs[1].index
                    operands.append(r)   // either representation: the epilogue reads float32 or uint8
                    residual = .some(values[r].encoding)
                }
                values[out] = Value(shape: values[out].shape, encoding: int8Output)
                let conv = Int8Conv(
                    weights: w, stride: stride, padding: padding, dilation: dilation, relu: relu,
                    input: inputEncoding, output: int8Output, residual: residual)
                steps.append(Step(kind: .int8Conv(conv), inputs: operands, output: out, node: i))
            case .depthwiseCrossCorrelation where runsInt8[i]:
                let searchEncoding = encoding(of: node.inputs[0])!
                let operands = [
                    materialize(node.inputs[0].index, as: searchEncoding), materialize(node.inputs[1].index, as: nil),
                ]
                values[out] = Value(shape: values[out].shape, encoding: int8Output)
                let x = Int8Correlation(
                    search: graph.shape(of: node.inputs[0]), kernel: graph.shape(of: node.inputs[1]),
                    searchEncoding: searchEncoding, output: int8Output)
                steps.append(Step(kind: .int8Correlation(x), inputs: operands, output: out, node: i))
            case .maxPool2d(let kernel, let stride, let padding) where values[node.inputs[0].index].encoding != nil:
                let x = node.inputs[0].index
                values[out] = Value(shape: values[out].shape, encoding: values[x].encoding)
                steps.append(
                    Step(
                        kind: .maxPoolU8(kernel: kernel, stride: stride, padding: padding), inputs: [x], output: out,
                        node: i))
            case .window(let top, let left, _, _) where values[node.inputs[0].index].encoding != nil:
                let x = node.inputs[0].index
                let e = values[x].encoding!
                values[out] = Value(shape: values[out].shape, encoding: e)
                steps.append(
                    Step(
                        kind: .windowU8(top: top, left: left, pad: UInt8(e.zeroPoint)), inputs: [x], output: out,
                        node: i))
            default:
                let operands = node.inputs.map { materialize($0.index, as: nil) }
                steps.append(Step(kind: .float(node.operation), inputs: operands, output: out, node: i))
            }
        }
        outputs = graph.outputs.map { o in
            let v = o.value.index
            return uint8Outputs.contains(v) && values[v].encoding != nil ? v : materialize(v, as: nil)
        }
        self.values = values
        self.steps = steps
    }
}

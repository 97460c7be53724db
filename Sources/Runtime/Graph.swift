import Tensors

/// A value in a graph: a planar CHW float32 activation (batch 1).
public struct ValueID: Hashable, Sendable, CustomStringConvertible {
    public let index: Int
    public var description: String { "%\(index)" }
}

/// Shape of an activation: channels x height x width.
public struct ActivationShape: Hashable, Sendable, CustomStringConvertible {
    public var channels: Int
    public var height: Int
    public var width: Int
    public init(_ channels: Int, _ height: Int, _ width: Int) {
        self.channels = channels
        self.height = height
        self.width = width
    }
    public var count: Int { channels * height * width }
    public var dims: [Int] { [1, channels, height, width] }
    public var description: String { "\(channels)x\(height)x\(width)" }
}

/// The operations the runtime executes. Weight-carrying operations hold their weights by reference so that
/// several graphs (e.g. refine at different positions) share one packed copy.
public enum Operation: Sendable {
    /// act(conv(x) + bias (+ residual, the node's second input)).
    case conv2d(ConvolutionWeights, stride: Int, padding: Int, dilation: Int, relu: Bool)
    /// Transposed convolution with stride == kernel and no padding.
    case convTranspose2d(TransposedConvolutionWeights)
    case maxPool2d(kernel: Int, stride: Int, padding: Int)
    /// Depth-wise valid cross-correlation of input 0 (search) with input 1 (kernel, one per channel).
    case depthwiseCrossCorrelation
    /// Nearest resize with floor mapping.
    case resizeNearest(height: Int, width: Int)
    /// out[c,y,x] = in[c, y+top, x+left], zero outside: padding and cropping in one.
    case window(top: Int, left: Int, height: Int, width: Int)
    case add(relu: Bool)
    case sigmoid
}

public struct Node: Sendable {
    public let name: String
    public let operation: Operation
    public let inputs: [ValueID]
    public let output: ValueID
}

/// A straight-line graph in execution order, with named inputs and outputs.
public struct Graph: Sendable {
    public internal(set) var nodes: [Node] = []
    public internal(set) var shapes: [ActivationShape] = []
    public internal(set) var inputs: [(name: String, value: ValueID)] = []
    public internal(set) var outputs: [(name: String, value: ValueID)] = []

    public func shape(of v: ValueID) -> ActivationShape { shapes[v.index] }

    /// The node (or graph input) whose uint8 encoding a value carries: its producer's name, looking through max-pool
    /// and window nodes, which keep their input's encoding (max commutes with an increasing affine map, and a window
    /// pads with the zero point, a real zero). Calibration tables are keyed by these names.
    public func encodingSource(of v: ValueID) -> String {
        if let node = nodes.first(where: { $0.output == v }) {
            switch node.operation {
            case .maxPool2d, .window: return encodingSource(of: node.inputs[0])
            default: return node.name
            }
        }
        return inputs.first { $0.value == v }?.name ?? v.description
    }

    /// Multiply-accumulates of the graph (convolutions, transposed convolutions and correlations).
    public var multiplyAccumulates: Int { nodes.reduce(0) { $0 + multiplyAccumulates(of: $1) } }

    /// Multiply-accumulates of one node, from the graph's shapes; 0 for data movement and element-wise nodes.
    public func multiplyAccumulates(of node: Node) -> Int {
        let out = shapes[node.output.index]
        switch node.operation {
        case .conv2d(let w, _, _, _, _): return out.count * w.inChannels * w.kernel * w.kernel
        case .convTranspose2d(let w): return out.count * w.inChannels
        case .depthwiseCrossCorrelation:
            let k = shapes[node.inputs[1].index]
            return out.count * k.height * k.width
        default: return 0
        }
    }
}

public enum GraphError: Error, Equatable, CustomStringConvertible {
    case shapeMismatch(node: String, detail: String)
    case missingInput(String)
    case unexpectedInput(String)
    case wrongInputShape(name: String, expected: [Int], actual: [Int])
    case wrongInputType(name: String, dtype: String)
    /// An input bound (or to be bound) to another executor's output, used wrongly.
    case badBinding(input: String, detail: String)
    /// Outputs read before any run.
    case notRun(String)

    public var description: String {
        switch self {
        case .shapeMismatch(let n, let d): return "\(n): \(d)"
        case .missingInput(let n): return "missing graph input '\(n)'"
        case .unexpectedInput(let n): return "the graph has no input named '\(n)'"
        case .wrongInputShape(let n, let e, let a): return "input '\(n)' has shape \(a), the graph needs \(e)"
        case .wrongInputType(let n, let d): return "input '\(n)' is \(d), the graph needs float32"
        case .badBinding(let n, let d): return "input '\(n)': \(d)"
        case .notRun(let what): return "\(what): the executor has not run yet"
        }
    }
}

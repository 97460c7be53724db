/// Builds a `Graph` node by node, inferring and checking every shape as it goes.
public struct GraphBuilder {
    private var graph = Graph()

    public init() {}

    public mutating func input(_ name: String, _ shape: ActivationShape) -> ValueID {
        let v = newValue(shape)
        graph.inputs.append((name, v))
        return v
    }

    public mutating func output(_ name: String, _ value: ValueID) {
        graph.outputs.append((name, value))
    }

    public func shape(of v: ValueID) -> ActivationShape { graph.shapes[v.index] }

    /// Convolution with fused bias, optional residual (added before the activation) and optional ReLU.
    public mutating func conv2d(
        _ name: String, _ x: ValueID, _ w: ConvolutionWeights, stride: Int = 1, padding: Int = 0,
        dilation: Int = 1, relu: Bool, residual: ValueID? = nil
    ) throws -> ValueID {
        let s = shape(of: x)
        guard s.channels == w.inChannels else {
            throw GraphError.shapeMismatch(
                node: name, detail: "input has \(s.channels) channels, weights expect \(w.inChannels)")
        }
        let span = dilation * (w.kernel - 1) + 1
        let h = (s.height + 2 * padding - span) / stride + 1
        let wd = (s.width + 2 * padding - span) / stride + 1
        guard s.height + 2 * padding >= span, s.width + 2 * padding >= span, h > 0, wd > 0 else {
            throw GraphError.shapeMismatch(
                node: name, detail: "input \(s) is smaller than the \(w.kernel)x\(w.kernel) kernel")
        }
        let out = ActivationShape(w.outChannels, h, wd)
        var inputs = [x]
        if let r = residual {
            guard shape(of: r) == out else {
                throw GraphError.shapeMismatch(
                    node: name, detail: "residual \(shape(of: r)) does not match output \(out)")
            }
            inputs.append(r)
        }
        return append(name, .conv2d(w, stride: stride, padding: padding, dilation: dilation, relu: relu), inputs, out)
    }

    public mutating func convTranspose2d(
        _ name: String, _ x: ValueID, _ w: TransposedConvolutionWeights
    ) throws -> ValueID {
        let s = shape(of: x)
        guard s.channels == w.inChannels else {
            throw GraphError.shapeMismatch(
                node: name, detail: "input has \(s.channels) channels, weights expect \(w.inChannels)")
        }
        return append(
            name, .convTranspose2d(w), [x], ActivationShape(w.outChannels, s.height * w.kernel, s.width * w.kernel))
    }

    public mutating func maxPool2d(
        _ name: String, _ x: ValueID, kernel: Int, stride: Int, padding: Int
    ) throws -> ValueID {
        let s = shape(of: x)
        let h = (s.height + 2 * padding - kernel) / stride + 1
        let w = (s.width + 2 * padding - kernel) / stride + 1
        guard h > 0, w > 0, padding * 2 <= kernel else {
            throw GraphError.shapeMismatch(node: name, detail: "pooling window does not fit \(s)")
        }
        return append(
            name, .maxPool2d(kernel: kernel, stride: stride, padding: padding), [x], ActivationShape(s.channels, h, w))
    }

    public mutating func depthwiseCrossCorrelation(_ name: String, search: ValueID, kernel: ValueID) throws -> ValueID {
        let s = shape(of: search), k = shape(of: kernel)
        guard s.channels == k.channels, k.height <= s.height, k.width <= s.width else {
            throw GraphError.shapeMismatch(node: name, detail: "search \(s) and kernel \(k) do not correlate")
        }
        return append(
            name, .depthwiseCrossCorrelation, [search, kernel],
            ActivationShape(s.channels, s.height - k.height + 1, s.width - k.width + 1))
    }

    public mutating func resizeNearest(_ name: String, _ x: ValueID, height: Int, width: Int) throws -> ValueID {
        guard height > 0, width > 0 else { throw GraphError.shapeMismatch(node: name, detail: "empty resize target") }
        let s = shape(of: x)
        return append(
            name, .resizeNearest(height: height, width: width), [x], ActivationShape(s.channels, height, width))
    }

    public mutating func window(
        _ name: String, _ x: ValueID, top: Int, left: Int, height: Int, width: Int
    ) throws -> ValueID {
        guard height > 0, width > 0 else { throw GraphError.shapeMismatch(node: name, detail: "empty window") }
        let s = shape(of: x)
        return append(
            name, .window(top: top, left: left, height: height, width: width), [x],
            ActivationShape(s.channels, height, width))
    }

    public mutating func add(_ name: String, _ a: ValueID, _ b: ValueID, relu: Bool = false) throws -> ValueID {
        guard shape(of: a) == shape(of: b) else {
            throw GraphError.shapeMismatch(node: name, detail: "cannot add \(shape(of: a)) and \(shape(of: b))")
        }
        return append(name, .add(relu: relu), [a, b], shape(of: a))
    }

    public mutating func sigmoid(_ name: String, _ x: ValueID) -> ValueID {
        append(name, .sigmoid, [x], shape(of: x))
    }

    public func build() -> Graph { graph }

    private mutating func newValue(_ shape: ActivationShape) -> ValueID {
        graph.shapes.append(shape)
        return ValueID(index: graph.shapes.count - 1)
    }

    private mutating func append(
        _ name: String, _ op: Operation, _ inputs: [ValueID], _ shape: ActivationShape
    ) -> ValueID {
        let out = newValue(shape)
        graph.nodes.append(Node(name: name, operation: op, inputs: inputs, output: out))
        return out
    }
}

import Runtime
import Tensors

/// The per-frame network of a tracker: the frame search graph (fed with precomputed template kernels) and the
/// frame refine graph, whose feature inputs (f0, f1, f2, xf; about 12 MB at full width) are bound to the search
/// executor's output buffers, so nothing is copied between the two. One frame is `search`, then `refine` at the
/// cell the caller picks from cls / loc (refine may run at several cells after one search). The mask branch's
/// correlation runs inside refine, at the cell only (see `SiamMaskNetwork.frameSearchGraph`).
public final class FrameNetwork {
    public let searchExecutor: Executor
    public let refineExecutor: Executor

    /// The refine graph's inputs, read in place from the search graph's outputs of the same names.
    public static let featureNames = ["f0", "f1", "f2", "xf"]
    /// The mask branch's template kernel of the last search, which refine correlates at its cell.
    private var maskKernel: Tensor?

    /// - Parameter int8: run a quantised model's per-frame graphs in int8 (default); false runs its dequantised
    ///   weights in float32. A float32 model always runs in float32.
    public init(network: SiamMaskNetwork, threads: Int = 1, int8: Bool = true) throws {
        var config = int8 ? network.int8Configuration : nil
        // One worker pool for the whole frame: the refine steps find the workers still spinning from the search.
        let pool = threads > 1 ? ThreadPool(threads: threads) : nil
        // In int8 the features cross in uint8, in place: the search writes them in uint8 (its next layers read them
        // so anyway) and the refine windows and convolutions read the same bytes, with no quantise step on either
        // side; bit-identical to crossing in float32 when both sides' tables give a feature the same encoding.
        config?.uint8Outputs = Set(Self.featureNames)
        searchExecutor = try Executor(graph: network.frameSearchGraph(), threads: threads, int8: config, pool: pool)
        for name in Self.featureNames { config?.uint8Inputs[name] = searchExecutor.outputEncoding(name) }
        config?.uint8Outputs = []
        refineExecutor = try Executor(
            graph: network.frameRefineGraph(row: 12, column: 12), threads: threads, int8: config,
            pool: pool)
        for name in Self.featureNames { try refineExecutor.bindInput(name, to: searchExecutor, output: name) }
    }

    /// Sees every graph input and node output of the search run, then of the refine run (float values).
    public var observer: ((String, ActivationShape, UnsafeBufferPointer<Float>) -> Void)? {
        get { searchExecutor.observer }
        set {
            searchExecutor.observer = newValue
            refineExecutor.observer = newValue
        }
    }

    /// Per-step wall times of both executors (see `Executor.profiling`).
    public var profiling: Bool {
        get { searchExecutor.profiling }
        set {
            searchExecutor.profiling = newValue
            refineExecutor.profiling = newValue
        }
    }

    /// Nodes of the per-frame graphs that run in int8, search first.
    public var int8Nodes: [String] { searchExecutor.int8Nodes + refineExecutor.int8Nodes }

    /// Runs the search graph on a 3 x 255 x 255 crop with the template's kernels (kernel_cls, kernel_loc,
    /// kernel_mask). Returns the classification (2A x 25 x 25) and box (4A x 25 x 25) maps; the features stay in
    /// the search executor for `refine` and `features`.
    public func search(crop: Tensor, kernels: [String: Tensor]) throws -> (cls: [Float], loc: [Float]) {
        let maskName = SiamMaskNetwork.kernelInputNames[2]
        maskKernel = nil
        // Checked before the search runs: refine needs it, and a missing kernel should cost nothing.
        guard let mask = kernels[maskName] else { throw GraphError.missingInput(maskName) }
        var feeds = kernels
        feeds["search"] = crop
        feeds[maskName] = nil
        try searchExecutor.evaluate(feeds)
        maskKernel = mask
        return (try searchExecutor.withOutput("cls") { Array($0) }, try searchExecutor.withOutput("loc") { Array($0) })
    }

    /// Runs the refine module at cell (row, column) of the score map on the last search's features. Returns the
    /// 127 x 127 mask logits.
    public func refine(row: Int, column: Int) throws -> [Float] {
        guard let maskKernel else { throw GraphError.notRun("the search of this frame") }
        try SiamMaskNetwork.moveRefine(refineExecutor, row: row, column: column)
        try refineExecutor.evaluate([SiamMaskNetwork.kernelInputNames[2]: maskKernel])
        return try refineExecutor.withOutput("mask") { Array($0) }
    }

    /// One whole frame with the refine cell fixed in advance (benchmarks; a tracker picks the cell from cls / loc).
    public func run(
        crop: Tensor, kernels: [String: Tensor], row: Int, column: Int
    ) throws -> (cls: [Float], loc: [Float], mask: [Float]) {
        let (cls, loc) = try search(crop: crop, kernels: kernels)
        return (cls, loc, try refine(row: row, column: column))
    }

    /// Copies of the last search's feature outputs (f0, f1, f2, xf), for callers that keep them.
    public func features() throws -> [String: Tensor] {
        var result: [String: Tensor] = [:]
        for (name, v) in searchExecutor.graph.outputs where Self.featureNames.contains(name) {
            result[name] = try searchExecutor.withOutput(name) {
                Tensor(shape: searchExecutor.graph.shape(of: v).dims, floats: Array($0))
            }
        }
        return result
    }
}

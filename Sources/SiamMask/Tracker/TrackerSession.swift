import Foundation
import Imaging
import Runtime
import SiamMaskLayout
import Tensors

/// How a target is given on the first frame.
public enum TrackerInitialization: Sendable {
    /// x, y, w, h (0-based, top-left corner): pos = (x + w/2, y + h/2).
    case box(x: Double, y: Double, width: Double, height: Double)
    /// A VOT polygon x1,y1,...,x4,y4: the official polygon-to-box rule.
    case polygon([Double])
    /// A first-frame object mask (nonzero = object): its bounding rectangle, as the DAVIS protocol does.
    case mask([UInt8], width: Int, height: Int)
}

public enum TrackerError: Error, Equatable, CustomStringConvertible {
    case invalidTarget(String)
    case frameSizeChanged(expected: String, actual: String)
    case notAColourFrame
    case unknownPreset(String, available: [String])
    case notStarted
    case invalidThreadCount(Int)

    public var description: String {
        switch self {
        case .invalidTarget(let why): return "invalid initial target: \(why)"
        case .frameSizeChanged(let e, let a): return "frame size changed from \(e) to \(a)"
        case .notAColourFrame: return "frames must be 3-channel BGR"
        case .unknownPreset(let p, let a): return "unknown preset '\(p)' (the model has \(a.joined(separator: ", ")))"
        case .notStarted: return "the tracker has not been started on a first frame"
        case .invalidThreadCount(let n):
            return "the thread count must be between 1 and \(SiamMaskTracker.maximumThreads), not \(n)"
        }
    }
}

/// One frame's result.
public struct TrackResult: Sendable {
    /// Target centre and size after the frame (clamped to the image as the official tracker does).
    public var center: (x: Double, y: Double)
    public var size: (width: Double, height: Double)
    /// Axis-aligned box from the clamped centre and size: x, y, w, h.
    public var box: (x: Double, y: Double, width: Double, height: Double) {
        (center.x - size.width / 2, center.y - size.height / 2, size.width, size.height)
    }
    /// Rotated box: 4 corners (minimum-area rectangle of the largest mask contour, or the unclamped axis-aligned
    /// box when the mask is too small).
    public var polygon: [(x: Double, y: Double)]
    /// Raw foreground probability of the chosen anchor (not the penalised score).
    public var score: Float
    /// Flat anchor index a*625 + row*25 + col.
    public var best: Int
    /// Best and second-best penalised, windowed scores (near-ties explain disagreements between implementations).
    public var bestPScore: Double
    public var secondPScore: Double
    /// H x W probability map (-1 outside the back-projected window) and the binary mask (> seg_thr).
    public var probability: [Float]
    public var mask: [UInt8]
    /// Seconds spent per stage: crop, network, post-processing.
    public var timings: (crop: Double, network: Double, post: Double)
    /// The target is lost: set by a frame whose `score` is below the session's `lostScoreThreshold` (or whose
    /// prediction was not finite; the state was then kept), cleared by a frame whose score is above its
    /// `foundScoreThreshold` (pysot's long-term rule, see `TrackerSession.defaultLostScoreThreshold`). The official
    /// tracker has no such rule and goes on from its best guess either way; so does this one (the state stays finite
    /// and inside the image, spec 5.6): the flag only tells the caller.
    public var isTargetLost: Bool
}

/// A SiamMask tracking session for one target: the official `siamese_init` / `siamese_track` loop (spec §5) over
/// the Swift runtime. Template-side correlation kernels run once here; the refine module runs at the chosen cell only,
/// and the 3969-channel mask head is never computed.
public final class TrackerSession {
    public let network: SiamMaskNetwork
    public let parameters: TrackerHyperParameters
    public let threads: Int

    /// Search and refine, the refine reading the search features in place.
    private let frameNetwork: FrameNetwork
    private let templateExecutor: Executor
    private let anchors: [(x: Float, y: Float, w: Float, h: Float)]
    private let window: [Double]
    private var kernels: [String: Tensor] = [:]
    private var avgChans: [Double] = []
    private var frameSize: (width: Int, height: Int) = (0, 0)
    public private(set) var center: (x: Double, y: Double) = (0, 0)
    public private(set) var size: (width: Double, height: Double) = (0, 0)

    /// The lost rule of `TrackResult.isTargetLost`, on the chosen anchor's raw foreground probability (`score`):
    /// the long-term rule of pysot's SiamRPNLTTracker (the SiamMask authors' toolkit; `TRACK.CONFIDENCE_LOW` 0.85,
    /// `TRACK.CONFIDENCE_HIGH` 0.998), with hysteresis: lost below 0.85, found again only above 0.998. Measured on
    /// the trained test model (README, "Soak and hostile frames"): tracked frames score 0.95-1.0, black and white
    /// frames about 0.005, a target gone from the frame 0.5-0.86 on background clutter, noise frames 0.8-0.9.
    public static let defaultLostScoreThreshold: Float = 0.85
    public static let defaultFoundScoreThreshold: Float = 0.998
    /// A frame scoring below this loses the target.
    public var lostScoreThreshold: Float = TrackerSession.defaultLostScoreThreshold
    /// A frame scoring above this finds a lost target again.
    public var foundScoreThreshold: Float = TrackerSession.defaultFoundScoreThreshold
    /// The last frame's `TrackResult.isTargetLost` (false after `initialize`).
    public private(set) var isTargetLost = false

    /// The largest target side accepted at initialisation, in frame sides: the crop square grows with the target,
    /// and a box many times the frame would ask for a crop of gigabytes. (Each frame clamps the size to the frame.)
    public static let maximumInitialTargetScale = 4.0

    static let scoreSize = SiamMaskNetwork.scoreSize
    static let anchorCount = SiamMaskWidths.anchorCount

    /// - Parameter int8: run the search and refine graphs of a quantised model in int8 (default); false runs the
    ///   model's dequantised weights in float32.
    public init(
        network: SiamMaskNetwork, parameters: TrackerHyperParameters, threads: Int = 1, int8: Bool = true
    ) throws {
        self.network = network
        self.parameters = parameters
        self.threads = threads
        templateExecutor = try Executor(graph: network.templateKernelsGraph(), threads: threads)
        frameNetwork = try FrameNetwork(network: network, threads: threads, int8: int8)
        anchors = TrackerGeometry.anchorGrid(network.model.anchors, scoreSize: Self.scoreSize)
        window = TrackerGeometry.cosineWindow(
            scoreSize: Self.scoreSize, anchors: anchors.count / (Self.scoreSize * Self.scoreSize))
    }

    /// Convenience: a session with a named preset of the model file ("vot", "davis"; nil or "auto": the model's
    /// default, see `TrackerPreset`).
    public convenience init(network: SiamMaskNetwork, preset: String? = nil, threads: Int = 1, int8: Bool = true) throws
    {
        let resolved = try TrackerPreset(preset ?? "auto").resolved(for: network.model)
        try self.init(network: network, parameters: resolved.parameters, threads: threads, int8: int8)
    }

    /// Sees every graph input and node output of the per-frame graphs (search, then refine), with float values:
    /// the hook of calibration and drift.
    public func setObserver(_ observer: ((String, ActivationShape, UnsafeBufferPointer<Float>) -> Void)?) {
        frameNetwork.observer = observer
    }

    /// Nodes of the per-frame graphs that run in int8.
    public var int8Nodes: [String] { frameNetwork.int8Nodes }

    /// The template-side correlation kernels of the current target (inputs of the search graph).
    public var templateKernels: [String: Tensor] { kernels }
    /// The current target's template features zf (the `search` graph's other input).
    public private(set) var templateFeatures: Tensor?

    /// The last frame's search crop (3 x 255 x 255, float32) and refine cell, for probing other networks on the
    /// same inputs.
    public private(set) var lastSearchCrop: Tensor?
    public private(set) var lastRefineCell: (row: Int, column: Int)?

    /// `siamese_init`: average colour, exemplar crop of side round(sqrt((w+p)(h+p))), template kernels.
    public func initialize(frame: Image, target: TrackerInitialization) throws {
        guard frame.channels == 3 else { throw TrackerError.notAColourFrame }
        var cx: Double, cy: Double, w: Double, h: Double
        switch target {
        case .box(let x, let y, let bw, let bh):
            (cx, cy, w, h) = (x + bw / 2, y + bh / 2, bw, bh)
        case .polygon(let v):
            guard v.count == 8, v.allSatisfy(\.isFinite) else {
                throw TrackerError.invalidTarget("a VOT polygon has 8 finite values")
            }
            (cx, cy, w, h) = TrackerGeometry.votPolygonToBox(v)
        case .mask(let m, let mw, let mh):
            guard mw == frame.width, mh == frame.height, m.count == mw * mh else {
                throw TrackerError.invalidTarget("the mask is \(mw)x\(mh), the frame \(frame.width)x\(frame.height)")
            }
            guard let r = TrackerGeometry.boundingRect(of: m, width: mw, height: mh) else {
                throw TrackerError.invalidTarget("the mask is empty")
            }
            (cx, cy, w, h) = (Double(r.x) + Double(r.w) / 2, Double(r.y) + Double(r.h) / 2, Double(r.w), Double(r.h))
        }
        guard w.isFinite, h.isFinite, w > 0, h > 0 else {
            throw TrackerError.invalidTarget("size \(w)x\(h) must be positive")
        }
        let k = Self.maximumInitialTargetScale
        guard w <= k * Double(frame.width), h <= k * Double(frame.height) else {
            throw TrackerError.invalidTarget(
                "size \(w)x\(h) exceeds \(Int(k)) times the \(frame.width)x\(frame.height) frame")
        }
        guard cx.isFinite, cy.isFinite, cx >= 0, cy >= 0, cx <= Double(frame.width), cy <= Double(frame.height) else {
            throw TrackerError.invalidTarget(
                "centre (\(cx), \(cy)) lies outside the \(frame.width)x\(frame.height) frame")
        }
        frameSize = (frame.width, frame.height)
        isTargetLost = false
        center = (cx, cy)
        size = (w, h)
        avgChans = TrackerGeometry.averageColour(frame)
        let context = parameters.contextAmount * (w + h)
        let sz = Int(((w + context) * (h + context)).squareRoot().rounded(.toNearestOrEven))
        let z = SubwindowCrop.crop(
            frame, center: center, modelSize: parameters.exemplarSize, originalSize: max(sz, 1),
            averageColour: avgChans)
        kernels = try templateExecutor.run(["template": z])
        templateFeatures = kernels.removeValue(forKey: "zf")
    }

    /// Replaces the target state (centre and size, image pixels) before the next frame. Used to replay another
    /// implementation's states, so each frame can be compared on equal inputs. The state is clamped to the frame
    /// as after every frame (spec 5.6); a non-finite value leaves that coordinate as it was.
    public func setState(center: (x: Double, y: Double), size: (width: Double, height: Double)) {
        let (W, H) = (Double(frameSize.width), Double(frameSize.height))
        func clamp(_ v: Double, _ old: Double, _ lo: Double, _ hi: Double) -> Double {
            v.isFinite ? max(lo, min(hi, v)) : old
        }
        guard frameSize.width > 0 else {   // not started: nothing to clamp against (initialize replaces it anyway)
            if center.x.isFinite, center.y.isFinite, size.width.isFinite, size.height.isFinite {
                (self.center, self.size) = (center, size)
            }
            return
        }
        self.center = (clamp(center.x, self.center.x, 0, W), clamp(center.y, self.center.y, 0, H))
        self.size = (
            clamp(size.width, self.size.width, 10, max(10, W)), clamp(size.height, self.size.height, 10, max(10, H))
        )
    }

    /// `siamese_track` with the mask and refine branches on.
    public func track(_ frame: Image) throws -> TrackResult {
        guard frameSize.width > 0 else { throw TrackerError.notStarted }
        guard frame.channels == 3 else { throw TrackerError.notAColourFrame }
        guard frame.width == frameSize.width, frame.height == frameSize.height else {
            throw TrackerError.frameSizeChanged(
                expected: "\(frameSize.width)x\(frameSize.height)", actual: "\(frame.width)x\(frame.height)")
        }
        let p = parameters
        let t0 = Date()
        let (tw, th) = size
        let wcX = th + p.contextAmount * (tw + th), hcX = tw + p.contextAmount * (tw + th)
        let sX0 = (wcX * hcX).squareRoot()
        let scaleX = Double(p.exemplarSize) / sX0
        let pad = (Double(p.instanceSize - p.exemplarSize) / 2) / scaleX
        let sX = sX0 + 2 * pad
        let side = sX.rounded(.toNearestOrEven)
        let cropBox = (x: center.x - side / 2, y: center.y - side / 2, side: side)
        let x = SubwindowCrop.crop(
            frame, center: center, modelSize: p.instanceSize, originalSize: max(Int(side), 1),
            averageColour: avgChans)
        let t1 = Date()
        lastSearchCrop = x
        let (cls, loc) = try frameNetwork.search(crop: x, kernels: kernels)
        let t2 = Date()

        // Scores and boxes, in float32 as the official numpy code holds the network outputs.
        let cells = Self.scoreSize * Self.scoreSize, count = anchors.count
        var fg = [Float](repeating: 0, count: count)
        var boxes = [(Float, Float, Float, Float)](repeating: (0, 0, 0, 0), count: count)
        let na = count / cells
        for a in 0..<na {
            for c in 0..<cells {
                let n = a * cells + c
                let bg = cls[a * cells + c], f = cls[(na + a) * cells + c]
                let m = max(bg, f)
                let e0 = expf(bg - m), e1 = expf(f - m)
                fg[n] = e1 * (1 / (e0 + e1))
                let an = anchors[n]
                let dx = loc[(0 * na + a) * cells + c], dy = loc[(1 * na + a) * cells + c]
                let dw = loc[(2 * na + a) * cells + c], dh = loc[(3 * na + a) * cells + c]
                boxes[n] = (dx * an.w + an.x, dy * an.h + an.y, expf(dw) * an.w, expf(dh) * an.h)
            }
        }
        // Penalties: numpy keeps float32 arrays when combined with float64 scalars.
        let tcW = tw * scaleX, tcH = th * scaleX
        let padC = (tcW + tcH) * 0.5
        let szTarget = Float(((tcW + padC) * (tcH + padC)).squareRoot())
        let ratioTarget = Float(tcW / tcH)
        let penaltyK = Float(p.penaltyK)
        var penalty = [Float](repeating: 0, count: count)
        var best = 0
        var bestScore = -Double.infinity, secondScore = -Double.infinity
        let wi = p.windowInfluence
        for n in 0..<count {
            let (_, _, bw, bh) = boxes[n]
            let padB = (bw + bh) * 0.5
            let sc = ((bw + padB) * (bh + padB)).squareRoot() / szTarget
            let sC = max(sc, 1 / sc)
            let rc = ratioTarget / (bw / bh)
            let rC = max(rc, 1 / rc)
            penalty[n] = expf(-(rC * sC - 1) * penaltyK)
            let ps = penalty[n] * fg[n]
            // float32 pscore * (1 - wi) stays float32; adding the float64 window makes it float64.
            let pscore = Double(ps * Float(1 - wi)) + window[n] * wi
            if pscore > bestScore {
                secondScore = bestScore
                bestScore = pscore
                best = n
            } else if pscore > secondScore {
                secondScore = pscore
            }
        }
        let (bx, by, bw, bh) = boxes[best]
        let scaleF = Float(scaleX)
        let pred = (bx / scaleF, by / scaleF, bw / scaleF, bh / scaleF)
        let lr = Double(penalty[best] * fg[best]) * p.learningRate
        var newCenter = (x: Double(pred.0) + center.x, y: Double(pred.1) + center.y)
        var newSize = (width: tw * (1 - lr) + Double(pred.2) * lr, height: th * (1 - lr) + Double(pred.3) * lr)
        // A non-finite prediction (only from non-finite network outputs: a corrupt model) keeps the previous state
        // instead of reaching the clamps below, which would turn NaN into an arbitrary edge of the frame.
        let finite = [newCenter.x, newCenter.y, newSize.width, newSize.height, bestScore].allSatisfy(\.isFinite)
        if !finite {
            newCenter = center
            newSize = size
            // No candidate had a finite penalised score: report 0 (the least a finite pscore can be) in the result.
            if !bestScore.isFinite { bestScore = 0 }
        }
        if !secondScore.isFinite { secondScore = 0 }

        // Refine at the chosen cell, sigmoid, back-projection into the frame.
        let row = (best % cells) / Self.scoreSize, col = best % Self.scoreSize
        lastRefineCell = (row, col)
        let logits = try frameNetwork.refine(row: row, column: col)
        let t3 = Date()
        let mask127 = logits.map { 1 / (1 + expf(-$0)) }
        let (W, H) = (frameSize.width, frameSize.height)
        let s = cropBox.side / Double(p.instanceSize)
        let half = Double(p.baseSize) / 2, stride = Double(network.model.anchors.stride)
        let sub = (
            x: cropBox.x + (Double(col) - half) * stride * s, y: cropBox.y + (Double(row) - half) * stride * s,
            w: s * Double(p.exemplarSize), h: s * Double(p.exemplarSize)
        )
        let s2 = Double(p.outSize) / sub.w
        let back = (x: -sub.x * s2, y: -sub.y * s2, w: Double(W) * s2, h: Double(H) * s2)
        // crop_back(mask, back_box, (W, H)): a = (W - 1) / back.w, b = (H - 1) / back.h.
        let a = Double(W - 1) / back.w, b = Double(H - 1) / back.h
        let matrix = [a, 0, -a * back.x, 0, b, -b * back.y]
        let probability = ImageKernels.warpAffine(
            mask127, width: p.outSize, height: p.outSize, matrix: matrix,
            outputWidth: W, outputHeight: H, borderValue: -1)
        let threshold = Float(p.segmentationThreshold)
        let binary = probability.map { $0 > threshold ? UInt8(1) : 0 }
        let contours = ImageKernels.findExternalContours(binary, width: W, height: H)
        let areas = contours.map { ImageKernels.contourArea($0) }
        var polygon: [(x: Double, y: Double)]
        if let maxArea = areas.max(), maxArea > 100 {
            let contour = contours[areas.firstIndex(of: maxArea)!]
            polygon = ImageKernels.boxPoints(ImageKernels.minAreaRect(contour)).map { (Double($0.x), Double($0.y)) }
        } else {
            let x0 = newCenter.x - newSize.width / 2, y0 = newCenter.y - newSize.height / 2
            polygon = [
                (x0, y0), (x0 + newSize.width, y0), (x0 + newSize.width, y0 + newSize.height),
                (x0, y0 + newSize.height),
            ]
        }
        // Clamping comes after the polygon (spec pitfall 18).
        newCenter.x = max(0, min(Double(W), newCenter.x))
        newCenter.y = max(0, min(Double(H), newCenter.y))
        newSize.width = max(10, min(Double(W), newSize.width))
        newSize.height = max(10, min(Double(H), newSize.height))
        center = newCenter
        size = newSize
        let t4 = Date()
        if !finite || !(fg[best] >= lostScoreThreshold) {
            isTargetLost = true
        } else if fg[best] > foundScoreThreshold {
            isTargetLost = false
        }
        return TrackResult(
            center: center, size: size, polygon: polygon, score: fg[best], best: best,
            bestPScore: bestScore, secondPScore: secondScore, probability: probability, mask: binary,
            timings: (
                t1.timeIntervalSince(t0), t2.timeIntervalSince(t1) + t3.timeIntervalSince(t2),
                t4.timeIntervalSince(t3)
            ), isTargetLost: isTargetLost)
    }
}

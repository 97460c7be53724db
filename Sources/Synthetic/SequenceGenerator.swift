import Imaging

/// How a sequence is laid out on disk.
public enum SequenceLayout: String, CaseIterable, Sendable {
    /// DIR/00000.jpg..., DIR/masks/00000.png..., DIR/groundtruth.txt, DIR/meta.json.
    case flat
    /// DIR/JPEGImages/480p/SEQ/00000.jpg..., DIR/Annotations/480p/SEQ/00000.png..., DIR/sequences.txt, and
    /// DIR/Synthetic/SEQ/{groundtruth.txt, meta.json}.
    case davis
}

/// Options of one synthetic sequence.
public struct SynthOptions: Sendable, Equatable {
    public var seed: UInt64
    public var frames: Int
    public var width: Int
    public var height: Int
    public var difficulty: Difficulty
    /// Frame images as JPEG (quality `jpegQuality`, 4:2:0) or PNG. Masks are always PNG.
    public var frameFormat: ImageFileFormat
    public var jpegQuality: Int
    public var layout: SequenceLayout
    /// The sequence name in the DAVIS layout (default "synth-SEED-DIFFICULTY").
    public var sequenceName: String?
    /// Frames are rendered and written on this many threads; the output does not depend on it.
    public var threads: Int

    public init(
        seed: UInt64, frames: Int, width: Int = 854, height: Int = 480, difficulty: Difficulty = .medium,
        frameFormat: ImageFileFormat = .jpeg, jpegQuality: Int = 90, layout: SequenceLayout = .flat,
        sequenceName: String? = nil, threads: Int = 2
    ) {
        self.seed = seed
        self.frames = frames
        self.width = width
        self.height = height
        self.difficulty = difficulty
        self.frameFormat = frameFormat
        self.jpegQuality = jpegQuality
        self.layout = layout
        self.sequenceName = sequenceName
        self.threads = threads
    }

    public var resolvedSequenceName: String { sequenceName ?? "synth-\(seed)-\(difficulty.rawValue)" }

    /// Largest frame count and side accepted.
    public static let maxFrames = 100_000
    public static let maxSide = 8192

    /// Throws `SynthError.invalidOption` with one line naming the bad option.
    public func validate() throws {
        guard frames >= 1 else { throw SynthError.invalidOption("--frames must be at least 1 (got \(frames))") }
        guard frames <= Self.maxFrames else {
            throw SynthError.invalidOption("--frames must be at most \(Self.maxFrames) (got \(frames))")
        }
        guard width >= 16, height >= 16 else {
            throw SynthError.invalidOption("--width and --height must be at least 16 (got \(width)x\(height))")
        }
        guard width <= Self.maxSide, height <= Self.maxSide else {
            throw SynthError.invalidOption(
                "--width and --height must be at most \(Self.maxSide) (got \(width)x\(height))")
        }
        guard (1...100).contains(jpegQuality) else {
            throw SynthError.invalidOption("--quality must be in 1...100 (got \(jpegQuality))")
        }
        guard (1...64).contains(threads) else {
            throw SynthError.invalidOption("--threads must be in 1...64 (got \(threads))")
        }
        let name = resolvedSequenceName
        guard !name.isEmpty, name != ".", name != "..", !name.hasPrefix("."),
            name.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" || $0 == ".") })
        else {
            throw SynthError.invalidOption(
                "--name must be letters, digits, '-', '_' or '.', not starting with '.' (got \"\(name)\")")
        }
    }
}

/// Failures of the generator, one line each.
public enum SynthError: Error, Equatable, Sendable, CustomStringConvertible {
    case invalidOption(String)
    case outputExists(path: String)
    case cannotCreate(path: String, reason: String)
    case cannotWrite(path: String, reason: String)

    public var description: String {
        switch self {
        case let .invalidOption(message): return "invalid option: \(message)"
        case let .outputExists(path):
            return "\(path) already exists (and is not an empty folder); choose another --out or --name, or remove it"
        case let .cannotCreate(path, reason): return "cannot create \(path): \(reason)"
        case let .cannotWrite(path, reason): return "cannot write \(path): \(reason)"
        }
    }
}

/// One rendered frame: the picture, the target's mask (0 / 255, after occlusion) and the mask's rectangle.
public struct SyntheticFrame: Sendable {
    public var image: Image
    public var mask: Image
    /// The minimum-area rectangle around the mask's pixel centres; nil when the target is not visible at all.
    public var rectangle: RotatedRectangle?
    /// Number of mask pixels.
    public var area: Int
}

/// Deterministic synthetic tracking sequences: the same options give the same pixels on every run, thread count
/// and platform (own PRNG, own trigonometry, no libm, integer pixel effects).
public final class SequenceGenerator: Sendable {
    /// Bumped whenever the output for a given seed changes; written to meta.json.
    public static let version = 1

    public let options: SynthOptions
    let scene: Scene

    public init(options: SynthOptions) throws {
        try options.validate()
        self.options = options
        scene = Scene(
            seed: options.seed, difficulty: options.difficulty, width: options.width, height: options.height,
            frames: options.frames)
    }

    public var width: Int { options.width }
    public var height: Int { options.height }
    public var frameCount: Int { options.frames }

    /// Descriptions of the scene, for meta.json.
    public var targetShape: ShapeKind { scene.objects[scene.targetIndex].shapeKind }
    public var targetTexture: TextureKind { scene.objects[scene.targetIndex].textureSpec.kind }
    public var distractorCount: Int { scene.objects.filter { $0.role == .distractor }.count }
    public var occluderCount: Int { scene.objects.filter { $0.role == .occluder }.count }
    public var hasBlur: Bool { scene.hasBlur }
    /// The target's pose in `frame`.
    public func targetPose(_ frame: Int) -> Pose { scene.objects[scene.targetIndex].poses[frame] }

    /// Pixels the target covers in `frame` before occlusion (clipped to the frame); the mask area is at most this.
    public func targetCoverage(frame: Int) -> Int {
        let object = scene.objects[scene.targetIndex]
        var pixels = [UInt8](repeating: 0, count: width * height * 3)
        return pixels.withUnsafeMutableBufferPointer { p in
            Raster.fill(
                Canvas(pixels: p.baseAddress!, width: width, height: height), shape: object.shape,
                pose: object.poses[frame], texture: Texture.flat(0, 0, 0))
        }
    }

    /// Renders `frame`. With `effects` false, illumination change and blur are skipped; with `targetKey`, the
    /// target is drawn in that flat colour (B, G, R) instead of its texture (a debug pass for checking masks).
    public func render(frame: Int, effects: Bool = true, targetKey: (UInt8, UInt8, UInt8)? = nil) -> SyntheticFrame {
        precondition((0..<options.frames).contains(frame), "frame \(frame) out of range")
        var image = Image(width: width, height: height, format: .bgr)
        var mask = Image(width: width, height: height, format: .grey)
        var scratch: [UInt8] = []
        let area = image.pixels.withUnsafeMutableBufferPointer { px in
            mask.pixels.withUnsafeMutableBufferPointer { mk in
                draw(
                    frame: frame, pixels: px.baseAddress!, mask: mk.baseAddress!, effects: effects,
                    targetKey: targetKey,
                    scratch: &scratch)
            }
        }
        let rectangle = area == 0 ? nil : MinAreaRect.of(mask: mask)
        return SyntheticFrame(image: image, mask: mask, rectangle: rectangle, area: area)
    }

    /// Draws a frame into caller buffers (BGR `width * height * 3`, mask `width * height`); returns the mask area.
    func draw(
        frame t: Int, pixels: UnsafeMutablePointer<UInt8>, mask: UnsafeMutablePointer<UInt8>, effects: Bool,
        targetKey: (UInt8, UInt8, UInt8)?, scratch: inout [UInt8]
    ) -> Int {
        let w = width, h = height
        // Background window.
        let (ox, oy) = scene.pan[t]
        scene.background.withUnsafeBufferPointer { bg in
            for y in 0..<h {
                (pixels + y * w * 3).update(
                    from: bg.baseAddress! + ((y + oy) * scene.backgroundWidth + ox) * 3, count: w * 3)
            }
        }
        mask.update(repeating: 0, count: w * h)
        let canvas = Canvas(pixels: pixels, width: w, height: h)
        for (index, object) in scene.objects.enumerated() {
            let pose = object.poses[t]
            switch object.role {
            case .distractor:
                Raster.fill(canvas, shape: object.shape, pose: pose, texture: object.texture)
            case .target:
                Raster.fill(
                    canvas, shape: object.shape, pose: pose, texture: object.texture,
                    key: index == scene.targetIndex ? targetKey : nil, mask: mask, maskValue: 255)
            case .occluder:
                Raster.fill(canvas, shape: object.shape, pose: pose, texture: object.texture, mask: mask, maskValue: 0)
            }
        }
        if effects {
            Effects.illuminate(
                pixels, width: w, height: h, gain: scene.gain[t], tint: scene.tint[t], gradient: scene.gradient[t])
            if scene.blur[t] > 0 {
                Effects.boxBlur(pixels, width: w, height: h, radius: scene.blur[t], scratch: &scratch)
            }
        }
        var area = 0
        for k in 0..<(w * h) { area &+= Int(mask[k] & 1) }   // mask bytes are 0 or 255
        return area
    }
}

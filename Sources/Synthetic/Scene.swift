/// Difficulty tiers: how fast and how much things change, and how much there is to confuse a tracker.
public enum Difficulty: String, CaseIterable, Sendable {
    case easy
    case medium
    case hard
}

struct Tier {
    var targetSize: ClosedRange<Double>   // half-size as a fraction of min(width, height)
    var speed: Double   // typical target speed, pixels a frame at 854 wide
    var scaleAmplitude: Double
    var aspectAmplitude: Double
    var rotationAmplitude: Double   // radians
    var spin: Double   // max steady rotation, radians a frame
    var outsideFraction: Double   // how far the target centre may approach the border (fraction of its half-size)
    var clutter: Int   // static background shapes
    var clutterFromTargetFamily: Double
    var distractors: ClosedRange<Int>
    var similarDistractor: Double   // chance a distractor keeps the target's palette
    var occludersPer100Frames: ClosedRange<Int>
    var illumination: Double
    var blurChance: Double
    var pan: Double   // background pan amplitude, fraction of min(width, height)
    var shake: Double   // per-frame jitter, pixels

    static func of(_ d: Difficulty) -> Tier {
        switch d {
        case .easy:
            return Tier(
                targetSize: 0.09...0.16, speed: 1.5, scaleAmplitude: 0.08, aspectAmplitude: 0.05,
                rotationAmplitude: 0.12, spin: 0, outsideFraction: 1.1, clutter: 6, clutterFromTargetFamily: 0,
                distractors: 0...1, similarDistractor: 0, occludersPer100Frames: 0...0, illumination: 0.05,
                blurChance: 0, pan: 0.02, shake: 0)
        case .medium:
            return Tier(
                targetSize: 0.07...0.14, speed: 4, scaleAmplitude: 0.22, aspectAmplitude: 0.15,
                rotationAmplitude: 0.5, spin: 0.01, outsideFraction: 0.9, clutter: 16, clutterFromTargetFamily: 0.15,
                distractors: 1...3, similarDistractor: 0.3, occludersPer100Frames: 0...2, illumination: 0.15,
                blurChance: 0.3, pan: 0.06, shake: 0.4)
        case .hard:
            return Tier(
                targetSize: 0.05...0.12, speed: 8, scaleAmplitude: 0.4, aspectAmplitude: 0.3,
                rotationAmplitude: 1.0, spin: 0.04, outsideFraction: 0.6, clutter: 32, clutterFromTargetFamily: 0.3,
                distractors: 3...5, similarDistractor: 0.6, occludersPer100Frames: 1...3, illumination: 0.3,
                blurChance: 0.6, pan: 0.12, shake: 1.2)
        }
    }
}

/// A sum of sines: smooth, bounded, cheap to evaluate for any frame.
struct Wave: Sendable {
    var terms: [(amplitude: Double, frequency: Double, phase: Double)]

    /// `count` terms whose amplitudes add up to `amplitude` and whose peak speeds add up to about `speed`.
    static func random(_ rng: inout SynthRandom, count: Int, amplitude: Double, speed: Double) -> Wave {
        var weights = (0..<count).map { _ in rng.uniform(0.3, 1) }
        let total = weights.reduce(0, +)
        weights = weights.map { $0 / total }
        let terms = weights.map { w -> (Double, Double, Double) in
            let a = amplitude * w
            let f = amplitude > 0 ? speed * rng.uniform(0.6, 1.4) / amplitude : 0
            return (a, f, rng.uniform(0, DMath.twoPi))
        }
        return Wave(terms: terms)
    }

    func callAsFunction(_ t: Double) -> Double {
        var v = 0.0
        for term in terms { v += term.amplitude * DMath.sin(term.frequency * t + term.phase) }
        return v
    }
}

enum Role: Sendable {
    case target, distractor, occluder
}

/// One drawn object: outline, texture, and its pose in every frame.
struct SceneObject: Sendable {
    var role: Role
    var shapeKind: ShapeKind
    var shape: [Point]
    var textureSpec: TextureSpec
    var texture: Texture
    var poses: [Pose]
}

/// Everything about a sequence that does not depend on the frame being rendered.
struct Scene: Sendable {
    let width: Int
    let height: Int
    let frames: Int
    /// Static background, larger than a frame by `2 * panMargin` each way.
    let background: [UInt8]
    let backgroundWidth: Int
    let backgroundHeight: Int
    let panMargin: Int
    /// Background window origin per frame.
    let pan: [(x: Int, y: Int)]
    /// Drawn in this order; distractors first (behind), then the target, then occluders.
    let objects: [SceneObject]
    let targetIndex: Int
    /// Per-frame illumination: global gain, per-channel tint (B, G, R) and horizontal gradient.
    let gain: [Double]
    let tint: [(Double, Double, Double)]
    let gradient: [Double]
    /// Per-frame box blur radius (0 = none).
    let blur: [Int]
    let hasBlur: Bool

    init(seed: UInt64, difficulty: Difficulty, width: Int, height: Int, frames: Int) {
        self.width = width
        self.height = height
        self.frames = frames
        let tier = Tier.of(difficulty)
        let base = Double(min(width, height))
        let speedScale = Double(width) / 854
        var rng = SynthRandom(seed: seed, stream: 1)

        // Target.
        var targetRNG = SynthRandom(seed: seed, stream: 2)
        let targetShapeKind = targetRNG.pick(ShapeKind.allCases)
        let targetTextureKind = targetRNG.pick(TextureKind.allCases)
        let targetShape = Outline.make(targetShapeKind, &targetRNG)
        let targetSpec = TextureSpec.random(targetTextureKind, &targetRNG)
        let targetHalf = max(4, base * targetRNG.uniform(tier.targetSize.lowerBound, tier.targetSize.upperBound))
        let targetPoses = Scene.trajectory(
            &targetRNG, tier: tier, half: targetHalf, speed: tier.speed * speedScale,
            width: width, height: height, frames: frames, outside: tier.outsideFraction,
            shake: tier.shake)
        let target = SceneObject(
            role: .target, shapeKind: targetShapeKind, shape: targetShape, textureSpec: targetSpec,
            texture: targetSpec.render(size: Scene.textureSize(targetPoses)), poses: targetPoses)
        let minTargetHalf = targetPoses.map { min($0.sx, $0.sy) }.min() ?? targetHalf

        // Distractors: the target's texture family, other colours or shapes, their own motion; behind the target.
        var objects: [SceneObject] = []
        var distractorRNG = SynthRandom(seed: seed, stream: 3)
        let distractorCount = distractorRNG.int(tier.distractors)
        for _ in 0..<distractorCount {
            let sameHue = distractorRNG.chance(tier.similarDistractor)
            var kind = distractorRNG.pick(ShapeKind.allCases)
            if sameHue && kind == targetShapeKind {
                kind = ShapeKind.allCases[(ShapeKind.allCases.firstIndex(of: kind)! + 1) % ShapeKind.allCases.count]
            }
            let shape = Outline.make(kind, &distractorRNG)
            let spec = targetSpec.sibling(&distractorRNG, sameHue: sameHue)
            let half = max(3, targetHalf * distractorRNG.uniform(0.6, 1.3))
            let poses = Scene.trajectory(
                &distractorRNG, tier: tier, half: half,
                speed: tier.speed * speedScale * distractorRNG.uniform(0.5, 1.5),
                width: width, height: height, frames: frames, outside: 0.3, shake: 0)
            objects.append(
                SceneObject(
                    role: .distractor, shapeKind: kind, shape: shape, textureSpec: spec,
                    texture: spec.render(size: Scene.textureSize(poses)), poses: poses))
        }
        targetIndex = objects.count
        objects.append(target)

        // Occluders: thin bars or small blobs crossing the target's path, never wide enough to hide all of it.
        var occluderRNG = SynthRandom(seed: seed, stream: 4)
        let perHundred = occluderRNG.int(tier.occludersPer100Frames)
        let occluderCount = frames < 8 ? 0 : max(perHundred > 0 ? 1 : 0, (perHundred * frames + 50) / 100)
        for k in 0..<occluderCount {
            // Crossings spread over the sequence so that at most one occluder covers the target at a time.
            let slot = (Double(k) + occluderRNG.uniform(0.25, 0.75)) / Double(occluderCount)
            let crossing = Int(slot * Double(frames - 1))
            let centre = targetPoses[crossing]
            let bar = occluderRNG.chance(0.6)
            let kind: ShapeKind = bar ? .roundedRectangle : .blob
            let shape = Outline.make(kind, &occluderRNG)
            let thickness = minTargetHalf * occluderRNG.uniform(0.2, 0.5)
            let sx = bar ? targetHalf * occluderRNG.uniform(1.5, 3) : minTargetHalf * occluderRNG.uniform(0.3, 0.5)
            let sy = bar ? thickness : sx * occluderRNG.uniform(0.7, 1)
            let heading = occluderRNG.uniform(0, DMath.twoPi)
            let speed = max(2, tier.speed * speedScale * occluderRNG.uniform(1.5, 3))
            let vx = speed * DMath.cos(heading), vy = speed * DMath.sin(heading)
            let angle0 = occluderRNG.uniform(0, DMath.pi), spin = occluderRNG.uniform(-0.01, 0.01)
            let poses = (0..<frames).map { t -> Pose in
                let dt = Double(t - crossing)
                return Pose(cx: centre.cx + vx * dt, cy: centre.cy + vy * dt, sx: sx, sy: sy, angle: angle0 + spin * dt)
            }
            let spec = TextureSpec.random(
                occluderRNG.pick(TextureKind.allCases), &occluderRNG, saturation: 0.1...0.7,
                value: 0.15...0.8)
            objects.append(
                SceneObject(
                    role: .occluder, shapeKind: kind, shape: shape, textureSpec: spec,
                    texture: spec.render(size: Scene.textureSize(poses)), poses: poses))
        }
        self.objects = objects

        // Background: two blended noise palettes, then static clutter shapes.
        var backgroundRNG = SynthRandom(seed: seed, stream: 5)
        panMargin = Int(base * tier.pan)
        backgroundWidth = width + 2 * panMargin
        backgroundHeight = height + 2 * panMargin
        background = Scene.background(
            &backgroundRNG, width: backgroundWidth, height: backgroundHeight, tier: tier,
            base: base, targetSpec: targetSpec, targetHalf: targetHalf)
        let panX = Wave.random(&rng, count: 2, amplitude: Double(panMargin), speed: Double(panMargin) * 0.02)
        let panY = Wave.random(&rng, count: 2, amplitude: Double(panMargin), speed: Double(panMargin) * 0.015)
        let margin = panMargin
        pan = (0..<frames).map { t in
            (
                min(max(margin + Int(panX(Double(t)).rounded()), 0), 2 * margin),
                min(max(margin + Int(panY(Double(t)).rounded()), 0), 2 * margin)
            )
        }

        // Illumination and blur.
        var effectsRNG = SynthRandom(seed: seed, stream: 6)
        let light = Wave.random(&effectsRNG, count: 2, amplitude: tier.illumination, speed: tier.illumination * 0.04)
        let slope = Wave.random(
            &effectsRNG, count: 1, amplitude: tier.illumination * 1.2, speed: tier.illumination * 0.05)
        let tints = (0..<3).map { _ in
            Wave.random(
                &effectsRNG, count: 1, amplitude: tier.illumination * 0.3,
                speed: tier.illumination * 0.01)
        }
        gain = (0..<frames).map { 1 + light(Double($0)) }
        gradient = (0..<frames).map { slope(Double($0)) }
        tint = (0..<frames).map { t in (1 + tints[0](Double(t)), 1 + tints[1](Double(t)), 1 + tints[2](Double(t))) }
        let blurred = effectsRNG.chance(tier.blurChance)
        hasBlur = blurred
        let burst = Wave.random(&effectsRNG, count: 2, amplitude: 1, speed: 0.08)
        let strength = difficulty == .hard ? 3.2 : 2.2
        blur = (0..<frames).map { t in blurred ? max(0, Int((burst(Double(t)) * strength - 0.6).rounded(.down))) : 0 }
    }

    /// Smooth random motion keeping the object's centre inside the frame, at least `outside` of its half-size
    /// from the border.
    static func trajectory(
        _ rng: inout SynthRandom, tier: Tier, half: Double, speed: Double, width: Int, height: Int,
        frames: Int, outside: Double, shake: Double
    ) -> [Pose] {
        let aspect0 = rng.uniform(0.55, 1.8)
        let scale = Wave.random(&rng, count: 2, amplitude: tier.scaleAmplitude, speed: tier.scaleAmplitude * 0.04)
        let aspect = Wave.random(&rng, count: 1, amplitude: tier.aspectAmplitude, speed: tier.aspectAmplitude * 0.05)
        let rotation = Wave.random(
            &rng, count: 2, amplitude: tier.rotationAmplitude, speed: tier.rotationAmplitude * 0.05)
        let spin = rng.uniform(-tier.spin, tier.spin)
        let angle0 = rng.uniform(0, DMath.twoPi)
        var sizes: [(Double, Double)] = []
        var largest = 0.0
        for t in 0..<frames {
            let s = half * (1 + scale(Double(t)))
            let a = aspect0 * (1 + aspect(Double(t)))
            let r = a.squareRoot()
            sizes.append((s * r, s / r))
            largest = max(largest, s * r, s / r)
        }
        let marginX = min(Double(width) * 0.45, largest * outside),
            marginY = min(Double(height) * 0.45, largest * outside)
        let rangeX = max(0, Double(width) / 2 - marginX), rangeY = max(0, Double(height) / 2 - marginY)
        let x = Wave.random(&rng, count: 3, amplitude: rangeX, speed: speed)
        let y = Wave.random(&rng, count: 3, amplitude: rangeY, speed: speed * Double(height) / Double(width))
        var poses: [Pose] = []
        poses.reserveCapacity(frames)
        for t in 0..<frames {
            let jx = shake > 0 ? rng.normal() * shake : 0, jy = shake > 0 ? rng.normal() * shake : 0
            poses.append(
                Pose(
                    cx: Double(width) / 2 + x(Double(t)) + jx, cy: Double(height) / 2 + y(Double(t)) + jy,
                    sx: sizes[t].0, sy: sizes[t].1,
                    angle: angle0 + spin * Double(t) + rotation(Double(t))))
        }
        return poses
    }

    /// Texture resolution: about one texel a pixel at the object's largest size.
    static func textureSize(_ poses: [Pose]) -> Int {
        let largest = poses.map { max($0.sx, $0.sy) }.max() ?? 8
        return min(max(Int((2 * largest).rounded(.up)), 16), 512)
    }

    static func background(
        _ rng: inout SynthRandom, width: Int, height: Int, tier: Tier, base: Double,
        targetSpec: TextureSpec, targetHalf: Double
    ) -> [UInt8] {
        let hue = rng.unit()
        let paletteA = TextureSpec.palette(hue: hue, rng: &rng, saturation: 0.1...0.55, value: 0.2...0.9)
        let paletteB = TextureSpec.palette(
            hue: hue + rng.uniform(0.2, 0.8), rng: &rng, saturation: 0.1...0.6, value: 0.15...0.85)
        let n = width * height
        let a = ValueNoise.fbm(
            width: width, height: height, cell: base * rng.uniform(0.15, 0.4), octaves: 4,
            seed: UInt32(truncatingIfNeeded: rng.next()))
        let b = ValueNoise.fbm(
            width: width, height: height, cell: base * rng.uniform(0.05, 0.15), octaves: 3,
            seed: UInt32(truncatingIfNeeded: rng.next()))
        let blend = ValueNoise.fbm(
            width: width, height: height, cell: base * 0.5, octaves: 2,
            seed: UInt32(truncatingIfNeeded: rng.next()))
        var pixels = [UInt8](repeating: 0, count: n * 3)
        func ramp(_ p: [Colour], _ t: Float) -> Colour {
            let t = min(max((t - 0.5) * 2.2 + 0.5, 0), 1)
            return t < 0.5 ? Colour.mix(p[0], p[1], t * 2) : Colour.mix(p[1], p[2], t * 2 - 1)
        }
        pixels.withUnsafeMutableBufferPointer { out in
            for k in 0..<n {
                let w = DMath.smoothstep(min(max((blend[k] - 0.5) * 3 + 0.5, 0), 1))
                let c = Colour.mix(ramp(paletteA, a[k]), ramp(paletteB, b[k]), w)
                out[3 * k] = Texture.byte(c.b)
                out[3 * k + 1] = Texture.byte(c.g)
                out[3 * k + 2] = Texture.byte(c.r)
            }
            let canvas = Canvas(pixels: out.baseAddress!, width: width, height: height)
            for _ in 0..<tier.clutter {
                let kind = rng.pick(ShapeKind.allCases)
                let shape = Outline.make(kind, &rng)
                let spec =
                    rng.chance(tier.clutterFromTargetFamily)
                    ? targetSpec.sibling(&rng, sameHue: false)
                    : TextureSpec.random(rng.pick(TextureKind.allCases), &rng, saturation: 0.1...0.8, value: 0.2...0.9)
                let half = max(2, rng.chance(0.3) ? targetHalf * rng.uniform(0.5, 1.2) : base * rng.uniform(0.02, 0.1))
                let aspect = rng.uniform(0.4, 2.5).squareRoot()
                let pose = Pose(
                    cx: rng.uniform(0, Double(width)), cy: rng.uniform(0, Double(height)),
                    sx: half * aspect, sy: half / aspect, angle: rng.uniform(0, DMath.twoPi))
                Raster.fill(
                    canvas, shape: shape, pose: pose, texture: spec.render(size: min(max(Int(2 * half), 16), 128)))
            }
        }
        return pixels
    }
}

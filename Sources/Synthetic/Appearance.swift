/// Object outlines in local coordinates (inside [-1, 1] on both axes) and procedural textures over that square.

/// Outline families for targets, distractors and clutter.
public enum ShapeKind: String, CaseIterable, Sendable {
    case ellipse
    case roundedRectangle
    case polygon
    case star
    case blob
}

/// Texture families. Distractors share the target's family and parameters, with other colours or shapes.
public enum TextureKind: String, CaseIterable, Sendable {
    case noise
    case stripes
    case gradient
    case blobs
    case checker
}

enum Outline {
    /// A closed polygon (no repeated last vertex) for `kind`, scaled so its largest |coordinate| is 1.
    static func make(_ kind: ShapeKind, _ rng: inout SynthRandom) -> [Point] {
        var points: [Point] = []
        switch kind {
        case .ellipse:
            let n = 72
            for i in 0..<n {
                let t = DMath.twoPi * Double(i) / Double(n)
                points.append(Point(DMath.cos(t), DMath.sin(t)))
            }
        case .roundedRectangle:
            let r = rng.uniform(0.1, 0.55)
            let steps = 8
            let corners: [(Double, Double, Double)] = [
                (1 - r, 1 - r, 0), (-(1 - r), 1 - r, DMath.halfPi),
                (-(1 - r), -(1 - r), DMath.pi), (1 - r, -(1 - r), 3 * DMath.halfPi),
            ]
            for (cx, cy, start) in corners {
                for k in 0...steps {
                    let t = start + DMath.halfPi * Double(k) / Double(steps)
                    points.append(Point(cx + r * DMath.cos(t), cy + r * DMath.sin(t)))
                }
            }
        case .polygon:
            let n = rng.int(3...8)
            let phase = rng.uniform(0, DMath.twoPi)
            for i in 0..<n {
                let t = phase + DMath.twoPi * (Double(i) + rng.uniform(-0.2, 0.2)) / Double(n)
                let radius = rng.uniform(0.75, 1.0)
                points.append(Point(radius * DMath.cos(t), radius * DMath.sin(t)))
            }
        case .star:
            let arms = rng.int(4...8)
            let inner = rng.uniform(0.45, 0.75)
            let phase = rng.uniform(0, DMath.twoPi)
            let perHalfArm = 4
            let n = arms * 2 * perHalfArm
            for i in 0..<n {
                let t = phase + DMath.twoPi * Double(i) / Double(n)
                // Smooth alternation between the tips (1) and the valleys (inner): a raised cosine in the arm phase.
                let armPhase = Double(i % (2 * perHalfArm)) / Double(2 * perHalfArm)
                let w = 0.5 + 0.5 * DMath.cos(DMath.twoPi * armPhase)
                let radius = inner + (1 - inner) * w
                points.append(Point(radius * DMath.cos(t), radius * DMath.sin(t)))
            }
        case .blob:
            let harmonics = (0..<3).map { k in (k + 2, rng.uniform(0.04, 0.16), rng.uniform(0, DMath.twoPi)) }
            let n = 96
            for i in 0..<n {
                let t = DMath.twoPi * Double(i) / Double(n)
                var radius = 1.0
                for (k, a, phase) in harmonics { radius += a * DMath.cos(Double(k) * t + phase) }
                points.append(Point(radius * DMath.cos(t), radius * DMath.sin(t)))
            }
        }
        var extent = 0.0
        for p in points { extent = max(extent, abs(p.x), abs(p.y)) }
        return points.map { Point($0.x / extent, $0.y / extent) }
    }
}

/// Parameters of a procedural texture; `render(size:)` draws it over local [-1, 1]^2 as BGR bytes.
struct TextureSpec: Sendable {
    var kind: TextureKind
    var colours: [Colour]   // three
    var frequency: Double   // pattern cycles across the object
    var angle: Double
    var contrast: Float
    var shading: Float   // radial darkening towards the outline
    var seed: UInt32

    static func random(
        _ kind: TextureKind, _ rng: inout SynthRandom, saturation: ClosedRange<Double> = 0.45...1,
        value: ClosedRange<Double> = 0.45...1
    ) -> TextureSpec {
        let hue = rng.unit()
        return TextureSpec(
            kind: kind, colours: palette(hue: hue, rng: &rng, saturation: saturation, value: value),
            frequency: rng.uniform(1.5, 5.5), angle: rng.uniform(0, DMath.pi),
            contrast: Float(rng.uniform(0.7, 1.0)), shading: Float(rng.uniform(0.05, 0.35)),
            seed: UInt32(truncatingIfNeeded: rng.next()))
    }

    static func palette(
        hue: Double, rng: inout SynthRandom, saturation: ClosedRange<Double>, value: ClosedRange<Double>
    ) -> [Colour] {
        let spread = rng.uniform(0.04, 0.3) * rng.sign()
        return (0..<3).map { k in
            Colour(
                hue: hue + spread * Double(k) + 1,
                saturation: rng.uniform(saturation.lowerBound, saturation.upperBound),
                value: rng.uniform(value.lowerBound, value.upperBound))
        }
    }

    /// The same family (kind, frequency, contrast), other colours, seed and orientation: a look-alike.
    func sibling(_ rng: inout SynthRandom, sameHue: Bool) -> TextureSpec {
        var s = self
        if sameHue {
            // Same palette, shuffled and slightly shifted in brightness: very similar.
            let k = Float(rng.uniform(0.8, 1.15))
            s.colours = [colours[1], colours[0], colours[2]].map { $0.scaled(k) }
        } else {
            s.colours = Self.palette(hue: rng.unit(), rng: &rng, saturation: 0.45...1, value: 0.45...1)
        }
        s.frequency = frequency * rng.uniform(0.8, 1.25)
        s.angle = rng.uniform(0, DMath.pi)
        s.seed = UInt32(truncatingIfNeeded: rng.next())
        return s
    }

    @inline(__always) private func ramp(_ t: Float) -> Colour {
        let c = colours
        return t < 0.5 ? Colour.mix(c[0], c[1], t * 2) : Colour.mix(c[1], c[2], t * 2 - 1)
    }

    /// BGR bytes, `size` x `size`, texel (i, j) at local ((i + 0.5) / size * 2 - 1, (j + 0.5) / size * 2 - 1).
    func render(size: Int) -> Texture {
        let n = size * size
        let noise = ValueNoise.fbm(
            width: size, height: size, cell: Double(size) / max(1, frequency * 1.5),
            octaves: 3, seed: seed)
        var spots: [(x: Float, y: Float, r2: Float, colour: Colour)] = []
        if kind == .blobs {
            var rng = SynthRandom(seed: UInt64(seed), stream: 77)
            let count = Int(frequency * frequency * 1.5) + 3
            for _ in 0..<count {
                let r = Float(rng.uniform(0.12, 0.45) / max(1, frequency * 0.5))
                spots.append(
                    (
                        Float(rng.uniform(-1.1, 1.1)), Float(rng.uniform(-1.1, 1.1)), r * r,
                        colours[rng.chance(0.5) ? 1 : 2]
                    ))
            }
        }
        let ca = Float(DMath.cos(angle)), sa = Float(DMath.sin(angle))
        let freq = Float(frequency)
        var bytes = [UInt8](repeating: 0, count: n * 3)
        bytes.withUnsafeMutableBufferPointer { out in
            noise.withUnsafeBufferPointer { nz in
                for j in 0..<size {
                    let v = (Float(j) + 0.5) / Float(size) * 2 - 1
                    for i in 0..<size {
                        let u = (Float(i) + 0.5) / Float(size) * 2 - 1
                        let k = j * size + i
                        let nv = (nz[k] - 0.5) * (1 + 2 * contrast) + 0.5
                        var c: Colour
                        switch kind {
                        case .noise:
                            c = ramp(min(max(nv, 0), 1))
                        case .stripes:
                            let s = (u * ca + v * sa) * freq + nz[k] * 0.6
                            let f = s - s.rounded(.down)
                            let tri = abs(2 * f - 1)
                            let w = DMath.smoothstep(min(max((tri - 0.5) * (2 + 6 * contrast) + 0.5, 0), 1))
                            c = Colour.mix(colours[0], colours[1], w)
                            c = Colour.mix(c, colours[2], max(0, nz[k] - 0.6))
                        case .gradient:
                            let t = ((u * ca + v * sa) + 1) * 0.5
                            c = ramp(min(max(t * 0.8 + (nz[k] - 0.5) * 0.5 * contrast + 0.1, 0), 1))
                        case .blobs:
                            c = Colour.mix(colours[0], colours[1], (nz[k] - 0.5) * 0.4 + 0.2)
                            for spot in spots {
                                let dx = u - spot.x, dy = v - spot.y
                                if dx * dx + dy * dy < spot.r2 { c = spot.colour }
                            }
                        case .checker:
                            let a = (u * ca + v * sa + 2) * freq, b = (v * ca - u * sa + 2) * freq
                            let parity = (Int(a) + Int(b)) & 1
                            c = Colour.mix(
                                parity == 0 ? colours[0] : colours[1], colours[2], max(0, nz[k] - 0.55) * contrast)
                        }
                        let shade = 1 - shading * min(u * u + v * v, 2) * 0.5
                        out[3 * k] = Texture.byte(c.b * shade)
                        out[3 * k + 1] = Texture.byte(c.g * shade)
                        out[3 * k + 2] = Texture.byte(c.r * shade)
                    }
                }
            }
        }
        return Texture(size: size, pixels: bytes)
    }
}

/// A square BGR texture over local [-1, 1]^2.
struct Texture: Sendable {
    let size: Int
    let pixels: [UInt8]

    @inline(__always) static func byte(_ x: Float) -> UInt8 { UInt8(min(max(x + 0.5, 0), 255)) }

    static func flat(_ b: UInt8, _ g: UInt8, _ r: UInt8) -> Texture { Texture(size: 1, pixels: [b, g, r]) }
}

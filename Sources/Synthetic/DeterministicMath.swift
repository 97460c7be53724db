/// Trigonometry from IEEE basic operations only (+, -, *, /, rounding), so that scenes are bit-identical on every
/// platform and build mode: libm's sin and cos may differ in the last bit between C libraries.
enum DMath {
    static let pi = 3.141_592_653_589_793_116
    static let twoPi = 6.283_185_307_179_586_232
    static let halfPi = 1.570_796_326_794_896_558

    /// sin(x), |error| < 1e-15 for |x| < 1e6.
    static func sin(_ x: Double) -> Double {
        // Reduce to [-pi, pi], then to [-pi/2, pi/2] with sin(pi - r) = sin(r).
        var r = x - twoPi * (x / twoPi).rounded(.toNearestOrEven)
        if r > halfPi { r = pi - r } else if r < -halfPi { r = -pi - r }
        let r2 = r * r
        // Taylor series to r^19: on |r| <= pi/2 the first omitted term is below 1e-16.
        var p = -1.0 / 121_645_100_408_832_000.0   // -1/19!
        p = p * r2 + 1.0 / 355_687_428_096_000.0   // 1/17!
        p = p * r2 - 1.0 / 1_307_674_368_000.0   // -1/15!
        p = p * r2 + 1.0 / 6_227_020_800.0   // 1/13!
        p = p * r2 - 1.0 / 39_916_800.0   // -1/11!
        p = p * r2 + 1.0 / 362_880.0   // 1/9!
        p = p * r2 - 1.0 / 5_040.0   // -1/7!
        p = p * r2 + 1.0 / 120.0   // 1/5!
        p = p * r2 - 1.0 / 6.0   // -1/3!
        return r + r * r2 * p
    }

    static func cos(_ x: Double) -> Double { sin(x + halfPi) }

    @inline(__always) static func clamp(_ x: Double, _ lo: Double, _ hi: Double) -> Double { min(max(x, lo), hi) }

    @inline(__always) static func smoothstep(_ t: Float) -> Float { t * t * (3 - 2 * t) }

    /// HSV (all in [0, 1]) to RGB in [0, 1].
    static func hsv(_ h: Double, _ s: Double, _ v: Double) -> (r: Double, g: Double, b: Double) {
        let hh = (h - h.rounded(.down)) * 6
        let sector = min(Int(hh), 5)
        let f = hh - Double(sector)
        let p = v * (1 - s), q = v * (1 - s * f), t = v * (1 - s * (1 - f))
        switch sector {
        case 0: return (v, t, p)
        case 1: return (q, v, p)
        case 2: return (p, v, t)
        case 3: return (p, q, v)
        case 4: return (t, p, v)
        default: return (v, p, q)
        }
    }
}

/// Public face of the generator's libm-free trigonometry (bit-identical on every platform).
public enum DeterministicMath {
    public static func sin(_ x: Double) -> Double { DMath.sin(x) }
    public static func cos(_ x: Double) -> Double { DMath.cos(x) }
}

/// A BGR colour with float components in [0, 255].
struct Colour: Sendable {
    var b: Float
    var g: Float
    var r: Float

    init(b: Float, g: Float, r: Float) {
        self.b = b
        self.g = g
        self.r = r
    }

    init(hue: Double, saturation: Double, value: Double) {
        let c = DMath.hsv(hue, saturation, value)
        self.init(b: Float(c.b * 255), g: Float(c.g * 255), r: Float(c.r * 255))
    }

    static func mix(_ a: Colour, _ b: Colour, _ t: Float) -> Colour {
        Colour(b: a.b + (b.b - a.b) * t, g: a.g + (b.g - a.g) * t, r: a.r + (b.r - a.r) * t)
    }

    func scaled(_ k: Float) -> Colour { Colour(b: b * k, g: g * k, r: r * k) }
}

import Foundation

/// What one tracker reported for one frame, as the drift comparison needs it.
public struct DriftObservation: Sendable {
    /// Axis-aligned target box (tracker's centre and size).
    public var box: Box
    /// Rotated box / polygon corners (VOT output); empty when the tracker gave none.
    public var polygon: [Point]
    /// Binary mask at frame resolution (nonzero = object), row-major.
    public var mask: [UInt8]
    public var score: Double

    public init(box: Box, polygon: [Point], mask: [UInt8], score: Double) {
        self.box = box; self.polygon = polygon; self.mask = mask; self.score = score
    }
}

/// One tracked frame of the comparison (the initialisation frame is not tracked and never appears).
public struct FrameDrift: Codable, Equatable, Sendable {
    /// Box IoU between the two trackers below which they are said to disagree on the frame.
    public static let disagreementBoxIoU = 0.5

    public var sequence: String
    /// Frame index within its sequence (0 = the initialisation frame, so tracked frames start at 1).
    public var frame: Int
    public var boxIoU: Double
    public var polygonIoU: Double
    public var maskIoU: Double
    /// Distance between the two box centres, pixels.
    public var centerErrorPx: Double
    public var scoreReference: Double
    public var scoreCandidate: Double
    /// candidate - reference.
    public var scoreDiff: Double
    /// boxIoU < `disagreementBoxIoU`.
    public var disagree: Bool
    /// Against ground truth; nil on frames without that kind of annotation.
    public var referenceGTBoxIoU: Double?
    public var candidateGTBoxIoU: Double?
    public var referenceGTMaskIoU: Double?
    public var candidateGTMaskIoU: Double?

    public init(
        sequence: String, frame: Int, boxIoU: Double, polygonIoU: Double, maskIoU: Double,
        centerErrorPx: Double, scoreReference: Double, scoreCandidate: Double,
        referenceGTBoxIoU: Double? = nil, candidateGTBoxIoU: Double? = nil,
        referenceGTMaskIoU: Double? = nil, candidateGTMaskIoU: Double? = nil
    ) {
        self.sequence = sequence; self.frame = frame
        self.boxIoU = boxIoU; self.polygonIoU = polygonIoU; self.maskIoU = maskIoU
        self.centerErrorPx = centerErrorPx
        self.scoreReference = scoreReference; self.scoreCandidate = scoreCandidate
        self.scoreDiff = scoreCandidate - scoreReference
        self.disagree = !(boxIoU >= Self.disagreementBoxIoU)
        self.referenceGTBoxIoU = referenceGTBoxIoU; self.candidateGTBoxIoU = candidateGTBoxIoU
        self.referenceGTMaskIoU = referenceGTMaskIoU; self.candidateGTMaskIoU = candidateGTMaskIoU
    }

    /// Compares the two trackers' outputs on one frame, and each against whatever ground truth the frame has.
    /// Polygon IoU falls back to the boxes when either tracker gave no polygon; masks must be of one size.
    public init(
        sequence: String, frame: Int, reference: DriftObservation, candidate: DriftObservation,
        groundTruthBox: Box? = nil, groundTruthMask: [UInt8]? = nil
    ) {
        func corners(_ o: DriftObservation) -> [Point] {
            if o.polygon.count >= 3 { return o.polygon }
            let b = o.box
            return [
                Point(b.x, b.y), Point(b.x + b.width, b.y), Point(b.x + b.width, b.y + b.height),
                Point(b.x, b.y + b.height),
            ]
        }
        let r = reference.box, c = candidate.box
        let dx = c.centerX - r.centerX, dy = c.centerY - r.centerY
        self.init(
            sequence: sequence, frame: frame,
            boxIoU: boxIntersectionOverUnion(r, c),
            polygonIoU: polygonIntersectionOverUnion(corners(reference), corners(candidate)),
            maskIoU: maskIntersectionOverUnion(reference.mask, candidate.mask),
            centerErrorPx: (dx * dx + dy * dy).squareRoot(),
            scoreReference: reference.score, scoreCandidate: candidate.score,
            referenceGTBoxIoU: groundTruthBox.map { boxIntersectionOverUnion(r, $0) },
            candidateGTBoxIoU: groundTruthBox.map { boxIntersectionOverUnion(c, $0) },
            referenceGTMaskIoU: groundTruthMask.map { maskIntersectionOverUnion(reference.mask, $0) },
            candidateGTMaskIoU: groundTruthMask.map { maskIntersectionOverUnion(candidate.mask, $0) })
    }

    enum CodingKeys: String, CodingKey {
        case sequence, frame, disagree
        case boxIoU = "box_iou"
        case polygonIoU = "polygon_iou"
        case maskIoU = "mask_iou"
        case centerErrorPx = "center_error_px"
        case scoreReference = "score_reference"
        case scoreCandidate = "score_candidate"
        case scoreDiff = "score_diff"
        case referenceGTBoxIoU = "reference_gt_box_iou"
        case candidateGTBoxIoU = "candidate_gt_box_iou"
        case referenceGTMaskIoU = "reference_gt_mask_iou"
        case candidateGTMaskIoU = "candidate_gt_mask_iou"
    }

    /// Absent ground truth is written as an explicit null, so every frame object has every key.
    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(sequence, forKey: .sequence)
        try c.encode(frame, forKey: .frame)
        try c.encode(boxIoU, forKey: .boxIoU)
        try c.encode(polygonIoU, forKey: .polygonIoU)
        try c.encode(maskIoU, forKey: .maskIoU)
        try c.encode(centerErrorPx, forKey: .centerErrorPx)
        try c.encode(scoreReference, forKey: .scoreReference)
        try c.encode(scoreCandidate, forKey: .scoreCandidate)
        try c.encode(scoreDiff, forKey: .scoreDiff)
        try c.encode(disagree, forKey: .disagree)
        try c.encode(referenceGTBoxIoU, forKey: .referenceGTBoxIoU)
        try c.encode(candidateGTBoxIoU, forKey: .candidateGTBoxIoU)
        try c.encode(referenceGTMaskIoU, forKey: .referenceGTMaskIoU)
        try c.encode(candidateGTMaskIoU, forKey: .candidateGTMaskIoU)
    }
}

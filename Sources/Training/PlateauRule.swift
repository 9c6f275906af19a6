// "Train until the loss stops improving" (Keskar et al. 2017 train "until the loss function ceased
// to improve"): PyTorch ReduceLROnPlateau's relative rule. An epoch-end training loss improves when
// it is below best x (1 - threshold); best moves only on an improvement; training stops after
// `patience` epochs in a row without one.

public struct PlateauRule: Codable, Equatable, Sendable {
    public static let threshold = 1e-3
    public let patience: Int
    /// The lowest loss that counted as an improvement; nil before the first epoch.
    public private(set) var best: Double?
    public private(set) var epochsWithoutImprovement = 0

    public init(patience: Int) {
        precondition(patience >= 1, "plateau patience must be at least 1")
        self.patience = patience
    }

    /// Observes one epoch-end training loss; true when training should stop. A loss that is not
    /// finite is never an improvement.
    public mutating func observe(_ loss: Double) -> Bool {
        if loss.isFinite, best.map({ loss < $0 * (1 - PlateauRule.threshold) }) ?? true {
            best = loss
            epochsWithoutImprovement = 0
        } else {
            epochsWithoutImprovement += 1
        }
        return epochsWithoutImprovement >= patience
    }
}

public import EarshotImpairment

extension NetworkScenario {
    /// The network path of this scenario, reproducible from `seed` (see the presets on `NetworkChain`). Clock drift
    /// is a property of the sender, not of the network, so `.drift` runs over the clean path.
    public func makeModel(seed: UInt64) -> NetworkChain {
        switch self {
        case .clean, .drift: .clean(seed: seed)
        case .wifi: .wifi(seed: seed)
        case .mobile: .mobile(seed: seed)
        case .randomLoss: .randomLoss(seed: seed)
        case .reordering: .reordering(seed: seed)
        }
    }
}

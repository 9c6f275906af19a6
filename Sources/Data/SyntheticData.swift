// A small generated, learnable image set for tests and demos: each class is a random prototype
// image, and each sample is a faint copy of its prototype under heavy seeded pixel noise, so a
// model learns it but not perfectly (a gap can show). Same seed, same bytes.
import Tensor

public enum SyntheticData {
    public static func make(seed: UInt64 = 7, trainCount: Int = 4096, testCount: Int = 1024,
                            height: Int = 28, width: Int = 28, classes: Int = 10) -> DataSplit {
        var rng = SplitMix64(seed: seed, stream: 2)
        let features = height * width
        let prototypes = (0..<classes).map { _ in (0..<features).map { _ in rng.nextUnit() } }

        func sample(_ count: Int) -> Dataset {
            var images = [UInt8](repeating: 0, count: count * features)
            var labels = [UInt8](repeating: 0, count: count)
            for n in 0..<count {
                let label = rng.below(classes)
                labels[n] = UInt8(label)
                for f in 0..<features {
                    let value = 0.06 * prototypes[label][f] + 0.94 * rng.nextUnit()
                    images[n * features + f] = UInt8(min(255, value * 255))
                }
            }
            return Dataset(images: images, labels: labels, height: height, width: width, classes: classes)
        }
        let train = sample(trainCount)
        let test = sample(testCount)
        return DataSplit(name: "synthetic", train: train, test: test)
    }

    /// Seed article 003's data: uniform random features (1000 x 20 train, 200 x 20 test) with
    /// random 0/1 labels. Nothing generalizes; a model can only memorize, so the gap is the story.
    public static func randomBinary(seed: UInt64 = 7, trainCount: Int = 1000, testCount: Int = 200, features: Int = 20) -> DataSplit {
        var rng = SplitMix64(seed: seed, stream: 4)
        func sample(_ count: Int) -> Dataset {
            let images = (0..<(count * features)).map { _ in UInt8(truncatingIfNeeded: rng.next() >> 56) }
            let labels = (0..<count).map { _ in UInt8(rng.below(2)) }
            return Dataset(images: images, labels: labels, height: 1, width: features, classes: 2)
        }
        let train = sample(trainCount)
        return DataSplit(name: "synthetic-binary", train: train, test: sample(testCount))
    }
}

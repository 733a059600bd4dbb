//! A small seeded generator (SplitMix64): reproducible inputs with no
//! dependency.

/// A SplitMix64 generator.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    /// A generator starting from `seed`.
    pub fn new(seed: u64) -> Self {
        Self(seed)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A number in `0..n` (0 when `n` is 0).
    pub fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            return 0;
        }
        usize::try_from(self.next_u64() % n as u64).unwrap_or(0)
    }

    /// Replace `buf` with random bytes, at most `max` of them; short inputs
    /// are more likely than long ones (half are under 64 bytes).
    pub fn fill(&mut self, buf: &mut Vec<u8>, max: usize) {
        let cap = match self.below(10) {
            0..=4 => 64,
            5..=7 => 512,
            _ => max,
        }
        .min(max);
        let len = self.below(cap + 1);
        buf.clear();
        while buf.len() < len {
            let word = self.next_u64().to_le_bytes();
            let take = (len - buf.len()).min(8);
            buf.extend_from_slice(&word[..take]);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Rng;

    #[test]
    fn fill_respects_the_cap_and_varies() {
        let mut rng = Rng::new(3);
        let mut buf = Vec::new();
        let mut lengths = std::collections::BTreeSet::new();
        for _ in 0..200 {
            rng.fill(&mut buf, 100);
            assert!(buf.len() <= 100);
            lengths.insert(buf.len());
        }
        assert!(lengths.len() > 20, "{lengths:?}");
    }
}

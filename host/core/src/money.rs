//! Money: US dollars held as whole micro-dollars (millionths of a dollar), the
//! one home of weft's conversions between dollars and micro-dollars and of how
//! dollars are written.
//!
//! Budgets, charges, reservations and cost limits are never negative, so the
//! amount is a `u64`: up to about 18.4 million million dollars.

use std::fmt;

use serde::{Deserialize, Serialize};

/// Micro-dollars in a dollar.
const MICROS_PER_USD: u64 = 1_000_000;

/// An amount of US dollars, in whole micro-dollars. Serialized as its number
/// of micro-dollars (the `micro_usd` fields of the API and the stores).
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
#[serde(transparent)]
pub struct Money(u64);

/// A number of dollars that is not an amount of [`Money`].
#[derive(Debug, Clone, Copy, PartialEq, thiserror::Error)]
pub enum MoneyError {
    /// Below zero.
    #[error("{0} US dollars is negative: expected 0 or more")]
    Negative(f64),
    /// NaN or infinite.
    #[error("{0} is not a number of US dollars")]
    NotFinite(f64),
    /// More micro-dollars than a `u64` holds.
    #[error("{0} US dollars is too large")]
    TooLarge(f64),
}

impl Money {
    /// No money.
    pub const ZERO: Money = Money(0);

    /// `micros` micro-dollars.
    pub const fn from_micros(micros: u64) -> Money {
        Money(micros)
    }

    /// The amount in micro-dollars.
    pub const fn micros(self) -> u64 {
        self.0
    }

    /// `usd` dollars, rounded to the nearest micro-dollar (`f64::round`:
    /// halves away from zero). Negative, NaN, infinite and too large amounts
    /// are errors.
    pub fn from_usd(usd: f64) -> Result<Money, MoneyError> {
        if !usd.is_finite() {
            return Err(MoneyError::NotFinite(usd));
        }
        if usd < 0.0 {
            return Err(MoneyError::Negative(usd));
        }
        let micros = (usd * MICROS_PER_USD as f64).round();
        // u64::MAX as f64 is 2^64, one more than u64::MAX: it is out of range.
        if micros >= u64::MAX as f64 {
            return Err(MoneyError::TooLarge(usd));
        }
        // In range and whole, so the cast is exact.
        Ok(Money(micros as u64))
    }

    /// The amount in dollars, for JSON and gauges (the nearest `f64`; the
    /// micro-dollars are exact).
    pub fn as_usd(self) -> f64 {
        self.0 as f64 / MICROS_PER_USD as f64
    }

    /// `self + other`, or `None` on overflow.
    pub fn checked_add(self, other: Money) -> Option<Money> {
        self.0.checked_add(other.0).map(Money)
    }

    /// `self + other`, at most the largest amount.
    pub fn saturating_add(self, other: Money) -> Money {
        Money(self.0.saturating_add(other.0))
    }

    /// `self - other`, or `None` below zero.
    pub fn checked_sub(self, other: Money) -> Option<Money> {
        self.0.checked_sub(other.0).map(Money)
    }

    /// Whether it is no money.
    pub const fn is_zero(self) -> bool {
        self.0 == 0
    }
}

/// `$4.98`, `$0.01`, `$5.00`, `$1.234567`: cents always, further digits when
/// they are not zero. The alternate form (`{:#}`) writes all six digits:
/// `$0.030000`.
impl fmt::Display for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let whole = self.0 / MICROS_PER_USD;
        let frac = format!("{:06}", self.0 % MICROS_PER_USD);
        let frac = if f.alternate() {
            frac.as_str()
        } else {
            let trimmed = frac.trim_end_matches('0');
            &frac[..trimmed.len().max(2)]
        };
        f.pad(&format!("${whole}.{frac}"))
    }
}

/// The sum, saturating at the largest amount.
impl std::iter::Sum for Money {
    fn sum<I: Iterator<Item = Money>>(iter: I) -> Money {
        iter.fold(Money::ZERO, Money::saturating_add)
    }
}

/// Serde for a [`Money`] field written as a number of dollars (`4.98`), for
/// the API fields named `*_usd`: `#[serde(with = "weft_core::money_as_usd")]`.
pub mod as_usd {
    use serde::{Deserialize, Deserializer, Serializer};

    use super::Money;

    /// Writes `money` as dollars.
    pub fn serialize<S: Serializer>(money: &Money, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_f64(money.as_usd())
    }

    /// Reads dollars; a negative, non-finite or too large amount is an error.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Money, D::Error> {
        let usd = f64::deserialize(d)?;
        Money::from_usd(usd).map_err(serde::de::Error::custom)
    }
}

/// [`as_usd`] for an `Option<Money>` (`null` for none).
pub mod as_usd_opt {
    use serde::{Deserialize, Deserializer, Serializer};

    use super::Money;

    /// Writes the amount as dollars, or `null`.
    pub fn serialize<S: Serializer>(money: &Option<Money>, s: S) -> Result<S::Ok, S::Error> {
        match money {
            Some(m) => s.serialize_f64(m.as_usd()),
            None => s.serialize_none(),
        }
    }

    /// Reads dollars or `null`.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Money>, D::Error> {
        Option::<f64>::deserialize(d)?
            .map(|usd| Money::from_usd(usd).map_err(serde::de::Error::custom))
            .transpose()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    struct Limits {
        #[serde(with = "as_usd")]
        spent: Money,
        #[serde(with = "as_usd_opt")]
        limit: Option<Money>,
    }

    #[test]
    fn usd_fields_are_written_and_read_as_dollars() {
        let l = Limits {
            spent: Money::from_micros(1_234_000),
            limit: None,
        };
        let text = serde_json::to_string(&l).unwrap_or_default();
        assert_eq!(text, r#"{"spent":1.234,"limit":null}"#);
        let back: Result<Limits, _> = serde_json::from_str(r#"{"spent":1.234,"limit":5}"#);
        assert_eq!(
            back.ok(),
            Some(Limits {
                spent: Money::from_micros(1_234_000),
                limit: Some(Money::from_micros(5_000_000)),
            })
        );
        let negative: Result<Limits, _> = serde_json::from_str(r#"{"spent":-1,"limit":null}"#);
        assert!(negative.is_err());
    }

    #[test]
    fn dollars_round_to_the_nearest_micro_dollar() {
        assert_eq!(Money::from_usd(5.0), Ok(Money::from_micros(5_000_000)));
        assert_eq!(Money::from_usd(0.03), Ok(Money::from_micros(30_000)));
        assert_eq!(
            Money::from_usd(1.2345674),
            Ok(Money::from_micros(1_234_567))
        );
        assert_eq!(
            Money::from_usd(1.2345676),
            Ok(Money::from_micros(1_234_568))
        );
        assert_eq!(Money::from_usd(0.0000004), Ok(Money::ZERO));
        assert_eq!(Money::from_usd(0.0000006), Ok(Money::from_micros(1)));
        assert_eq!(Money::from_usd(0.0), Ok(Money::ZERO));
        assert_eq!(Money::from_micros(2_500_000).as_usd(), 2.5);
    }

    #[test]
    fn amounts_that_are_not_money_are_errors() {
        assert_eq!(Money::from_usd(-0.01), Err(MoneyError::Negative(-0.01)));
        assert!(matches!(
            Money::from_usd(f64::NAN),
            Err(MoneyError::NotFinite(_))
        ));
        assert_eq!(
            Money::from_usd(f64::INFINITY),
            Err(MoneyError::NotFinite(f64::INFINITY))
        );
        assert_eq!(Money::from_usd(2e13), Err(MoneyError::TooLarge(2e13)));
        assert_eq!(
            Money::from_usd(-1.0).map_err(|e| e.to_string()),
            Err("-1 US dollars is negative: expected 0 or more".to_owned())
        );
    }

    #[test]
    fn dollars_print_with_cents_at_least_or_all_six_digits() {
        let m = Money::from_micros;
        assert_eq!(m(4_980_000).to_string(), "$4.98");
        assert_eq!(m(10_000).to_string(), "$0.01");
        assert_eq!(m(5_000_000).to_string(), "$5.00");
        assert_eq!(m(1_234_567).to_string(), "$1.234567");
        assert_eq!(m(0).to_string(), "$0.00");
        assert_eq!(format!("{:#}", m(30_000)), "$0.030000");
        assert_eq!(format!("{:#}", m(12_000_001)), "$12.000001");
        assert_eq!(format!("{:>8}", m(10_000)), "   $0.01");
    }

    #[test]
    fn sums_check_or_saturate() {
        let max = Money::from_micros(u64::MAX);
        let one = Money::from_micros(1);
        assert_eq!(one.checked_add(one), Some(Money::from_micros(2)));
        assert_eq!(max.checked_add(one), None);
        assert_eq!(max.saturating_add(one), max);
        assert_eq!(one.checked_sub(max), None);
        assert_eq!([max, one].into_iter().sum::<Money>(), max);
        assert_eq!([one, one, one].into_iter().sum::<Money>().micros(), 3);
    }

    #[test]
    fn it_serializes_as_its_micro_dollars() {
        let m = Money::from_micros(22_000);
        assert_eq!(serde_json::to_string(&m).ok().as_deref(), Some("22000"));
        let back: Result<Money, _> = serde_json::from_str("22000");
        assert_eq!(back.ok(), Some(m));
    }
}

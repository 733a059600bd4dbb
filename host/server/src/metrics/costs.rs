//! `weft_cost_usd_total{tenant,pool,model}`: the store's all-time totals read
//! once, when the daemon starts following its engine, plus the charges the
//! engine committed since ([`Engine::charges`], in memory). A scrape reads no
//! cost table.
//!
//! With several daemons on one database, each daemon's figure is the store's
//! totals when it started plus its own charges since: the charges of the
//! others after that are not in it.

use std::collections::BTreeMap;
use std::sync::{Mutex, PoisonError};

use weft_core::Money;
use weft_engine::{ChargeTotal, Engine};
use weft_store_api::{Store, StoreError};

use super::decls::Families;

/// (tenant, pool, model).
type Key = (String, String, String);

/// Micro-dollars per (tenant, pool, model).
type Totals = BTreeMap<Key, u64>;

/// What `weft_cost_usd_total` starts from.
#[derive(Debug, Default)]
pub(crate) struct CostSeed {
    seed: Mutex<Seed>,
}

#[derive(Debug, Default)]
struct Seed {
    /// The store's totals when the seed was read.
    store: Totals,
    /// The engine's own charges then (already in `store`).
    engine: Totals,
}

impl CostSeed {
    /// Reads the store's all-time totals (one scan of the cost rows) and
    /// notes the engine's charges at that point, which those totals hold.
    /// Called before the engine runs tasks (the daemon does so), the two
    /// agree: no charge is counted twice or missed.
    pub async fn read(&self, store: &dyn Store, engine: &Engine) -> Result<(), StoreError> {
        let counted = by_key(engine.charges());
        let mut totals = Totals::new();
        for row in store.costs("", None).await? {
            let total = totals.entry((row.tenant, row.pool, row.model)).or_default();
            *total = total.saturating_add(row.micro_usd);
        }
        *self.seed.lock().unwrap_or_else(PoisonError::into_inner) = Seed {
            store: totals,
            engine: counted,
        };
        Ok(())
    }

    /// The totals now: the seed plus what the engine charged since it.
    fn totals(&self, charges: Vec<ChargeTotal>) -> Totals {
        let seed = self.seed.lock().unwrap_or_else(PoisonError::into_inner);
        let mut totals = seed.store.clone();
        for (key, now) in by_key(charges) {
            let before = seed.engine.get(&key).copied().unwrap_or(0);
            let total = totals.entry(key).or_default();
            *total = total.saturating_add(now.saturating_sub(before));
        }
        totals
    }

    /// Raises every `weft_cost_usd_total` series to its total now (in
    /// memory: the seed and the engine's charges).
    pub fn publish(&self, families: &Families, engine: &Engine) {
        for ((tenant, pool, model), micro_usd) in self.totals(engine.charges()) {
            let counter = families.cost_usd.with_label_values(&[
                tenant.as_str(),
                pool.as_str(),
                model.as_str(),
            ]);
            let usd = Money::from_micros(micro_usd).as_usd();
            let seen = counter.get();
            if usd > seen {
                counter.inc_by(usd - seen);
            }
        }
    }
}

fn by_key(charges: Vec<ChargeTotal>) -> Totals {
    charges
        .into_iter()
        .map(|c| ((c.tenant, c.pool, c.model), c.micro_usd))
        .collect()
}

#[cfg(test)]
mod tests {
    use weft_engine::ChargeTotal;

    use super::{CostSeed, Seed, Totals};

    fn key(tenant: &str) -> (String, String, String) {
        (tenant.into(), "default".into(), "mock".into())
    }

    fn charge(tenant: &str, micro_usd: u64) -> ChargeTotal {
        ChargeTotal {
            tenant: tenant.into(),
            pool: "default".into(),
            model: "mock".into(),
            micro_usd,
        }
    }

    #[test]
    fn the_engine_charges_already_in_the_seed_are_not_counted_twice() {
        let costs = CostSeed::default();
        *costs.seed.lock().unwrap_or_else(|e| e.into_inner()) = Seed {
            store: Totals::from([(key("acme"), 90_000)]),
            engine: Totals::from([(key("acme"), 30_000)]),
        };
        let now = costs.totals(vec![charge("acme", 50_000), charge("beta", 7)]);
        assert_eq!(
            now,
            Totals::from([(key("acme"), 110_000), (key("beta"), 7)])
        );
    }
}

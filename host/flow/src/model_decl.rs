//! `models:` in `weft.yaml`: each model's adapter plugin, config, price, pool
//! and network settings. Decoded here as written ([`AuthoredModel`]); its
//! `adapter` and `pool` are checked by the validation of `weft.yaml`
//! (`project_validate`), once plugins and pools are known.

use serde_json::Value as Json;
use weft_core::{Money, MoneyError};

use crate::decode::{Ctx, Fields, Spanned};
use crate::diagnostic::Location;
use crate::model_net::{ModelNet, decode_model_net};
use crate::yaml::{self, Pos, location};

const MODEL_KEYS: &[&str] = &[
    "adapter",
    "config",
    "price",
    "pool",
    "allowed_hosts",
    "api_key_env",
    "timeouts",
    "circuit",
];
const PRICE_KEYS: &[&str] = &["input_per_million_usd", "output_per_million_usd"];

/// The price of a model per million tokens (`input_per_million_usd`,
/// `output_per_million_usd` in `weft.yaml`), to the micro-dollar.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Price {
    /// Per million input tokens.
    pub input_per_million: Money,
    /// Per million output tokens.
    pub output_per_million: Money,
}

/// A model declared in `weft.yaml`.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelDecl {
    /// Its name, used by a step's `model:`.
    pub name: String,
    /// The model plugin that talks to the provider.
    pub adapter: String,
    /// `config:` as JSON, passed to the adapter (`{}` when absent).
    pub config: Json,
    /// The price, if given.
    pub price: Option<Price>,
    /// Hosts its adapter may reach, its API key variable, timeouts, circuit.
    pub net: ModelNet,
    /// The pool its steps run in (unless a step names one).
    pub pool: Option<String>,
    /// Where the model is declared.
    pub location: Location,
}

/// A model as written: its references not yet checked, and `None` where a
/// value was missing or wrong (already reported).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct AuthoredModel {
    /// Its name.
    pub name: String,
    /// Where its name is written.
    pub pos: Pos,
    /// `adapter:`, a plugin name.
    pub adapter: Option<Spanned<String>>,
    /// `config:` (`{}` when absent).
    pub config: Option<Json>,
    /// `price:`.
    pub price: Option<Price>,
    /// `allowed_hosts`, `api_key_env`, `timeouts`, `circuit`.
    pub net: ModelNet,
    /// `pool:`, a pool name.
    pub pool: Option<Spanned<String>>,
}

impl AuthoredModel {
    /// The declaration, when its adapter and config were written right (else the
    /// model is left out, and naming it is an unknown model).
    pub fn into_decl(self, file: &str) -> Option<ModelDecl> {
        Some(ModelDecl {
            location: location(file, self.pos),
            name: self.name,
            adapter: self.adapter?.value,
            config: self.config?,
            price: self.price,
            net: self.net,
            pool: self.pool.map(|p| p.value),
        })
    }
}

/// Decodes `models:`, in file order; a model that is not a mapping is reported
/// and left out.
pub(crate) fn decode_models(ctx: &mut Ctx<'_>, node: &yaml::Node) -> Vec<AuthoredModel> {
    ctx.decode_entries(node, "models", decode_model)
}

fn decode_model(ctx: &mut Ctx<'_>, key: &yaml::Key, node: &yaml::Node) -> Option<AuthoredModel> {
    let path = format!("models.{}", key.name);
    let fields = ctx.map(node, &path, MODEL_KEYS, key.pos)?;
    let adapter = ctx.required(&fields, "adapter", "the name of a model plugin");
    let adapter = adapter.and_then(|n| ctx.name(n, &fields.child("adapter"), 64));
    let config = match fields.get("config") {
        Some(n) => ctx.object(n, &fields.child("config")),
        None => Some(Json::Object(serde_json::Map::new())),
    };
    let pool = fields
        .get("pool")
        .and_then(|n| ctx.name(n, &fields.child("pool"), 64));
    let price = fields
        .entry("price")
        .and_then(|(pkey, n)| decode_price(ctx, &fields, pkey.pos, n));
    let net = decode_model_net(ctx, &fields);
    Some(AuthoredModel {
        name: key.name.clone(),
        pos: key.pos,
        adapter,
        config,
        price,
        net,
        pool,
    })
}

/// `price:`; a missing or wrong amount is reported and left at 0.
fn decode_price(ctx: &mut Ctx<'_>, model: &Fields<'_>, at: Pos, n: &yaml::Node) -> Option<Price> {
    let ppath = model.child("price");
    let pf = ctx.map(n, &ppath, PRICE_KEYS, at)?;
    let mut p = Price::default();
    for (name, slot) in [
        (PRICE_KEYS[0], &mut p.input_per_million),
        (PRICE_KEYS[1], &mut p.output_per_million),
    ] {
        let Some(v) = ctx.required(&pf, name, "US dollars per million tokens") else {
            continue;
        };
        let amount = match v.value {
            yaml::Value::Int(i) => i as f64,
            yaml::Value::Float(f) => f,
            _ => {
                ctx.wrong_type(v, &pf.child(name), "a number of dollars, 0 or more");
                continue;
            }
        };
        match Money::from_usd(amount) {
            Ok(m) => *slot = m,
            Err(e) => {
                let why = match e {
                    MoneyError::Negative(_) => "negative price".to_owned(),
                    e => format!("invalid price ({e})"),
                };
                let d = ctx
                    .at(v.pos, format!("{why} for `{}`", pf.child(name)))
                    .expected("expected a number of dollars, 0 or more");
                ctx.push(d);
            }
        }
    }
    Some(p)
}

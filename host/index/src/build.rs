//! Parsed query clauses and filters → one tantivy query.

use std::ops::Bound;

use tantivy::Index;
use tantivy::query::{
    AllQuery, BooleanQuery, EmptyQuery, Occur, PhraseQuery, Query, RangeQuery, TermQuery,
};
use tantivy::schema::{Field, IndexRecordOption};
use tantivy::tokenizer::TokenStream;

use crate::error::IndexError;
use crate::query::{Clause, QField, QueryError, Term as QTerm};
use crate::schema::Fields;
use crate::when::parse_time;

/// What narrows every search besides the query text.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Filters {
    /// Only this tenant's runs (forced for a tenant's token).
    pub tenant: Option<String>,
    /// Only this flow.
    pub flow: Option<String>,
    /// Only this status.
    pub status: Option<String>,
    /// Only runs submitted at or after this time (ms).
    pub since_ms: Option<u64>,
    /// Only runs submitted before this time (ms).
    pub until_ms: Option<u64>,
    /// Step outcomes instead of runs.
    pub steps: bool,
}

/// The tantivy query for `terms` under `filters`, times read against `now_ms`.
pub fn build(
    index: &Index,
    f: &Fields,
    terms: &[QTerm],
    filters: &Filters,
    now_ms: u64,
) -> Result<Box<dyn Query>, IndexError> {
    let mut clauses: Vec<(Occur, Box<dyn Query>)> = Vec::new();
    let kind = if filters.steps { "step" } else { "run" };
    clauses.push((Occur::Must, exact(f.kind, kind)));
    for (field, value) in [
        (f.tenant, &filters.tenant),
        (f.flow, &filters.flow),
        (f.status, &filters.status),
    ] {
        if let Some(v) = value {
            clauses.push((Occur::Must, exact(field, v)));
        }
    }
    if let Some(q) = time_range(f.created, filters.since_ms, filters.until_ms) {
        clauses.push((Occur::Must, q));
    }
    for term in terms {
        let q = clause_query(index, f, term, now_ms)?;
        let occur = if term.negated {
            Occur::MustNot
        } else {
            Occur::Must
        };
        clauses.push((occur, q));
    }
    Ok(Box::new(BooleanQuery::new(clauses)))
}

fn clause_query(
    index: &Index,
    f: &Fields,
    term: &QTerm,
    now_ms: u64,
) -> Result<Box<dyn Query>, IndexError> {
    let at = |e: IndexError| match e {
        IndexError::BadTime { value, why } => IndexError::Query(QueryError {
            column: term.column,
            message: format!("bad time `{value}`: {why}"),
        }),
        other => other,
    };
    Ok(match &term.clause {
        Clause::Field(QField::Flow, v) => exact(f.flow, v),
        Clause::Field(QField::Status, v) => exact(f.status, v),
        Clause::Field(QField::Tenant, v) => exact(f.tenant, v),
        Clause::Field(QField::Step, v) => exact(f.step, v),
        Clause::Field(QField::Run, v) => exact(f.run, v),
        Clause::Field(QField::Error, v) => words(index, f.error, v, term.column)?,
        Clause::Field(QField::Input, v) => words(index, f.input, v, term.column)?,
        Clause::Field(QField::Output, v) => words(index, f.output, v, term.column)?,
        Clause::Field(QField::Summary, v) => words(index, f.summary, v, term.column)?,
        Clause::Free(v) => {
            let mut any: Vec<(Occur, Box<dyn Query>)> = Vec::new();
            for field in f.texts() {
                any.push((Occur::Should, words(index, field, v, term.column)?));
            }
            Box::new(BooleanQuery::new(any))
        }
        Clause::Since(v) => {
            let ms = parse_time(v, now_ms).map_err(at)?;
            time_range(f.created, Some(ms), None).unwrap_or_else(|| Box::new(AllQuery))
        }
        Clause::Until(v) => {
            let ms = parse_time(v, now_ms).map_err(at)?;
            time_range(f.created, None, Some(ms)).unwrap_or_else(|| Box::new(AllQuery))
        }
    })
}

/// An exact match on a `STRING` field.
fn exact(field: Field, value: &str) -> Box<dyn Query> {
    Box::new(TermQuery::new(
        tantivy::Term::from_field_text(field, value),
        IndexRecordOption::Basic,
    ))
}

/// `value` in a text field: one word is a term, several are a phrase.
fn words(
    index: &Index,
    field: Field,
    value: &str,
    column: usize,
) -> Result<Box<dyn Query>, IndexError> {
    let mut analyzer = index.tokenizer_for_field(field)?;
    let mut stream = analyzer.token_stream(value);
    let mut terms = Vec::new();
    while stream.advance() {
        terms.push(tantivy::Term::from_field_text(field, &stream.token().text));
    }
    Ok(match terms.len() {
        0 => {
            return Err(IndexError::Query(QueryError {
                column,
                message: format!("`{value}` has no letters or digits to search for"),
            }));
        }
        1 => Box::new(TermQuery::new(
            terms.remove(0),
            IndexRecordOption::WithFreqsAndPositions,
        )),
        _ => Box::new(PhraseQuery::new(terms)),
    })
}

/// `since ≤ created < until`; `None` without bounds.
fn time_range(field: Field, since: Option<u64>, until: Option<u64>) -> Option<Box<dyn Query>> {
    if since.is_none() && until.is_none() {
        return None;
    }
    if let (Some(s), Some(u)) = (since, until)
        && s >= u
    {
        return Some(Box::new(EmptyQuery));
    }
    let lower = since.map_or(Bound::Unbounded, |s| {
        Bound::Included(tantivy::Term::from_field_u64(field, s))
    });
    let upper = until.map_or(Bound::Unbounded, |u| {
        Bound::Excluded(tantivy::Term::from_field_u64(field, u))
    });
    Some(Box::new(RangeQuery::new(lower, upper)))
}

//! The tantivy schema of the keyword index.

use tantivy::schema::{FAST, Field, INDEXED, STORED, STRING, Schema, TEXT};

/// Bumped when the schema changes; an index of another version must be rebuilt.
pub const SCHEMA_VERSION: u32 = 1;

/// The fields of the schema.
#[derive(Debug, Clone, Copy)]
pub struct Fields {
    /// `run` or `step`.
    pub kind: Field,
    /// The run id (both kinds); a run is replaced by deleting this term.
    pub run: Field,
    /// The flow id.
    pub flow: Field,
    /// The tenant.
    pub tenant: Field,
    /// Run status, or the task state of a step document.
    pub status: Field,
    /// Step ids (several on a run document, one on a step document).
    pub step: Field,
    /// Submission time, ms (fast: sorting and ranges).
    pub created: Field,
    /// Last change, ms.
    pub updated: Field,
    /// Finish time, ms (absent while running).
    pub finished: Field,
    /// Error texts.
    pub error: Field,
    /// Input text.
    pub input: Field,
    /// Output text.
    pub output: Field,
    /// Plugin-provided summary.
    pub summary: Field,
}

/// The schema and its fields.
pub fn build() -> (Schema, Fields) {
    let mut b = Schema::builder();
    let fields = Fields {
        kind: b.add_text_field("kind", STRING | STORED),
        run: b.add_text_field("run", STRING | STORED),
        flow: b.add_text_field("flow", STRING | STORED),
        tenant: b.add_text_field("tenant", STRING | STORED),
        status: b.add_text_field("status", STRING | STORED),
        step: b.add_text_field("step", STRING | STORED),
        created: b.add_u64_field("created", INDEXED | STORED | FAST),
        updated: b.add_u64_field("updated", INDEXED | STORED | FAST),
        finished: b.add_u64_field("finished", INDEXED | STORED),
        error: b.add_text_field("error", TEXT | STORED),
        input: b.add_text_field("input", TEXT | STORED),
        output: b.add_text_field("output", TEXT | STORED),
        summary: b.add_text_field("summary", TEXT | STORED),
    };
    (b.build(), fields)
}

impl Fields {
    /// The free-text fields, in the order snippets are taken from.
    pub fn texts(&self) -> [Field; 4] {
        [self.summary, self.error, self.output, self.input]
    }
}

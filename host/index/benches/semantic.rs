//! Semantic search benchmark (written next).

fn main() {}

//! A quiet index must let go of merged-away segments: after a merge that ends
//! past the last commit, searches keep reading the old segments until
//! [`KeywordIndex::refresh`].

use super::KeywordIndex;
use crate::doc::RunDoc;

fn run(id: &str) -> RunDoc {
    RunDoc {
        run_id: id.to_owned(),
        flow: "demo".to_owned(),
        tenant: "default".to_owned(),
        status: "succeeded".to_owned(),
        created_ms: 1,
        updated_ms: 2,
        finished_ms: Some(2),
        input: format!("ticket {id}"),
        output: "done".to_owned(),
        errors: String::new(),
        summary: String::new(),
        steps: Vec::new(),
    }
}

/// Merges every searchable segment into one and waits for the merge.
fn merge_all(index: &KeywordIndex) -> Result<(), Box<dyn std::error::Error>> {
    let ids = index.index.searchable_segment_ids()?;
    let mut writer = index.writer.lock().map_err(|_| "poisoned writer")?;
    writer.merge(&ids).wait()?;
    Ok(())
}

#[test]
fn refresh_swaps_merged_segments_in() -> Result<(), Box<dyn std::error::Error>> {
    let dir = tempfile::tempdir()?;
    let index = KeywordIndex::open(dir.path())?;
    for (seq, id) in ["r1", "r2", "r3"].into_iter().enumerate() {
        index.apply(&[run(id)], &[], seq as u64 + 1)?;
    }
    assert_eq!(index.searched_segments(), 3, "one segment per commit");

    merge_all(&index)?;
    assert_eq!(index.index.searchable_segment_ids()?.len(), 1);
    assert_eq!(
        index.searched_segments(),
        3,
        "without a commit the reader still holds the merged-away segments"
    );

    index.refresh()?;
    assert_eq!(index.searched_segments(), 1);
    assert_eq!(index.doc_count(), 3, "the merge kept every document");
    assert_eq!(
        index.indexed_seq()?,
        3,
        "a merge keeps the commit's payload"
    );
    Ok(())
}

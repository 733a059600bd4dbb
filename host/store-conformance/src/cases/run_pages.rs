//! Listing runs page by page (the console's runs list) and by time.

use weft_store_api::{RunCursor, RunFilter};

use crate::Backend;
use crate::support::{T0, run, task};

/// Pages by cursor visit every run once, newest first, also among runs
/// submitted in the same millisecond; `since_ms`/`until_ms` bound the
/// submission time, and combine with the cursor and the other fields.
pub async fn runs_page_by_cursor_and_time(b: &dyn Backend) {
    let (store, _) = b.fresh().await;
    // Times T0, T0, T0+1, T0+1, T0+2, T0+2, T0+3; the odd ones in flow `other`.
    let mut submitted = Vec::new();
    for k in 0..7u64 {
        let mut new = run(vec![task("a", "p", 0)]);
        if k % 2 == 1 {
            new.flow_id = "other".into();
        }
        let s = store.submit_run(new, T0 + k / 2).await.unwrap();
        submitted.push(s.run_id);
    }
    let all = store.runs_list(100, &RunFilter::default()).await.unwrap();
    assert_eq!(all.len(), 7);

    let mut paged = Vec::new();
    let mut filter = RunFilter::default();
    loop {
        let page = store.runs_list(2, &filter).await.unwrap();
        assert!(page.len() <= 2);
        let Some(last) = page.last() else { break };
        filter.before = Some(RunCursor::of(last));
        paged.extend(page.iter().map(|r| r.id.clone()));
    }
    let ids: Vec<_> = all.iter().map(|r| r.id.clone()).collect();
    assert_eq!(paged, ids, "pages of 2 give the whole list once, in order");
    let mut oldest_first = ids.clone();
    oldest_first.reverse();
    let mut by_submission = submitted.clone();
    by_submission.sort_by_key(|id| {
        let r = all.iter().find(|r| &r.id == id).unwrap();
        (r.created_ms, r.id.clone())
    });
    assert_eq!(oldest_first, by_submission);

    let window = RunFilter {
        since_ms: Some(T0 + 1),
        until_ms: Some(T0 + 3),
        ..RunFilter::default()
    };
    let in_window = store.runs_list(100, &window).await.unwrap();
    assert_eq!(in_window.len(), 4, "T0+1 and T0+2, two each");
    assert!(
        in_window
            .iter()
            .all(|r| (T0 + 1..T0 + 3).contains(&r.created_ms))
    );

    let first = store.runs_list(1, &window).await.unwrap();
    let rest = RunFilter {
        before: Some(RunCursor::of(&first[0])),
        flow_id: Some("other".into()),
        ..window.clone()
    };
    let others = store.runs_list(100, &rest).await.unwrap();
    assert!(
        others
            .iter()
            .all(|r| r.flow_id == "other" && r.id != first[0].id)
    );
    assert!(
        others
            .iter()
            .all(|r| (r.created_ms, &r.id) < (first[0].created_ms, &first[0].id))
    );
    assert_eq!(
        others.len(),
        in_window
            .iter()
            .skip(1)
            .filter(|r| r.flow_id == "other")
            .count()
    );

    let cursor = RunCursor::of(&all[3]);
    assert_eq!(RunCursor::decode(&cursor.encode()), Some(cursor));
    assert_eq!(RunCursor::decode("12-"), None);
    assert_eq!(RunCursor::decode("x-run"), None);
}

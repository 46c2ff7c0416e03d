mod common;

use common::MemoryStore;
use fumidai_history::checks;

const T0: i64 = 1_767_225_600;

#[tokio::test]
async fn all_suites_on_a_fresh_store() {
    checks::check_all(&MemoryStore::default()).await;
}

#[tokio::test]
async fn suites_share_a_store() {
    // The suites must not depend on running alone.
    let s = MemoryStore::default();
    checks::check_lookalike(&s, T0).await;
    checks::check_levels(&s, T0).await;
    checks::check_window(&s, T0).await;
    checks::check_inbound(&s, T0).await;
    checks::check_whitelist(&s, T0).await;
    checks::check_import_idempotent(&s).await;
    checks::check_all(&s).await;
}

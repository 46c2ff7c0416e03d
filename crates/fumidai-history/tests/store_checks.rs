//! The `checks` suites on both real backends (SQLite in a temporary file; PostgreSQL in a throw-away schema,
//! skipped with a message when no server answers at FUMIDAI_TEST_POSTGRES).

use fumidai_history::checks;
use fumidai_store::testing::each_backend;

const T0: i64 = 1_767_225_600;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn all_suites_on_a_fresh_store() {
    each_backend(|store, _| async move { checks::check_all(&*store).await }).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn suites_share_a_store() {
    // The suites must not depend on running alone or first.
    each_backend(|store, _| async move {
        let s = &*store;
        checks::check_lookalike(s, T0).await;
        checks::check_levels(s, T0).await;
        checks::check_window(s, T0).await;
        checks::check_inbound(s, T0).await;
        checks::check_whitelist(s, T0).await;
        checks::check_import_idempotent(s).await;
        checks::check_all(s).await;
    })
    .await;
}

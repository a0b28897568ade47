//! Sign-in throttling on every backend: parallel guesses are counted before any password is checked, and
//! password hashing runs a bounded number at a time.

mod common;

use common::Backend;
use integration_hub::model::ErrorCode;
use integration_hub::server::auth::throttle::{HASH_WAIT, MAX_FAILURES};
use std::time::{Duration, Instant};

backend_tests!(parallel_wrong_passwords_for_one_email_reach_verification_at_most_max_failures_times);
async fn parallel_wrong_passwords_for_one_email_reach_verification_at_most_max_failures_times(b: Backend) {
    let n = b.name;
    // Enough hashing slots that none of the guesses waits for one: only the throttle may refuse them.
    let hub = common::hub_configured(&b, |c| c.serve.max_concurrent_hashes = 20).await;
    hub.bootstrap("admin@example.com", Some("admin-password-1")).await.unwrap();
    let mut guesses = tokio::task::JoinSet::new();
    for i in 0..20 {
        let hub = hub.clone();
        // From as many addresses as guesses: only the email's count can stop them.
        guesses.spawn(async move { hub.login("admin@example.com", "wrong-guess", &format!("10.0.0.{i}")).await });
    }
    let (mut verified, mut refused) = (0, 0);
    while let Some(r) = guesses.join_next().await {
        let err = r.unwrap().unwrap_err();
        match err.code {
            ErrorCode::Unauthorized => verified += 1,
            ErrorCode::RateLimited => {
                assert!(err.message.contains("Too many failed sign-ins"), "[{n}] {err:?}");
                refused += 1
            }
            other => panic!("[{n}] unexpected {other:?}: {err:?}"),
        }
    }
    assert_eq!((verified, refused), (MAX_FAILURES, 20 - MAX_FAILURES), "[{n}]");
    // The right password is locked out as well now.
    let locked = hub.login("admin@example.com", "admin-password-1", "10.9.9.9").await.unwrap_err();
    assert_eq!(locked.code, ErrorCode::RateLimited, "[{n}]");
}

backend_tests!(a_sign_in_waits_for_a_free_hashing_slot_and_is_refused_when_none_comes_free);
async fn a_sign_in_waits_for_a_free_hashing_slot_and_is_refused_when_none_comes_free(b: Backend) {
    let n = b.name;
    let hub = common::hub_configured(&b, |c| c.serve.max_concurrent_hashes = 1).await;
    hub.bootstrap("admin@example.com", Some("admin-password-1")).await.unwrap();

    // Four wrong guesses: one more may still be checked.
    for _ in 0..MAX_FAILURES - 1 {
        let err = hub.login("admin@example.com", "wrong-guess", "10.0.0.1").await.unwrap_err();
        assert_eq!(err.code, ErrorCode::Unauthorized, "[{n}]");
    }

    // Every slot is taken (as by a flood of sign-ins): the next one waits, then gets a clear 429.
    let slot = hub.throttle.hash_permit(1, HASH_WAIT).await.unwrap();
    let started = Instant::now();
    let busy = hub.login("admin@example.com", "wrong-guess", "10.0.0.1").await.unwrap_err();
    assert_eq!(busy.code, ErrorCode::RateLimited, "[{n}] {busy:?}");
    assert!(busy.message.contains("Try again in a few seconds"), "[{n}] {busy:?}");
    assert!(started.elapsed() >= HASH_WAIT - Duration::from_millis(100), "[{n}] it waited first");

    // That attempt checked nothing, so it counted nothing: the fifth guess still gets its turn, waiting
    // for the slot until it comes free.
    let waiting = tokio::spawn({
        let hub = hub.clone();
        async move { hub.login("admin@example.com", "wrong-guess", "10.0.0.1").await }
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(!waiting.is_finished(), "[{n}] waiting for the slot");
    drop(slot);
    assert_eq!(waiting.await.unwrap().unwrap_err().code, ErrorCode::Unauthorized, "[{n}]");
    let locked = hub.login("admin@example.com", "admin-password-1", "10.0.0.1").await.unwrap_err();
    assert!(locked.message.contains("Too many failed sign-ins"), "[{n}] {locked:?}");
}

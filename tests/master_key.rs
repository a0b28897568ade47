//! A database restored without its master key, or opened with another key, must not start: a fresh key would
//! open none of the sealed signing secrets, and every delivery would fail to sign.

mod common;

use common::fixtures::{add_hook, hook_to};
use common::Backend;
use integration_hub::server::service::{Actor, Hub};

backend_tests!(a_database_whose_secrets_no_key_opens_refuses_to_start);
async fn a_database_whose_secrets_no_key_opens_refuses_to_start(b: Backend) {
    let n = b.name;
    let hub = common::hub(&b).await;
    let t = hub.create_tenant(Actor::System, "Acme").await.unwrap();
    add_hook(&hub, hook_to("https://example.com/hook", &t.id)).await;
    drop(hub);
    let mut other = common::config(&b.url);
    other.master_key = Some([7u8; 32]);
    let err = Hub::open(other).await.err().unwrap_or_else(|| panic!("[{n}] opened with the wrong key"));
    assert!(err.contains("does not open the secrets"), "[{n}] {err}");
    // The right key still opens it.
    assert!(Hub::open(common::config(&b.url)).await.is_ok(), "[{n}]");
}

#[test]
fn a_missing_master_key_file_is_not_replaced_when_secrets_exist() {
    common::run(async {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("hub.db").display());
        let key_file = dir.path().join("master.key");
        let mut cfg = common::config(&url);
        cfg.master_key = None;
        let hub = Hub::open(cfg.clone()).await.unwrap();
        assert!(key_file.exists(), "the first start writes the key beside the database");
        let t = hub.create_tenant(Actor::System, "Acme").await.unwrap();
        add_hook(&hub, hook_to("https://example.com/hook", &t.id)).await;
        drop(hub);
        let saved = std::fs::read(&key_file).unwrap();
        std::fs::remove_file(&key_file).unwrap();
        let err = Hub::open(cfg.clone()).await.err().expect("started without its key");
        assert!(err.contains("master.key is missing") && err.contains("restore"), "{err}");
        assert!(!key_file.exists(), "no new key was written in its place");
        std::fs::write(&key_file, saved).unwrap();
        assert!(Hub::open(cfg).await.is_ok(), "the restored key opens it again");
    });
}

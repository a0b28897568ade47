//! The binary: bad configuration exits non-zero with one line saying what to fix; admin commands print ids.

use std::process::Command;

fn hub(args: &[&str], envs: &[(&str, &str)]) -> (bool, String, String) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_integration-hub"));
    cmd.args(args).env_remove("HUB_MASTER_KEY").env_remove("HUB_DATABASE_URL");
    for (k, v) in envs {
        cmd.env(k, v);
    }
    let out = cmd.output().expect("run binary");
    (out.status.success(), String::from_utf8_lossy(&out.stdout).into(), String::from_utf8_lossy(&out.stderr).into())
}

fn one_error_line(stderr: &str) -> String {
    let lines: Vec<_> = stderr.lines().filter(|l| l.starts_with("error:")).collect();
    assert_eq!(lines.len(), 1, "exactly one error line expected, got: {stderr}");
    lines[0].to_string()
}

#[test]
fn bad_configuration_is_one_clear_line() {
    let (ok, _, err) = hub(&["migrate"], &[("HUB_DATABASE_URL", "mysql://localhost/x")]);
    assert!(!ok);
    assert!(one_error_line(&err).contains("HUB_DATABASE_URL"), "{err}");

    let (ok, _, err) = hub(&["migrate"], &[("HUB_DATABASE_URL", "sqlite:///tmp/x.db"), ("HUB_MASTER_KEY", "abcd")]);
    assert!(!ok);
    assert!(one_error_line(&err).contains("HUB_MASTER_KEY must be 32 bytes"), "{err}");

    let (ok, _, err) = hub(&["migrate"], &[("HUB_DATABASE_URL", "postgres://nobody@127.0.0.1:1/none")]);
    assert!(!ok);
    assert!(one_error_line(&err).contains("HUB_MASTER_KEY is required"), "{err}");

    // Invalid Leptos options are found before the database is opened (no file made, no admin created).
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("hub.db");
    let url = format!("sqlite://{}", db.display());
    let env = [("HUB_DATABASE_URL", url.as_str()), ("LEPTOS_ENV", "staging")];
    let (ok, _, err) = hub(&["serve"], &env);
    assert!(!ok);
    assert!(one_error_line(&err).contains("Leptos options"), "{err}");
    assert!(!db.exists(), "the database was not touched");

    let key = "ab".repeat(32);
    let (ok, _, err) =
        hub(&["migrate"], &[("HUB_DATABASE_URL", "postgres://nobody:pw@127.0.0.1:1/none"), ("HUB_MASTER_KEY", &key)]);
    assert!(!ok);
    let line = one_error_line(&err);
    assert!(line.contains("cannot connect to PostgreSQL") && !line.contains(":pw@"), "{line}");
}

#[test]
fn tenant_and_user_commands_print_ids_and_a_generated_password_once() {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}/hub.db", dir.path().display());
    let env = [("HUB_DATABASE_URL", db.as_str())];
    let (ok, out, err) = hub(&["tenant", "create", "--name", "Acme"], &env);
    assert!(ok, "{err}");
    let tenant = out.trim().to_string();
    assert!(tenant.starts_with("ten_"), "{out}");
    assert!(dir.path().join("master.key").exists(), "master key generated beside the database");

    let (ok, out, err) = hub(&["user", "create", "--email", "a@acme.test", "--tenant", &tenant], &env);
    assert!(ok, "{err}");
    let mut lines = out.lines();
    assert!(lines.next().unwrap().starts_with("usr_"), "{out}");
    assert!(lines.next().unwrap().starts_with("password: "), "{out}");

    let (ok, _, err) = hub(&["user", "create", "--email", "a@acme.test", "--tenant", &tenant], &env);
    assert!(!ok);
    assert!(one_error_line(&err).contains("email: is already registered"), "{err}");

    let (ok, out, _) = hub(&["tenant", "list"], &env);
    assert!(ok && out.contains("Acme"), "{out}");
}

#[test]
fn backup_copies_the_sqlite_database_and_names_the_key_it_needs() {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}/hub.db", dir.path().display());
    let (ok, _, err) = hub(&["tenant", "create", "--name", "Acme"], &[("HUB_DATABASE_URL", db.as_str())]);
    assert!(ok, "{err}");
    let copy = dir.path().join("copy.db");
    let to = copy.to_str().unwrap();
    let (ok, out, err) = hub(&["backup", "--to", to], &[("HUB_DATABASE_URL", db.as_str())]);
    assert!(ok, "{err}");
    assert!(out.contains("master.key"), "the output names the key the copy needs: {out}");
    // The copy is a database of its own: with the same key it opens and holds the tenant.
    let key = std::fs::read_to_string(dir.path().join("master.key")).unwrap();
    let restored = format!("sqlite://{to}");
    let env = [("HUB_DATABASE_URL", restored.as_str()), ("HUB_MASTER_KEY", key.trim())];
    let (ok, out, err) = hub(&["tenant", "list"], &env);
    assert!(ok && out.contains("Acme"), "{out}{err}");

    let (ok, _, err) = hub(&["backup", "--to", to], &[("HUB_DATABASE_URL", db.as_str())]);
    assert!(!ok);
    assert!(one_error_line(&err).contains("exists already"), "{err}");
    let missing = format!("sqlite://{}/none.db", dir.path().display());
    let new = dir.path().join("new.db");
    let (ok, _, err) = hub(&["backup", "--to", new.to_str().unwrap()], &[("HUB_DATABASE_URL", missing.as_str())]);
    assert!(!ok && !dir.path().join("none.db").exists(), "no database is made up to be backed up");
    assert!(one_error_line(&err).contains("no database"), "{err}");
    let key = "ab".repeat(32);
    let pg = [("HUB_DATABASE_URL", "postgres://nobody@127.0.0.1:1/none"), ("HUB_MASTER_KEY", key.as_str())];
    let (ok, _, err) = hub(&["backup", "--to", new.to_str().unwrap()], &pg);
    assert!(!ok);
    assert!(one_error_line(&err).contains("pg_dump"), "{err}");
}

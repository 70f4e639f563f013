//! The domain stays free of HTTP, SQL and HTTP clients (docs/ARCHITECTURE.md): checked on
//! the resolved dependency graph, so a transitive dependency counts too.

use std::process::Command;

#[test]
fn domain_does_not_depend_on_io_crates() {
    let out = Command::new(env!("CARGO"))
        .args([
            "tree",
            "-p",
            "pence-core",
            "-e",
            "normal",
            "--prefix",
            "none",
            "--offline",
        ])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("cargo tree");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let tree = String::from_utf8_lossy(&out.stdout);
    assert!(tree.contains("pence-wire"), "unexpected tree: {tree}");
    for banned in [
        "axum ",
        "sqlx ",
        "reqwest ",
        "rusqlite ",
        "hyper ",
        "tokio ",
    ] {
        assert!(
            !tree.lines().any(|l| l.starts_with(banned)),
            "pence-core depends on {banned}:\n{tree}"
        );
    }
}

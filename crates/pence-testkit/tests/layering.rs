//! The layering docs/ARCHITECTURE.md draws, checked on the resolved dependency graph, so a
//! transitive dependency counts too: the domain stays free of HTTP, SQL and HTTP clients, and
//! the service-side kit does not carry the server.

use std::process::Command;

/// Every package `package` depends on to build (not its tests), one `name vX.Y.Z` a line.
fn resolved(package: &str) -> Vec<String> {
    let out = Command::new(env!("CARGO"))
        .args(["tree", "-p", package, "-e", "normal", "--prefix", "none"])
        .args(["--offline"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("cargo tree");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_string)
        .collect()
}

/// Asserts `package` depends on each of `needed` and on none of `banned`.
fn check(package: &str, needed: &[&str], banned: &[&str]) {
    let tree = resolved(package);
    let has = |name: &str| tree.iter().any(|l| l.starts_with(&format!("{name} ")));
    for name in needed {
        assert!(has(name), "{package} should depend on {name}:\n{tree:#?}");
    }
    for name in banned {
        assert!(!has(name), "{package} depends on {name}:\n{tree:#?}");
    }
}

#[test]
fn the_domain_does_not_depend_on_io_crates() {
    check(
        "pence-core",
        &["pence-wire", "pence-store-error"],
        &["axum", "sqlx", "reqwest", "rusqlite", "hyper", "tokio"],
    );
}

#[test]
fn the_connector_does_not_carry_the_server() {
    check(
        "pence-connector",
        &["pence-client", "pence-wire", "pence-sql"],
        &[
            "pence-core",
            "pence-store",
            "pence-telemetry",
            "pence-http",
            "pence-node",
            "prometheus-client",
            "argon2",
        ],
    );
}

//! Every method of the storage port is called by this crate's conformance tests, which run
//! on both engines. A method added to `pence-core/src/ports.rs` without a test fails here.

/// Methods without a conformance test of their own, named with why; none now. The list only
/// shrinks: a method on it that gains a test fails here until it is removed.
const NOT_YET: &[&str] = &[];

#[test]
fn every_store_method_is_called_by_a_conformance_test() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    // The port's own file and the files of the parts kept apart for their size.
    let mut ports = std::fs::read_to_string(root.join("../pence-core/src/ports.rs")).unwrap();
    for entry in std::fs::read_dir(root.join("../pence-core/src/ports")).unwrap() {
        ports.push_str(&std::fs::read_to_string(entry.unwrap().path()).unwrap());
    }
    let mut methods = Vec::new();
    let mut in_store = false;
    for line in ports.lines() {
        if line.starts_with("pub trait ") {
            in_store = line.contains("Store:");
        } else if line == "}" {
            in_store = false;
        } else if in_store {
            let words = line.split_whitespace().collect::<Vec<_>>();
            if let Some(at) = words.windows(2).position(|w| w == ["async", "fn"]) {
                let name = words[at + 2].split(['(', '<']).next().unwrap();
                methods.push(name.to_string());
            }
        }
    }
    assert!(
        methods.len() > 80,
        "the port's methods were not found: {methods:?}"
    );
    let mut tests = String::new();
    for entry in std::fs::read_dir(root.join("tests")).unwrap() {
        let path = entry.unwrap().path();
        let test_file = path.extension().is_some_and(|e| e == "rs");
        if test_file && path.file_name().is_some_and(|n| n != "coverage.rs") {
            tests.push_str(&std::fs::read_to_string(path).unwrap());
        }
    }
    let called = |m: &str| tests.contains(&format!(".{m}("));
    let uncovered: Vec<&str> = methods
        .iter()
        .map(String::as_str)
        .filter(|m| !called(m) && !NOT_YET.contains(m))
        .collect();
    assert!(
        uncovered.is_empty(),
        "store methods no conformance test calls: {uncovered:?}"
    );
    let covered_now: Vec<&&str> = NOT_YET.iter().filter(|m| called(m)).collect();
    assert!(
        covered_now.is_empty(),
        "tested now, take off NOT_YET: {covered_now:?}"
    );
    println!(
        "{} of {} store methods called by conformance tests",
        methods.len() - NOT_YET.len(),
        methods.len()
    );
}

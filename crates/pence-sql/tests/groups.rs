//! Group commit through the engine layer (pence-sql), on both engines: many changes
//! applied at once share transactions, and each is still all or nothing. PostgreSQL applies a
//! group without savepoints first, so the changes that fail part way in are the ones to watch.

use pence_sql::{Database, Options, Schema, Stmt, Val};
use pence_testkit::{Engine, TestDb};

static SCHEMA: Schema = Schema {
    table: "groups_migrations",
    lock_key: 0x67726f757073,
    common: &[(
        1,
        "CREATE TABLE counters (k TEXT PRIMARY KEY, n BIGINT NOT NULL);
         CREATE TABLE notes (k TEXT NOT NULL, note TEXT NOT NULL);",
    )],
    sqlite: &[(
        2,
        "CREATE TABLE log (id INTEGER PRIMARY KEY AUTOINCREMENT, k TEXT NOT NULL, n BIGINT NOT NULL);",
    )],
    postgres: &[(
        2,
        "CREATE TABLE log (id BIGSERIAL PRIMARY KEY, k TEXT NOT NULL, n BIGINT NOT NULL);",
    )],
    sqlite_idle: &[],
};

const BUMP: &str = "UPDATE counters SET n = n + 1 WHERE k = $1 AND n >= $2";
const NOTE: &str = "INSERT INTO notes (k, note) VALUES ($1, $2)";

fn text(s: &str) -> Val {
    Val::Text(s.to_string())
}

/// Change `i` of kind `kind`: bumps and notes; refused by its first statement; refused after
/// noting; a duplicate key after noting.
fn change(kind: usize, i: usize) -> Vec<Stmt> {
    match kind {
        0 => vec![
            Stmt::exec_one(BUMP, vec![text("a"), Val::Int(0)]),
            Stmt::exec(NOTE, vec![text("a"), text(&format!("bumped {i}"))]),
        ],
        1 => vec![
            Stmt::exec_one(BUMP, vec![text("b"), Val::Int(1_000_000)]),
            Stmt::exec(NOTE, vec![text("b"), text("refused first")]),
        ],
        2 => vec![
            Stmt::exec(NOTE, vec![text("b"), text("noted, then refused")]),
            Stmt::exec_one(BUMP, vec![text("b"), Val::Int(1_000_000)]),
        ],
        _ => vec![
            Stmt::exec(NOTE, vec![text("b"), text("noted, then a duplicate")]),
            Stmt::exec(
                "INSERT INTO counters (k, n) VALUES ($1, 0)",
                vec![text("a")],
            ),
        ],
    }
}

pence_testkit::engine_tests!(each_change_of_a_group_is_all_or_nothing);
/// Four kinds of change, 700 at once: one that bumps a counter and notes it; one refused by
/// its first, conditional statement; one refused by a conditional statement after it has
/// noted something; one that inserts a key that exists. Only the first kind leaves anything.
async fn each_change_of_a_group_is_all_or_nothing(engine: Engine) {
    let db = TestDb::new(engine).await;
    let database = Database::open(&db.url, Options::default(), &SCHEMA)
        .await
        .unwrap();
    for k in ["a", "b"] {
        database
            .apply(vec![Stmt::exec(
                "INSERT INTO counters (k, n) VALUES ($1, 0)",
                vec![text(k)],
            )])
            .await
            .unwrap();
    }
    // Without a change that fails outright first (which sends its whole group down the
    // savepoint path), then with one in every four.
    for (from, to, kinds) in [(0, 300, 3), (300, 700, 4)] {
        let mut tasks = Vec::new();
        for i in from..to {
            let database = database.clone();
            tasks.push(tokio::spawn(async move {
                let kind = i % kinds;
                (kind, database.apply(change(kind, i)).await)
            }));
        }
        for t in tasks {
            let (kind, result) = t.await.unwrap();
            match kind {
                0 => result.unwrap(),
                1 | 2 => assert!(
                    matches!(result, Err(pence_sql::StoreError::Conflict)),
                    "kind {kind}: {result:?}"
                ),
                _ => assert!(
                    matches!(result, Err(pence_sql::StoreError::Duplicate)),
                    "{result:?}"
                ),
            }
        }
    }
    let count = |sql: &'static str| {
        let database = database.clone();
        async move {
            let mut rows = database.query(sql, vec![]).await.unwrap();
            rows.remove(0).i64("n").unwrap()
        }
    };
    assert_eq!(count("SELECT n FROM counters WHERE k = 'a'").await, 200);
    assert_eq!(count("SELECT n FROM counters WHERE k = 'b'").await, 0);
    assert_eq!(
        count("SELECT COUNT(*) AS n FROM notes WHERE k = 'a'").await,
        200
    );
    assert_eq!(
        count("SELECT COUNT(*) AS n FROM notes WHERE k = 'b'").await,
        0,
        "a refused change left a note"
    );
    database.close().await;
}

pence_testkit::engine_tests!(a_change_writes_its_rows_in_their_order);
/// A change's log rows take their ids in the order the change lists them, as an event log
/// needs, however the engine sends the change (PostgreSQL sends it as one statement).
async fn a_change_writes_its_rows_in_their_order(engine: Engine) {
    let db = TestDb::new(engine).await;
    let database = Database::open(&db.url, Options::default(), &SCHEMA)
        .await
        .unwrap();
    database
        .apply(vec![Stmt::exec(
            "INSERT INTO counters (k, n) VALUES ($1, 0)",
            vec![text("a")],
        )])
        .await
        .unwrap();
    let mut tasks = Vec::new();
    for i in 0..64 {
        let database = database.clone();
        tasks.push(tokio::spawn(async move {
            let mut change = vec![Stmt::exec_one(BUMP, vec![text("a"), Val::Int(0)])];
            for n in 0..6 {
                change.push(Stmt::insert(
                    "log",
                    "k, n",
                    vec![text(&format!("change {i}")), Val::Int(n)],
                ));
            }
            database.apply(change).await
        }));
    }
    for t in tasks {
        t.await.unwrap().unwrap();
    }
    let rows = database
        .query("SELECT k, n FROM log ORDER BY id", vec![])
        .await
        .unwrap();
    let mut seen = std::collections::HashMap::new();
    for mut r in rows {
        let (k, n) = (r.text("k").unwrap(), r.i64("n").unwrap());
        let next = seen.entry(k.clone()).or_insert(0);
        assert_eq!(n, *next, "{k}: rows out of order");
        *next += 1;
    }
    assert_eq!(seen.len(), 64);
    database.close().await;
}

//! `pence-bench api`: starts a node on loopback (a temporary SQLite file unless `--database` says
//! otherwise), then drives create-payment and get-payment with N concurrent keep-alive HTTP/1.1
//! clients (lean ones, as wrk's), and prints throughput, latency and CPU time a request. Payments are durable before their 201: the
//! store runs with fsync on (SQLite WAL synchronous=FULL; PostgreSQL's defaults).

use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::Full;
use hyper::client::conn::http1;
use hyper_util::rt::TokioIo;
use pence_core::ports::prelude::*;

#[derive(clap::Args, Debug)]
pub struct BenchArgs {
    /// Concurrent keep-alive clients.
    #[arg(long, default_value_t = 64)]
    clients: usize,
    /// Seconds each phase runs.
    #[arg(long, default_value_t = 10)]
    seconds: u64,
    /// Only the create phase (for profiling it).
    #[arg(long)]
    create_only: bool,
    /// Nodes on the one database (PostgreSQL), the clients spread over them.
    #[arg(long, default_value_t = 1)]
    nodes: usize,
}

/// Targets on 2 cores, the load generator included (issue 16), printed as ratios.
const CREATE_TARGET_SQLITE: f64 = 30_000.0;
const CREATE_TARGET_POSTGRES: f64 = 20_000.0;
const GET_TARGET_SQLITE: f64 = 60_000.0;
const GET_TARGET_POSTGRES: f64 = 25_000.0;

pub(crate) struct Phase {
    pub ok: u64,
    pub errors: u64,
    pub latencies_us: Vec<u32>,
    pub elapsed: Duration,
    pub ids: Vec<String>,
    /// CPU seconds the process used during the phase (node and load generator).
    pub cpu_s: f64,
    /// The share of the machine's cores idle (or waiting on I/O) during the phase.
    pub idle: f64,
}

impl Phase {
    /// The `q` quantile of the latencies, in ms.
    pub fn percentile_ms(&self, q: f64) -> f64 {
        let mut lat = self.latencies_us.clone();
        lat.sort_unstable();
        if lat.is_empty() {
            return 0.0;
        }
        lat[((lat.len() as f64 * q) as usize).min(lat.len() - 1)] as f64 / 1000.0
    }
}

pub async fn run(database: Option<String>, args: BenchArgs) -> anyhow::Result<()> {
    let node = crate::node::start(database.clone()).await?;
    let key = node.key.clone();
    let engine = node.store.engine();
    let mut addrs = vec![node.local_addr];
    let mut others = Vec::new();
    if args.nodes > 1 {
        let url = database
            .filter(|u| u.starts_with("postgres"))
            .ok_or_else(|| anyhow::anyhow!("--nodes needs --database postgres://…"))?;
        for _ in 1..args.nodes {
            let other = crate::node::another(&url).await?;
            addrs.push(other.local_addr);
            others.push(other);
        }
    }
    println!(
        "pence-bench api: {engine}, {} node{}, {} clients, {} s a phase, {} cores",
        args.nodes,
        if args.nodes == 1 { "" } else { "s" },
        args.clients,
        args.seconds,
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1)
    );
    let key = Arc::new(key);
    let duration = Duration::from_secs(args.seconds);

    let groups_before = Groups::of(&addrs).await?;
    let create = phase_over(&addrs, key.clone(), args.clients, duration, None).await?;
    let (create_target, get_target) = if engine == "postgres" {
        (CREATE_TARGET_POSTGRES, GET_TARGET_POSTGRES)
    } else {
        (CREATE_TARGET_SQLITE, GET_TARGET_SQLITE)
    };
    report("create payment", &create, create_target);
    Groups::of(&addrs)
        .await?
        .since(&groups_before)
        .report(create.elapsed);
    anyhow::ensure!(!create.ids.is_empty(), "no payment was created");
    if args.create_only {
        return Ok(());
    }

    let ids = Arc::new(create.ids);
    let get = phase_over(&addrs, key, args.clients, duration, Some(ids)).await?;
    report("get payment", &get, get_target);
    for other in others {
        other.stop().await;
    }
    println!(
        "memory: {:.0} MiB resident at most (VmHWM), {:.0} MiB now: the node and the {}-client \
         load generator together, one process",
        crate::mem::status_mib("VmHWM"),
        crate::mem::status_mib("VmRSS"),
        args.clients
    );
    Ok(())
}

fn report(name: &str, p: &Phase, target: f64) {
    let pct = |q: f64| p.percentile_ms(q);
    let rate = p.ok as f64 / p.elapsed.as_secs_f64();
    println!(
        "{name:<15} {rate:>9.0} req/s   p50 {:>6.2} ms   p99 {:>6.2} ms   ok {}  errors {}   target {target:.0}/s: {:.2}x   cpu {:.0} µs/req   cores idle {:.0}%",
        pct(0.50),
        pct(0.99),
        p.ok,
        p.errors,
        rate / target,
        p.cpu_s * 1e6 / (p.ok + p.errors).max(1) as f64,
        p.idle * 100.0
    );
}

const CREATE_BODY: &str = r#"{"amount":14500,"reference":"12345","description":"Pay your council tax","return_url":"https://your.service.gov.uk/completed"}"#;

/// Runs N clients for `duration`: creates when `ids` is None, else GETs those ids.
pub(crate) async fn phase(
    addr: std::net::SocketAddr,
    key: Arc<String>,
    clients: usize,
    duration: Duration,
    ids: Option<Arc<Vec<String>>>,
) -> anyhow::Result<Phase> {
    phase_over(&[addr], key, clients, duration, ids).await
}

/// As `phase`, client i talking to node `i % addrs.len()`.
async fn phase_over(
    addrs: &[std::net::SocketAddr],
    key: Arc<String>,
    clients: usize,
    duration: Duration,
    ids: Option<Arc<Vec<String>>>,
) -> anyhow::Result<Phase> {
    let start = Instant::now();
    let cpu_at_start = crate::mem::cpu_seconds();
    let machine_at_start = crate::mem::machine_ticks();
    let deadline = start + duration;
    let mut tasks = Vec::new();
    for client in 0..clients {
        let key = key.clone();
        let ids = ids.clone();
        let addr = addrs[client % addrs.len()];
        tasks.push(tokio::spawn(async move {
            client_loop(addr, &key, deadline, client, ids).await
        }));
    }
    let mut out = Phase {
        ok: 0,
        errors: 0,
        latencies_us: Vec::new(),
        elapsed: Duration::ZERO,
        ids: Vec::new(),
        cpu_s: 0.0,
        idle: 0.0,
    };
    for t in tasks {
        let r = t.await??;
        out.ok += r.ok;
        out.errors += r.errors;
        out.latencies_us.extend(r.latencies_us);
        out.ids.extend(r.ids);
    }
    out.elapsed = start.elapsed();
    out.cpu_s = crate::mem::cpu_seconds() - cpu_at_start;
    let machine = crate::mem::machine_ticks();
    let all = machine.1.saturating_sub(machine_at_start.1).max(1);
    out.idle = machine.0.saturating_sub(machine_at_start.0) as f64 / all as f64;
    Ok(out)
}

async fn client_loop(
    addr: std::net::SocketAddr,
    key: &str,
    deadline: Instant,
    client: usize,
    ids: Option<Arc<Vec<String>>>,
) -> anyhow::Result<Phase> {
    let mut conn = Lean::connect(addr).await?;
    // What follows a request's path, the same for every request of this client.
    let after_path = format!(" HTTP/1.1\r\nhost: {addr}\r\nauthorization: Bearer {key}\r\n");
    let create = format!(
        "POST /v1/payments{after_path}content-type: application/json\r\ncontent-length: {}\r\n\r\n{CREATE_BODY}",
        CREATE_BODY.len()
    );
    let mut out = Phase {
        ok: 0,
        errors: 0,
        latencies_us: Vec::with_capacity(1 << 16),
        elapsed: Duration::ZERO,
        ids: Vec::new(),
        cpu_s: 0.0,
        idle: 0.0,
    };
    // A get's request is the same but for the id, so it is copied together from prepared
    // parts (two `format!`s a request were a fifth of the generator's own time).
    const GET_PATH: &str = "GET /v1/payments/";
    let get_after = after_path + "\r\n";
    let mut get = Vec::with_capacity(GET_PATH.len() + 32 + get_after.len());
    let mut i = client;
    while Instant::now() < deadline {
        let request = match &ids {
            None => create.as_bytes(),
            Some(ids) => {
                i = (i + 7919) % ids.len();
                get.clear();
                get.extend_from_slice(GET_PATH.as_bytes());
                get.extend_from_slice(ids[i].as_bytes());
                get.extend_from_slice(get_after.as_bytes());
                get.as_slice()
            }
        };
        let sent = Instant::now();
        let (status, body) = conn.exchange(request).await?;
        out.latencies_us
            .push(sent.elapsed().as_micros().min(u32::MAX as u128) as u32);
        let expected = if ids.is_none() { 201 } else { 200 };
        if status == expected {
            out.ok += 1;
            if ids.is_none() && out.ids.len() < 20_000 {
                if let Some(id) = payment_id(body) {
                    out.ids.push(id);
                }
            }
        } else {
            out.errors += 1;
        }
    }
    Ok(out)
}

/// The nodes' group commits so far, from their `/metrics`: how many, their changes and time.
#[derive(Default)]
struct Groups {
    count: f64,
    changes: f64,
    seconds: f64,
}

impl Groups {
    async fn of(addrs: &[std::net::SocketAddr]) -> anyhow::Result<Groups> {
        let mut all = Groups::default();
        for addr in addrs {
            let mut conn = Lean::connect(*addr).await?;
            let request = format!("GET /metrics HTTP/1.1\r\nhost: {addr}\r\n\r\n");
            let (_, body) = conn.exchange(request.as_bytes()).await?;
            let text = String::from_utf8_lossy(body);
            let figure = |name: &str| -> f64 {
                text.lines()
                    .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.parse().ok())
                    .unwrap_or(0.0)
            };
            all.count += figure("pence_db_commit_group_size_count");
            all.changes += figure("pence_db_commit_group_size_sum");
            all.seconds += figure("pence_db_commit_duration_seconds_sum");
        }
        Ok(all)
    }

    fn since(&self, before: &Groups) -> Groups {
        Groups {
            count: self.count - before.count,
            changes: self.changes - before.changes,
            seconds: self.seconds - before.seconds,
        }
    }

    /// The writers' side of a phase: how often they committed, how much at once, and for
    /// how much of the phase a writer was applying or committing.
    fn report(&self, elapsed: Duration) {
        if self.count == 0.0 {
            return;
        }
        println!(
            "  group commits {:.0}/s of {:.1} changes, {:.2} ms each: writers busy {:.0}% of the phase",
            self.count / elapsed.as_secs_f64(),
            self.changes / self.count,
            self.seconds * 1000.0 / self.count,
            self.seconds * 100.0 / elapsed.as_secs_f64()
        );
    }
}

/// The load generator's side of one keep-alive connection, as lean as wrk's: the request is
/// written as prepared bytes and the answer read by its `content-length`, in the client's own
/// task (a hyper client connection is a task of its own, so each request crossed tasks twice,
/// and built and parsed header maps): what is measured is the node, not the generator.
struct Lean {
    stream: tokio::net::TcpStream,
    buf: Vec<u8>,
}

impl Lean {
    async fn connect(addr: std::net::SocketAddr) -> anyhow::Result<Lean> {
        let stream = tokio::net::TcpStream::connect(addr).await?;
        stream.set_nodelay(true)?;
        Ok(Lean {
            stream,
            buf: Vec::with_capacity(16 * 1024),
        })
    }

    /// Sends `request` and reads its answer: the status and the body.
    async fn exchange(&mut self, request: &[u8]) -> anyhow::Result<(u16, &[u8])> {
        use tokio::io::AsyncWriteExt;
        self.stream.write_all(request).await?;
        self.buf.clear();
        let (status, body_at, length) = loop {
            let mut headers = [httparse::EMPTY_HEADER; 32];
            let mut response = httparse::Response::new(&mut headers);
            if let httparse::Status::Complete(at) = response.parse(&self.buf)? {
                let length = response
                    .headers
                    .iter()
                    .find(|h| h.name.eq_ignore_ascii_case("content-length"))
                    .and_then(|h| std::str::from_utf8(h.value).ok()?.parse::<usize>().ok())
                    .ok_or_else(|| anyhow::anyhow!("an answer without content-length"))?;
                break (response.code.unwrap_or(0), at, length);
            }
            self.read_more().await?;
        };
        while self.buf.len() < body_at + length {
            self.read_more().await?;
        }
        anyhow::ensure!(
            self.buf.len() == body_at + length,
            "more bytes than the answer"
        );
        Ok((status, &self.buf[body_at..]))
    }

    async fn read_more(&mut self) -> anyhow::Result<()> {
        use tokio::io::AsyncReadExt;
        if self.buf.capacity() - self.buf.len() < 4096 {
            self.buf.reserve(16 * 1024);
        }
        anyhow::ensure!(
            self.stream.read_buf(&mut self.buf).await? > 0,
            "the node closed the connection"
        );
        Ok(())
    }
}

/// One keep-alive HTTP/1.1 connection to the node, with the key to send.
pub(crate) struct Client {
    pub sender: http1::SendRequest<Full<Bytes>>,
    pub auth: String,
    pub host: String,
}

impl Client {
    pub async fn connect(addr: std::net::SocketAddr, key: &str) -> anyhow::Result<Client> {
        let stream = tokio::net::TcpStream::connect(addr).await?;
        stream.set_nodelay(true)?;
        let (sender, conn) = http1::handshake(TokioIo::new(stream)).await?;
        tokio::spawn(conn);
        Ok(Client {
            sender,
            auth: format!("Bearer {key}"),
            host: addr.to_string(),
        })
    }
}

/// The payment id from a create response, without parsing the whole body.
fn payment_id(body: &[u8]) -> Option<String> {
    let text = std::str::from_utf8(body).ok()?;
    let start = text.find("\"payment_id\":\"")? + 14;
    Some(text[start..start + 26].to_string())
}

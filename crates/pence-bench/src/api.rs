//! `pence-bench api`: starts a node on loopback (a temporary SQLite file unless `--database` says
//! otherwise), then drives create-payment and get-payment with N concurrent keep-alive HTTP/1.1
//! clients, and prints throughput and latency. Payments are durable before their 201: the
//! store runs with fsync on (SQLite WAL synchronous=FULL; PostgreSQL's defaults).

use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
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

    let create = phase_over(&addrs, key.clone(), args.clients, duration, None).await?;
    let (create_target, get_target) = if engine == "postgres" {
        (CREATE_TARGET_POSTGRES, GET_TARGET_POSTGRES)
    } else {
        (CREATE_TARGET_SQLITE, GET_TARGET_SQLITE)
    };
    report("create payment", &create, create_target);
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
        "{name:<15} {rate:>9.0} req/s   p50 {:>6.2} ms   p99 {:>6.2} ms   ok {}  errors {}   target {target:.0}/s: {:.2}x",
        pct(0.50),
        pct(0.99),
        p.ok,
        p.errors,
        rate / target
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
    };
    for t in tasks {
        let r = t.await??;
        out.ok += r.ok;
        out.errors += r.errors;
        out.latencies_us.extend(r.latencies_us);
        out.ids.extend(r.ids);
    }
    out.elapsed = start.elapsed();
    Ok(out)
}

async fn client_loop(
    addr: std::net::SocketAddr,
    key: &str,
    deadline: Instant,
    client: usize,
    ids: Option<Arc<Vec<String>>>,
) -> anyhow::Result<Phase> {
    let Client {
        mut sender,
        auth,
        host,
    } = Client::connect(addr, key).await?;
    let create_url = format!("http://{addr}/v1/payments");
    let mut out = Phase {
        ok: 0,
        errors: 0,
        latencies_us: Vec::with_capacity(1 << 16),
        elapsed: Duration::ZERO,
        ids: Vec::new(),
    };
    let mut i = client;
    while Instant::now() < deadline {
        let req = match &ids {
            None => hyper::Request::post(&create_url)
                .header("host", &host)
                .header("authorization", &auth)
                .header("content-type", "application/json")
                .body(Full::new(Bytes::from_static(CREATE_BODY.as_bytes())))?,
            Some(ids) => {
                i = (i + 7919) % ids.len();
                hyper::Request::get(format!("{create_url}/{}", ids[i]))
                    .header("host", &host)
                    .header("authorization", &auth)
                    .body(Full::new(Bytes::new()))?
            }
        };
        let sent = Instant::now();
        sender.ready().await?;
        let resp = sender.send_request(req).await?;
        let status = resp.status().as_u16();
        let body = resp.into_body().collect().await?.to_bytes();
        out.latencies_us
            .push(sent.elapsed().as_micros().min(u32::MAX as u128) as u32);
        let expected = if ids.is_none() { 201 } else { 200 };
        if status == expected {
            out.ok += 1;
            if ids.is_none() && out.ids.len() < 20_000 {
                if let Some(id) = payment_id(&body) {
                    out.ids.push(id);
                }
            }
        } else {
            out.errors += 1;
        }
    }
    Ok(out)
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

//! The open connections, so that room can be made when all are taken: one client holding
//! thousands of idle connections must not keep other clients' requests waiting. At the cap,
//! the accept loop closes the oldest connection with no request in flight (an idle
//! keep-alive connection, or one that has sent nothing yet), as an idle timeout would.

use std::collections::BTreeMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use tokio::sync::Notify;

/// Every open connection, oldest first.
#[derive(Default)]
pub(crate) struct Open {
    conns: Mutex<BTreeMap<u64, Arc<Conn>>>,
    next: AtomicU64,
}

/// One open connection.
#[derive(Default)]
pub(crate) struct Conn {
    /// Requests being answered.
    busy: AtomicUsize,
    /// Chosen to be closed.
    evicted: AtomicBool,
    evict: Notify,
}

impl Open {
    /// Registers a new connection; `Opened` unregisters it when dropped.
    pub(crate) fn add(self: &Arc<Self>) -> Opened {
        let id = self.next.fetch_add(1, Ordering::Relaxed);
        let conn = Arc::new(Conn::default());
        self.conns
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(id, conn.clone());
        Opened {
            open: self.clone(),
            id,
            conn,
        }
    }

    /// Asks the oldest connection with no request in flight to close; whether there was one.
    pub(crate) fn evict_idle(&self) -> bool {
        let conns = self.conns.lock().unwrap_or_else(|e| e.into_inner());
        let idle = conns
            .values()
            .find(|c| c.busy.load(Ordering::Acquire) == 0 && !c.evicted.load(Ordering::Acquire));
        match idle {
            Some(c) => {
                c.evicted.store(true, Ordering::Release);
                c.evict.notify_one();
                true
            }
            None => false,
        }
    }
}

/// A registered connection.
pub(crate) struct Opened {
    open: Arc<Open>,
    id: u64,
    conn: Arc<Conn>,
}

impl Opened {
    pub(crate) fn conn(&self) -> Arc<Conn> {
        self.conn.clone()
    }

    /// Serves `connection` until it ends, or until it is chosen to make room while no
    /// request is in flight on it (then it is dropped: the socket closes).
    pub(crate) async fn serve(&self, connection: impl Future<Output = ()>) {
        tokio::pin!(connection);
        loop {
            tokio::select! {
                () = &mut connection => return,
                () = self.conn.evict.notified() => {
                    if self.conn.busy.load(Ordering::Acquire) == 0 {
                        return;
                    }
                    // A request arrived meanwhile: it is answered, and the connection stays.
                    self.conn.evicted.store(false, Ordering::Release);
                }
            }
        }
    }
}

impl Drop for Opened {
    fn drop(&mut self) {
        self.open
            .conns
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&self.id);
    }
}

/// `inner` with its requests counted on their connection while they are answered.
#[derive(Clone)]
pub(crate) struct Counted<S> {
    pub(crate) inner: S,
    pub(crate) conn: Arc<Conn>,
}

impl<S, R> tower::Service<R> for Counted<S>
where
    S: tower::Service<R>,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = Busy<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: R) -> Self::Future {
        self.conn.busy.fetch_add(1, Ordering::AcqRel);
        Busy {
            inner: self.inner.call(req),
            guard: BusyGuard(self.conn.clone()),
        }
    }
}

/// Ends a request's count on its connection, however its answer ends.
struct BusyGuard(Arc<Conn>);

impl Drop for BusyGuard {
    fn drop(&mut self) {
        self.0.busy.fetch_sub(1, Ordering::AcqRel);
    }
}

pin_project_lite::pin_project! {
    /// A request's answer, counted on its connection until it is ready.
    pub(crate) struct Busy<F> {
        #[pin]
        inner: F,
        guard: BusyGuard,
    }
}

impl<F: Future> Future for Busy<F> {
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        self.project().inner.poll(cx)
    }
}

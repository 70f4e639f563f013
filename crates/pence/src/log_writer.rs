//! Where the server's log lines go: into a buffer in memory that a thread of its own writes
//! to stderr a few milliseconds after the first line arrives, many lines in one write. A
//! request never waits on stderr, and never wakes another thread for its line: a channel
//! message a line (tracing-appender's way) woke the writing thread for most lines, and a
//! thread's wake-up is the dearest thing a request does on a virtual machine (a fifth of the
//! creates a node answered). No line is dropped: past `MAX_WAITING` bytes a line waits for
//! the thread to catch up. Dropping the [`Flush`] guard writes what is left.

use std::io::Write;
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

/// How long the first line of a batch waits for company.
const GATHER: Duration = Duration::from_millis(5);
/// Bytes waiting at most before a line waits for them to be written.
const MAX_WAITING: usize = 8 << 20;

#[derive(Default)]
struct Waiting {
    bytes: Vec<u8>,
    closed: bool,
    /// A batch taken from `bytes` is being written.
    writing: bool,
}

#[derive(Default)]
struct Shared {
    waiting: Mutex<Waiting>,
    /// Lines have arrived (or the log is closing).
    arrived: Condvar,
    /// Lines were written: room again.
    written: Condvar,
}

/// A handle that takes whole lines; cheap to clone.
#[derive(Clone)]
pub struct LogWriter(Arc<Shared>);

/// Writes what is left when dropped.
pub struct Flush {
    shared: Arc<Shared>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl LogWriter {
    /// A writer to `out` and the guard that ends it.
    pub fn start(out: impl Write + Send + 'static) -> (LogWriter, Flush) {
        let shared = Arc::new(Shared::default());
        let thread = {
            let shared = shared.clone();
            std::thread::Builder::new()
                .name("pence-log".into())
                .spawn(move || write_batches(&shared, out))
                .ok()
        };
        (LogWriter(shared.clone()), Flush { shared, thread })
    }

    /// Waits until every line queued so far is written (so that what a command prints next,
    /// such as `pence serve`'s banner, comes after them).
    pub fn settle(&self) {
        let shared = &self.0;
        let mut waiting = shared.waiting.lock().unwrap_or_else(|e| e.into_inner());
        while (!waiting.bytes.is_empty() || waiting.writing) && !waiting.closed {
            waiting = shared
                .written
                .wait(waiting)
                .unwrap_or_else(|e| e.into_inner());
        }
    }

    /// Queues `line` (whole lines only, so that lines never interleave).
    pub fn line(&self, line: &[u8]) {
        let shared = &self.0;
        let mut waiting = shared.waiting.lock().unwrap_or_else(|e| e.into_inner());
        while waiting.bytes.len() > MAX_WAITING && !waiting.closed {
            waiting = shared
                .written
                .wait(waiting)
                .unwrap_or_else(|e| e.into_inner());
        }
        let first = waiting.bytes.is_empty();
        waiting.bytes.extend_from_slice(line);
        drop(waiting);
        if first {
            shared.arrived.notify_one();
        }
    }
}

fn write_batches(shared: &Shared, mut out: impl Write) {
    let mut batch = Vec::new();
    loop {
        let closed = {
            let mut waiting = shared.waiting.lock().unwrap_or_else(|e| e.into_inner());
            while waiting.bytes.is_empty() && !waiting.closed {
                waiting = shared
                    .arrived
                    .wait(waiting)
                    .unwrap_or_else(|e| e.into_inner());
            }
            waiting.closed
        };
        if !closed {
            std::thread::sleep(GATHER);
        }
        {
            let mut waiting = shared.waiting.lock().unwrap_or_else(|e| e.into_inner());
            std::mem::swap(&mut batch, &mut waiting.bytes);
            waiting.writing = true;
        }
        shared.written.notify_all();
        // Nowhere else to say that stderr failed.
        let _ = out.write_all(&batch).and_then(|_| out.flush());
        batch.clear();
        shared
            .waiting
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .writing = false;
        shared.written.notify_all();
        if closed {
            let waiting = shared.waiting.lock().unwrap_or_else(|e| e.into_inner());
            if waiting.bytes.is_empty() {
                return;
            }
        }
    }
}

impl Drop for Flush {
    fn drop(&mut self) {
        self.shared
            .waiting
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .closed = true;
        self.shared.arrived.notify_one();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl Write for LogWriter {
    /// tracing writes each event with one call: one line.
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.line(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for LogWriter {
    type Writer = LogWriter;
    fn make_writer(&'a self) -> LogWriter {
        self.clone()
    }
}

impl pence_http::LineWriter for LogWriter {
    fn write_line(&self, line: Vec<u8>) {
        self.line(&line);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Clone, Default)]
    struct Sink(Arc<Mutex<Vec<u8>>>);

    impl Write for Sink {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    /// Lines from many threads all arrive, whole, and the guard writes the last of them.
    #[test]
    fn every_line_is_written_whole() {
        let sink = Sink::default();
        let (writer, flush) = LogWriter::start(sink.clone());
        let threads: Vec<_> = (0..4)
            .map(|t| {
                let writer = writer.clone();
                std::thread::spawn(move || {
                    for i in 0..5_000 {
                        writer.line(
                            format!("thread {t} line {i} {}\n", "x".repeat(i % 300)).as_bytes(),
                        );
                    }
                })
            })
            .collect();
        for thread in threads {
            thread.join().unwrap();
        }
        drop(flush);
        let text = String::from_utf8(sink.0.lock().unwrap().clone()).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 20_000);
        for line in lines {
            let parts: Vec<&str> = line.split(' ').collect();
            let i: usize = parts[3].parse().unwrap();
            assert_eq!(parts.get(4).map_or(0, |x| x.len()), i % 300, "{line}");
        }
    }

    /// A line written while the log is idle is out within moments, not at the end.
    #[test]
    fn a_lone_line_is_written_soon() {
        let sink = Sink::default();
        let (writer, _flush) = LogWriter::start(sink.clone());
        writer.line(b"alone\n");
        let waited = std::time::Instant::now();
        while sink.0.lock().unwrap().is_empty() {
            assert!(waited.elapsed() < Duration::from_secs(5));
            std::thread::sleep(Duration::from_millis(1));
        }
        assert_eq!(&sink.0.lock().unwrap()[..], b"alone\n");
    }
}

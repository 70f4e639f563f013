//! Why the sandbox's paying user, or its clock, could not do what the control API asked.

use crate::journey::card::form::{Field, Problem};
use crate::payment::status::Status;

/// The latest time a service's clock moves to, 9999-01-01T00:00:00Z: a year short of the
/// last date the API can write, which a clock running on from there takes a year to reach.
pub const LATEST_CLOCK_MS: i64 = 253_370_764_800_000;

/// Why the sandbox's paying user could not do what was asked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SandboxRefusal {
    /// Agreement and MOTO API payments have no card pages.
    NoCardPages,
    /// The payment is past the step asked for (paid, cancelled, expired...).
    NotAwaitingCard { status: Status },
    /// The card page would show these errors.
    CardDetails(Vec<(Field, Problem)>),
    /// A service's clock only moves forward (or back to the node's time).
    ClockBackwards,
    /// A service's clock stops short of the dates the API can write (four-digit years).
    ClockTooFar,
    /// No active webhook subscription of the service takes this event type.
    NoSubscription(crate::webhook::EventType),
    /// A fault rule that cannot be kept as asked (the words say why).
    BadFaultRule(String),
    /// Webhook delivery faults out of their bounds (the words say which).
    BadDeliveryFaults(&'static str),
    /// A live service's webhooks are delivered as they are: no faults.
    LiveService,
    /// A triggered message's override that cannot be applied (the words say why).
    BadOverride(String),
    /// A fixture asking for what no journey reaches (the words say what and where).
    BadFixture(String),
    /// A snapshot (or its file) the service cannot keep (the words say why).
    BadSnapshot(String),
    /// A snapshot's rows belong to another service of this node (imported where it was
    /// exported from).
    SnapshotClash,
    /// A payment link's questions answered as its pages would refuse (worded by the pages,
    /// in the link's language).
    LinkAnswer(crate::link::payer::AnswerProblem),
}

/// The words for each refusal, as the control API and the CLI give them (card details are
/// worded by the pages, in the payment's language).
impl std::fmt::Display for SandboxRefusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SandboxRefusal::NoCardPages => {
                f.write_str("The payment has no card pages (agreement and MOTO API payments)")
            }
            SandboxRefusal::NotAwaitingCard { status } => write!(
                f,
                "The payment is not waiting for the paying user: it is {}",
                status.external().status
            ),
            SandboxRefusal::CardDetails(_) => f.write_str("The card page refused the card details"),
            SandboxRefusal::LinkAnswer(_) => {
                f.write_str("The payment link's pages refused the answers")
            }
            SandboxRefusal::ClockBackwards => {
                f.write_str("The clock only moves forward (DELETE it to go back to real time)")
            }
            SandboxRefusal::ClockTooFar => write!(
                f,
                "The clock cannot move past {}",
                crate::timefmt::date_time(LATEST_CLOCK_MS).replace(".000", "")
            ),
            SandboxRefusal::NoSubscription(t) => write!(
                f,
                "No active webhook subscription of this service takes {}",
                t.as_str()
            ),
            SandboxRefusal::BadFaultRule(why) => f.write_str(why),
            SandboxRefusal::BadOverride(why)
            | SandboxRefusal::BadFixture(why)
            | SandboxRefusal::BadSnapshot(why) => f.write_str(why),
            SandboxRefusal::SnapshotClash => f.write_str(
                "The snapshot's payments belong to another service of this node: restore it \
                 in that service, or on another node",
            ),
            SandboxRefusal::BadDeliveryFaults(why) => f.write_str(why),
            SandboxRefusal::LiveService => {
                f.write_str("A live service's webhooks have no delivery faults")
            }
        }
    }
}

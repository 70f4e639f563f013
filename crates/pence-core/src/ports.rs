//! The ports the domain needs. The Store is implemented for SQLite and PostgreSQL in
//! `pence-store`; the Clock lives in `clock`.

use async_trait::async_trait;

use crate::ledger::record::Record;
use crate::ledger::LedgerEvent;
use crate::payment::idempotency::IdempotencyKey;
use crate::payment::PaymentRecord;
use crate::service::api_key::ApiKeyRecord;
use crate::service::Service;

pub use crate::store_error::StoreError;
pub use snapshots::SnapshotStore;
pub use webhooks::WebhookStore;

mod snapshots;
mod webhooks;

/// The whole store: every aggregate's storage, as one object the use cases are given.
/// `pence-store` implements each part for SQLite and PostgreSQL.
pub trait Store:
    InstanceStore
    + ServiceStore
    + KeyStore
    + PaymentStore
    + RefundStore
    + DisputeStore
    + AgreementStore
    + FaultStore
    + EmailStore
    + StaffStore
    + LinkStore
    + SnapshotStore
{
}

impl<T> Store for T where
    T: InstanceStore
        + ServiceStore
        + KeyStore
        + PaymentStore
        + RefundStore
        + DisputeStore
        + AgreementStore
        + FaultStore
        + EmailStore
        + StaffStore
        + LinkStore
        + SnapshotStore
{
}

/// Payment links and the payments they took (`link`). A link payment's row is written by
/// its payment's record.
#[async_trait]
pub trait LinkStore: Send + Sync {
    /// Stores a new link with the audit row of the staff action that made it. `Duplicate`
    /// when another link (not deleted) has its address.
    async fn insert_payment_link(
        &self,
        link: &crate::link::PaymentLink,
        audit: Option<&crate::staff::AuditEntry>,
    ) -> Result<(), StoreError>;
    /// Saves every field of `link` (of its service, not deleted) with the audit row; false
    /// when there is no such link, `Duplicate` when its new address is taken.
    async fn update_payment_link(
        &self,
        link: &crate::link::PaymentLink,
        audit: Option<&crate::staff::AuditEntry>,
    ) -> Result<bool, StoreError>;
    /// Deletes the service's link `id` (its payments stay, and still name it), with the audit
    /// row; false when there is no such link.
    async fn delete_payment_link(
        &self,
        service_id: &str,
        id: &str,
        at_ms: i64,
        audit: Option<&crate::staff::AuditEntry>,
    ) -> Result<bool, StoreError>;
    /// Link `id`, unless deleted.
    async fn payment_link(&self, id: &str) -> Result<Option<crate::link::PaymentLink>, StoreError>;
    /// The link at an address, unless deleted.
    async fn payment_link_at(
        &self,
        service_path: &str,
        link_path: &str,
    ) -> Result<Option<crate::link::PaymentLink>, StoreError>;
    /// A service's links, newest first.
    async fn payment_links(
        &self,
        service_id: &str,
    ) -> Result<Vec<crate::link::PaymentLink>, StoreError>;
    /// The link payment whose completion page is `id`.
    async fn link_payment(&self, id: &str) -> Result<Option<crate::link::LinkPayment>, StoreError>;
    /// The link payment of payment `payment_id`, if a link took it.
    async fn link_payment_of(
        &self,
        payment_id: &str,
    ) -> Result<Option<crate::link::LinkPayment>, StoreError>;
    /// The payments link `link_id` took, newest first, `limit` at most.
    async fn payments_of_link(
        &self,
        link_id: &str,
        limit: u32,
    ) -> Result<Vec<PaymentRecord>, StoreError>;
    /// How many payments link `link_id` took, and what those that succeeded came to.
    async fn link_takings(&self, link_id: &str) -> Result<crate::link::Takings, StoreError>;
}

/// The emails paying users were sent (`emails`), written by changes' records.
#[async_trait]
pub trait EmailStore: Send + Sync {
    /// A service's emails, newest first, to `to` only if given (any case).
    async fn emails(
        &self,
        service_id: &str,
        to: Option<&str>,
        limit: u32,
    ) -> Result<Vec<crate::emails::Email>, StoreError>;
    /// Up to `limit` emails not yet passed on to SMTP and not being sent (claimed until
    /// `claim_until_ms` by this caller; emails tried `max_tries` times are left).
    async fn claim_unsent_emails(
        &self,
        now_ms: i64,
        claim_until_ms: i64,
        max_tries: i64,
        limit: u32,
    ) -> Result<Vec<crate::emails::Email>, StoreError>;
    /// Records an attempt to pass an email on: sent at `sent_ms`, or failed with `error`.
    async fn record_email_attempt(
        &self,
        id: &str,
        sent_ms: Option<i64>,
        error: Option<&str>,
    ) -> Result<(), StoreError>;
}

/// Test services' fault rules (`faults`).
#[async_trait]
pub trait FaultStore: Send + Sync {
    async fn insert_fault_rule(
        &self,
        rule: &crate::sandbox::faults::rule::FaultRule,
    ) -> Result<(), StoreError>;
    /// A service's rules neither expired at `now_ms` nor used up, oldest first.
    async fn fault_rules(
        &self,
        service_id: &str,
        now_ms: i64,
    ) -> Result<Vec<crate::sandbox::faults::rule::FaultRule>, StoreError>;
    /// Removes a service's rule; false when it had none of that id.
    async fn delete_fault_rule(&self, service_id: &str, id: &str) -> Result<bool, StoreError>;
    /// Counts one more match of a rule still live at `now_ms`: the match's number, or `None`
    /// when it has expired or is used up.
    async fn count_fault_match(&self, id: &str, now_ms: i64) -> Result<Option<i64>, StoreError>;
    /// Takes one of a rule's remaining firings; false when none is left.
    async fn take_fault(&self, id: &str) -> Result<bool, StoreError>;
}

/// The database itself and the instance's secrets.
#[async_trait]
pub trait InstanceStore: Send + Sync {
    /// Which engine backs the store (`sqlite` or `postgres`).
    fn engine(&self) -> &'static str;

    /// Cheap round trip to the database.
    async fn ping(&self) -> Result<(), StoreError>;

    /// The node's read connections to the database: (in use, idle).
    fn connections(&self) -> (u32, u32);

    /// The instance secret called `name`, created from `fresh` if there is none yet. Every node
    /// on one database gets the same value.
    async fn secret(&self, name: &str, fresh: &[u8]) -> Result<Vec<u8>, StoreError>;

    /// Seals every secret the node reads back under its current key, in one change (after
    /// a new key is given, with the old one as previous); how many were sealed anew.
    async fn reseal_secrets(&self) -> Result<u64, StoreError>;

    /// The instance setting `name`, if one was recorded (`instance_settings`).
    async fn setting(&self, name: &str) -> Result<Option<String>, StoreError>;

    /// Records the instance setting `name` (the last node to record it wins).
    async fn put_setting(&self, name: &str, value: &str) -> Result<(), StoreError>;

    /// Counts one request in a rate-limit window shared by every node of the database
    /// (`key`: the service, `bucket`: the kind of request, `second`: the window), answering
    /// the window's count so far; `None` where each node counts alone (one node's SQLite).
    async fn count_request(
        &self,
        key: &str,
        bucket: &str,
        second: i64,
    ) -> Result<Option<u64>, StoreError>;

    /// Forgets rate-limit windows before `second`.
    async fn purge_request_counts(&self, before_second: i64) -> Result<(), StoreError>;
}

/// Services (GOV.UK Pay's gateway accounts) and their settings.
#[async_trait]
pub trait ServiceStore: Send + Sync {
    async fn insert_service(&self, service: &Service) -> Result<(), StoreError>;
    /// Saves a service's settings, with the audit row of the staff action that changed them.
    async fn update_service(
        &self,
        service: &Service,
        audit: Option<&crate::staff::AuditEntry>,
    ) -> Result<(), StoreError>;
    async fn services(&self) -> Result<Vec<Service>, StoreError>;
    async fn service(&self, id: &str) -> Result<Option<Service>, StoreError>;
    /// Sets a test service's clock offset (`Service::clock_offset_ms`); false when there is
    /// no such test service.
    async fn set_clock_offset(&self, service_id: &str, offset_ms: i64) -> Result<bool, StoreError>;
    /// The services whose clocks are moved, with their offsets: each gets sweep rounds of
    /// its own, on its own clock.
    async fn moved_clocks(&self) -> Result<Vec<(String, i64)>, StoreError>;
    /// Keeps the nodes' sweeps off test service `service_id` until `until_ms` (the machine's
    /// clock), or lets them back (`None`): a fixture runs the service's timers itself while it
    /// loads. False when there is no such test service.
    async fn hold_sweeps(
        &self,
        service_id: &str,
        until_ms: Option<i64>,
    ) -> Result<bool, StoreError>;
}

/// Which services' work a sweep round takes: those on the node's clock, or one service
/// whose clock is moved (its round runs on its clock).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope<'a> {
    NodeClock,
    Service(&'a str),
}

/// API keys, kept as hashes.
#[async_trait]
pub trait KeyStore: Send + Sync {
    /// Stores a new key, with the audit row of the staff action that created it.
    async fn insert_api_key(
        &self,
        key: &ApiKeyRecord,
        audit: Option<&crate::staff::AuditEntry>,
    ) -> Result<(), StoreError>;
    async fn api_keys(&self) -> Result<Vec<ApiKeyRecord>, StoreError>;
    /// Notes that a request came with the key at `at_ms` (a minute after the last note at
    /// the earliest).
    async fn key_used(&self, id: &str, at_ms: i64) -> Result<(), StoreError>;
    /// Marks a key revoked, with the audit row of the staff action that revoked it; false
    /// (and no audit row) when there is no such key or it was already revoked.
    async fn revoke_api_key(
        &self,
        id: &str,
        at_ms: i64,
        audit: Option<&crate::staff::AuditEntry>,
    ) -> Result<bool, StoreError>;
    /// The key with this hash and its service.
    async fn api_key_by_hash(
        &self,
        hash: &str,
    ) -> Result<Option<(ApiKeyRecord, Service)>, StoreError>;
}

/// Payments, their ledger events and next_url tokens. Every change writes what it
/// records (`Record`: ledger events and webhook outbox rows) in its own transaction.
#[async_trait]
pub trait PaymentStore: Send + Sync {
    /// Stores a new payment with what its creation records, in one transaction, durably.
    async fn insert_payment(
        &self,
        payment: &PaymentRecord,
        record: &Record,
    ) -> Result<(), StoreError>;
    /// Replaces `current` with `next` (its status, email and journey fields) if nobody
    /// changed it since it was read (same version), with what the change records, in one
    /// transaction. `Conflict` when it had changed. Only the transition gate calls this.
    async fn update_payment(
        &self,
        current: &PaymentRecord,
        next: &PaymentRecord,
        record: &Record,
    ) -> Result<(), StoreError>;
    /// The `Idempotency-Key` a payment of this service was created with, however old.
    async fn idempotency_key(
        &self,
        service_id: &str,
        key: &str,
    ) -> Result<Option<IdempotencyKey>, StoreError>;
    /// Forgets keys created before `before_ms`; how many.
    async fn purge_idempotency_keys(
        &self,
        scope: Scope<'_>,
        before_ms: i64,
    ) -> Result<u64, StoreError>;
    /// A payment by id alone, for the paying user's pages (the signed token names it).
    async fn journey_payment(&self, id: &str) -> Result<Option<PaymentRecord>, StoreError>;
    /// Records that a next_url token (by its hash) was exchanged; false when it already was.
    async fn claim_token(
        &self,
        token_hash: &str,
        payment_id: &str,
        at_ms: i64,
    ) -> Result<bool, StoreError>;
    /// Payments of any service in one of `statuses`, created before `created_before_ms` and
    /// not updated since `updated_before_ms`, oldest first: work for the background sweeps.
    async fn due_payments(
        &self,
        scope: Scope<'_>,
        statuses: &[crate::payment::status::Status],
        created_before_ms: i64,
        updated_before_ms: i64,
        limit: u32,
    ) -> Result<Vec<PaymentRecord>, StoreError>;
    /// Captured payments of any service not yet settled, captured before
    /// `captured_before_ms`, oldest first: work for the settlement sweep.
    async fn unsettled_payments(
        &self,
        scope: Scope<'_>,
        captured_before_ms: i64,
        limit: u32,
    ) -> Result<Vec<PaymentRecord>, StoreError>;
    /// A payment of this service; another service's payment is `None`, like an unknown id.
    async fn payment(
        &self,
        service_id: &str,
        id: &str,
    ) -> Result<Option<PaymentRecord>, StoreError>;
    /// The payment's ledger events, oldest first.
    async fn payment_events(
        &self,
        service_id: &str,
        id: &str,
    ) -> Result<Vec<LedgerEvent>, StoreError>;
    /// Marks up to `limit` payments whose public state is final (`Status::state_is_final`)
    /// as frozen, so searches count them once; how many.
    async fn freeze_final_payments(&self, limit: u32) -> Result<u64, StoreError>;
    /// One page of this service's payments matching `filter`, newest first, and how many
    /// match in all.
    async fn search_payments(
        &self,
        service_id: &str,
        filter: &crate::search::PaymentFilter,
        limit: u32,
        offset: u64,
    ) -> Result<(u64, Vec<PaymentRecord>), StoreError>;
}

/// Refunds of payments.
#[async_trait]
pub trait RefundStore: Send + Sync {
    /// Records a refund of a captured payment with its events, in one transaction, only if
    /// the payment is still captured and undisputed, the refund still fits in what is left to
    /// refund, and (when `judged_total` is given) the refunded total is still the one the
    /// request was judged against — all checked by the database in the write, so concurrent
    /// refunds can never exceed the amount. `Conflict` otherwise.
    async fn insert_refund(
        &self,
        payment: &PaymentRecord,
        refund: &crate::refund::RefundRecord,
        judged_total: Option<i64>,
        record: &Record,
    ) -> Result<(), StoreError>;
    /// Ends a submitted refund as `success` or `error` with what that records, in one
    /// transaction; an errored refund's amount becomes available again. `Conflict` if it was
    /// no longer submitted.
    async fn finish_refund(
        &self,
        refund: &crate::refund::RefundRecord,
        status: crate::refund::RefundStatus,
        at_ms: i64,
        record: &Record,
    ) -> Result<(), StoreError>;
    /// Refunds of any service still `submitted`, created before `created_before_ms`, oldest
    /// first: work for the refund sweep.
    async fn submitted_refunds(
        &self,
        scope: Scope<'_>,
        created_before_ms: i64,
        limit: u32,
    ) -> Result<Vec<crate::refund::RefundRecord>, StoreError>;
    /// Successful refunds of any service not yet paid out, that succeeded before
    /// `succeeded_before_ms`, oldest first: work for the settlement sweep.
    async fn unsettled_refunds(
        &self,
        scope: Scope<'_>,
        succeeded_before_ms: i64,
        limit: u32,
    ) -> Result<Vec<crate::refund::RefundRecord>, StoreError>;
    /// Records that a successful refund was paid out; `Conflict` if it already was.
    async fn settle_refund(
        &self,
        refund: &crate::refund::RefundRecord,
        settled_ms: i64,
    ) -> Result<(), StoreError>;
    /// A payment's refunds, oldest first.
    async fn refunds(
        &self,
        service_id: &str,
        payment_id: &str,
    ) -> Result<Vec<crate::refund::RefundRecord>, StoreError>;
    /// One page of this service's refunds matching `filter`, newest first, and how many
    /// match in all.
    async fn search_refunds(
        &self,
        service_id: &str,
        filter: &crate::search::Dates,
        limit: u32,
        offset: u64,
    ) -> Result<(u64, Vec<crate::refund::RefundRecord>), StoreError>;
}

/// Disputes raised against captured payments.
#[async_trait]
pub trait DisputeStore: Send + Sync {
    /// Payments of any service whose announced dispute is due (before `before_ms`), oldest
    /// first: work for the dispute sweep.
    async fn dispute_due_payments(
        &self,
        scope: Scope<'_>,
        before_ms: i64,
        limit: u32,
    ) -> Result<Vec<PaymentRecord>, StoreError>;
    /// Raises `dispute` on `payment` with its events, in one transaction: the payment is
    /// marked disputed (so no refund can follow) and its version moves on. `Conflict` if it
    /// already was disputed.
    async fn raise_dispute(
        &self,
        payment: &PaymentRecord,
        dispute: &crate::dispute::DisputeRecord,
        record: &Record,
    ) -> Result<(), StoreError>;
    /// Disputes of any service with a lifecycle step due before `before_ms`, oldest first.
    async fn due_disputes(
        &self,
        scope: Scope<'_>,
        before_ms: i64,
        limit: u32,
    ) -> Result<Vec<crate::dispute::DisputeRecord>, StoreError>;
    /// Replaces `current` with `next` (status, net amount, due and settled times) if it is
    /// still in `current`'s status, with its events, in one transaction; `Conflict` otherwise.
    async fn advance_dispute(
        &self,
        current: &crate::dispute::DisputeRecord,
        next: &crate::dispute::DisputeRecord,
        record: &Record,
    ) -> Result<(), StoreError>;
    /// One page of this service's disputes matching `filter`, newest first, and how many
    /// match in all.
    async fn search_disputes(
        &self,
        service_id: &str,
        filter: &crate::search::DisputeFilter,
        limit: u32,
        offset: u64,
    ) -> Result<(u64, Vec<crate::dispute::DisputeRecord>), StoreError>;
}

/// Agreements for recurring payments, and their events.
#[async_trait]
pub trait AgreementStore: Send + Sync {
    /// Stores a new agreement with its `AGREEMENT_CREATED` event, in one transaction.
    async fn insert_agreement(
        &self,
        agreement: &crate::agreement::AgreementRecord,
        event: crate::ledger::EventKind,
    ) -> Result<(), StoreError>;
    /// An agreement of this service; another service's is `None`, like an unknown id.
    async fn agreement(
        &self,
        service_id: &str,
        id: &str,
    ) -> Result<Option<crate::agreement::AgreementRecord>, StoreError>;
    /// Replaces `current` with `next` (status, instrument, cancellation) if nobody changed
    /// it since it was read (same version), with its event, in one transaction; `Conflict`
    /// otherwise.
    async fn update_agreement(
        &self,
        current: &crate::agreement::AgreementRecord,
        next: &crate::agreement::AgreementRecord,
        event: crate::ledger::EventKind,
        at_ms: i64,
        audit: Option<&crate::staff::AuditEntry>,
    ) -> Result<(), StoreError>;
    /// One page of this service's agreements matching `filter`, newest first, and how many
    /// match in all.
    async fn search_agreements(
        &self,
        service_id: &str,
        filter: &crate::agreement::AgreementFilter,
        limit: u32,
        offset: u64,
    ) -> Result<(u64, Vec<crate::agreement::AgreementRecord>), StoreError>;
}

/// Every storage trait, for code that holds a concrete store rather than `&dyn Store`:
/// `use pence_core::ports::prelude::*;`.
pub mod prelude {
    pub use super::{
        AgreementStore, DisputeStore, EmailStore, FaultStore, InstanceStore, KeyStore, LinkStore,
        PaymentStore, RefundStore, ServiceStore, SnapshotStore, StaffStore, Store, WebhookStore,
    };
}

/// One UTC day of a service's money, for the admin tool's dashboard.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DayTotals {
    /// Days since the Unix epoch (UTC).
    pub day: i64,
    /// Successful payments created that day, and their total (surcharges included).
    pub payments: i64,
    pub paid: i64,
    /// Successful refunds made that day, and their total.
    pub refunds: i64,
    pub refunded: i64,
}

/// The admin tool's users, their roles, sign-in links, sessions and the audit log.
#[async_trait]
pub trait StaffStore: Send + Sync {
    /// A new user with their role and sign-in link, and the audit row of the staff action
    /// that invited them, in one change; `Duplicate` (and nothing written) when the email is
    /// taken.
    async fn insert_user(
        &self,
        user: &crate::staff::User,
        invitation: &crate::staff::Invitation<'_>,
        audit: Option<&crate::staff::AuditEntry>,
    ) -> Result<(), StoreError>;
    async fn update_user(
        &self,
        user: &crate::staff::User,
        audit: Option<&crate::staff::AuditEntry>,
    ) -> Result<(), StoreError>;
    async fn user(&self, id: &str) -> Result<Option<crate::staff::User>, StoreError>;
    async fn user_by_email(&self, email: &str) -> Result<Option<crate::staff::User>, StoreError>;
    /// Every user, by email.
    async fn users(&self) -> Result<Vec<crate::staff::User>, StoreError>;
    /// Gives (or changes) the user's role on a service, with the audit row of the staff
    /// action that did.
    async fn set_role(
        &self,
        user_id: &str,
        service_id: &str,
        role: crate::staff::Role,
        audit: Option<&crate::staff::AuditEntry>,
    ) -> Result<(), StoreError>;
    /// The users with a role on a service, and their role there, by email.
    async fn members(
        &self,
        service_id: &str,
    ) -> Result<Vec<(crate::staff::User, crate::staff::Role)>, StoreError>;
    /// The user's roles: (service id, role), by service id.
    async fn roles(&self, user_id: &str) -> Result<Vec<(String, crate::staff::Role)>, StoreError>;
    async fn insert_link(
        &self,
        token_hash: &str,
        user_id: &str,
        expires_ms: i64,
    ) -> Result<(), StoreError>;
    /// The user of a link that is unused and unexpired at `now_ms`.
    async fn link_user(&self, token_hash: &str, now_ms: i64) -> Result<Option<String>, StoreError>;
    async fn insert_session(&self, session: &crate::staff::StaffSession) -> Result<(), StoreError>;
    async fn session(
        &self,
        id_hash: &str,
    ) -> Result<Option<crate::staff::StaffSession>, StoreError>;
    /// Replaces a session with another (a new token once the second factor is given), in
    /// one change, with its audit row (the sign-in it completes); false if the old one was
    /// gone.
    async fn replace_session(
        &self,
        old_id_hash: &str,
        new: &crate::staff::StaffSession,
        audit: Option<&crate::staff::AuditEntry>,
    ) -> Result<bool, StoreError>;
    /// Ends a session, with the audit row of the sign-out that ended it (written only when
    /// this call ended it: signing out in two tabs is one sign-out).
    async fn delete_session(
        &self,
        id_hash: &str,
        audit: Option<&crate::staff::AuditEntry>,
    ) -> Result<(), StoreError>;
    /// In one change: spends the live link `link_hash` (false, changing nothing, if it is
    /// not live), sets the user's password hash, spends every other link of the user and
    /// ends every session of the user; with its audit row.
    async fn set_password(
        &self,
        user_id: &str,
        password_hash: &str,
        link_hash: &str,
        now_ms: i64,
        audit: Option<&crate::staff::AuditEntry>,
    ) -> Result<bool, StoreError>;
    /// Counts a sign-in guess under `key` before it is checked, in one conditional write:
    /// false (nothing counted) while the key is locked; the `max`th guess locks it until
    /// `now_ms + lock_ms`. Keys unused for a day go.
    async fn claim_sign_in(
        &self,
        key: &str,
        now_ms: i64,
        max: i64,
        lock_ms: i64,
    ) -> Result<bool, StoreError>;
    /// A sign-in under `key` succeeded: its count starts again.
    async fn clear_sign_in(&self, key: &str) -> Result<(), StoreError>;
    /// Records that the user's authenticator code of time step `step` was used; false if
    /// that step or a later one was used already (a code signs in once).
    async fn spend_totp_step(&self, user_id: &str, step: i64) -> Result<bool, StoreError>;
    async fn insert_audit(&self, entry: &crate::staff::AuditEntry) -> Result<(), StoreError>;
    /// The newest entries first.
    async fn audit_log(&self, limit: u32) -> Result<Vec<crate::staff::AuditEntry>, StoreError>;
    /// One service's entries, newest first.
    async fn service_audit_log(
        &self,
        service_id: &str,
        limit: u32,
    ) -> Result<Vec<crate::staff::AuditEntry>, StoreError>;
    /// The service's successful payments and refunds per UTC day from `from_ms` on, days
    /// with neither left out.
    async fn daily_totals(
        &self,
        service_id: &str,
        from_ms: i64,
    ) -> Result<Vec<DayTotals>, StoreError>;
}

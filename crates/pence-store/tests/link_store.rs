//! Payment links on both engines: addresses are unique among links not deleted, a deleted
//! link frees its address and stops opening, and a payment taken through a link is stored
//! with its link payment in one transaction.

mod common;

use std::collections::BTreeMap;

use pence_core::clock::AdjustableClock;
use pence_core::link::operations::{self as links, Address, Choices, LinkError};
use pence_core::link::{LinkDraft, ReferenceField};
use pence_core::payment::Language;
use pence_core::ports::prelude::*;
use pence_core::staff::Actor;
use pence_core::StoreError;
use pence_testkit::Engine;

use common::open;

fn draft(title: &str) -> LinkDraft {
    LinkDraft {
        title: title.into(),
        details: "Pay for your permit".into(),
        ..Default::default()
    }
}

pence_testkit::engine_tests!(links_keep_their_addresses_unique_until_deleted);
async fn links_keep_their_addresses_unique_until_deleted(engine: Engine) {
    let (_db, store, service) = open(engine).await;
    let clock = AdjustableClock::default();
    let first = links::create(
        &store,
        &clock,
        Actor::Operator,
        &service,
        draft("A parking permit"),
    )
    .await
    .unwrap();
    assert_eq!(first.address(), "/payments/svc/parking-permit");
    let again = links::create(
        &store,
        &clock,
        Actor::Operator,
        &service,
        draft("Parking permit"),
    );
    assert!(matches!(again.await, Err(LinkError::AddressTaken)));
    // Another address is free; moving the second onto the first's is refused.
    let second = links::create(
        &store,
        &clock,
        Actor::Operator,
        &service,
        draft("Skip hire"),
    )
    .await
    .unwrap();
    let mut onto = draft("Skip hire");
    onto.link_path = Some("parking-permit".into());
    let moved = links::update(&store, &clock, Actor::Operator, &service, &second.id, onto);
    assert!(matches!(moved.await, Err(LinkError::AddressTaken)));
    let at = store
        .payment_link_at("svc", "parking-permit")
        .await
        .unwrap();
    assert_eq!(at.map(|l| l.id), Some(first.id.clone()));

    links::delete(&store, &clock, Actor::Operator, &service, &first.id)
        .await
        .unwrap();
    assert!(store.payment_link(&first.id).await.unwrap().is_none());
    let gone = links::delete(&store, &clock, Actor::Operator, &service, &first.id).await;
    assert!(matches!(gone, Err(LinkError::NotFound(_))));
    let reused = links::create(
        &store,
        &clock,
        Actor::Operator,
        &service,
        draft("Parking permit"),
    )
    .await
    .unwrap();
    assert_eq!(reused.link_path, "parking-permit");
    let listed: Vec<String> = links::list(&store, &service)
        .await
        .unwrap()
        .into_iter()
        .map(|l| l.id)
        .collect();
    assert_eq!(listed.len(), 2);
    assert!(listed.contains(&reused.id) && listed.contains(&second.id));
    store.close().await;
}

pence_testkit::engine_tests!(a_link_payment_is_an_ordinary_payment_of_its_service);
async fn a_link_payment_is_an_ordinary_payment_of_its_service(engine: Engine) {
    let (_db, store, service) = open(engine).await;
    let clock = AdjustableClock::default();
    let mut d = draft("Parking permit");
    d.reference = Some(ReferenceField {
        label: "Permit number".into(),
        hint: Some("On your letter".into()),
    });
    d.language = Some(Language::Cy);
    d.metadata = BTreeMap::from([("Cost centre".into(), "AB12".into())]);
    let link = links::create(&store, &clock, Actor::Operator, &service, d)
        .await
        .unwrap();
    let (opened, _) = links::open(&store, Address::Paths("svc", "parking-permit"))
        .await
        .unwrap()
        .expect("the link opens by its address");
    assert_eq!(opened, link);
    let choices = Choices {
        amount: Some(1250),
        reference: Some("PN-42".into()),
    };
    let taken = links::take_payment(&store, &clock, &service, &link, choices, "https://p/c")
        .await
        .unwrap();
    let p = &taken.payment;
    assert_eq!((p.amount, p.reference.as_str()), (1250, "PN-42"));
    assert_eq!(p.description, "Parking permit");
    assert_eq!(p.language, Language::Cy);
    let completion = format!("https://p/c/{}", taken.link_payment.id);
    assert_eq!(p.return_url.as_deref(), Some(completion.as_str()));
    let centre = p.metadata.as_ref().map(|m| m["Cost centre"].clone());
    assert_eq!(centre, Some(serde_json::json!("AB12")));
    let stored = store.link_payment_of(&p.id).await.unwrap().unwrap();
    assert_eq!(stored, taken.link_payment);
    let (lp, payment) = links::completed(&store, &stored.id).await.unwrap().unwrap();
    assert_eq!((lp.link_id, payment.id), (link.id.clone(), p.id.clone()));

    // A link without a payer's reference makes one up, unique among the service's.
    let fixed = LinkDraft {
        amount: Some(500),
        ..draft("Skip hire")
    };
    let fixed = links::create(&store, &clock, Actor::Operator, &service, fixed)
        .await
        .unwrap();
    let (_, of_link, takings) = links::with_payments(&store, &service, &link.id, 10)
        .await
        .unwrap();
    assert_eq!(
        of_link.iter().map(|p| &p.id).collect::<Vec<_>>(),
        vec![&p.id]
    );
    // Not paid yet: taken, but nothing succeeded.
    assert_eq!(
        (takings.payments, takings.succeeded, takings.total),
        (1, 0, 0)
    );
    let made = links::take_payment(
        &store,
        &clock,
        &service,
        &fixed,
        Choices::default(),
        "https://p/c",
    )
    .await
    .unwrap();
    assert_eq!(made.payment.amount, 500);
    assert_eq!(
        made.link_payment.generated_reference.as_deref(),
        Some(made.payment.reference.as_str())
    );
    store.close().await;
}

pence_testkit::engine_tests!(the_link_store_answers_for_what_is_not_there);
async fn the_link_store_answers_for_what_is_not_there(engine: Engine) {
    let (_db, store, service) = open(engine).await;
    let clock = AdjustableClock::default();
    let link = links::create(&store, &clock, Actor::Operator, &service, draft("Parking"))
        .await
        .unwrap();
    let twin = pence_core::link::PaymentLink {
        id: pence_core::ids::new_id(),
        ..link.clone()
    };
    let taken = store.insert_payment_link(&twin, None).await;
    assert!(matches!(taken, Err(StoreError::Duplicate)), "{taken:?}");
    assert!(!store.update_payment_link(&twin, None).await.unwrap());
    assert!(!store
        .delete_payment_link(&service.id, &twin.id, 5, None)
        .await
        .unwrap());
    // Another service cannot delete the link.
    assert!(!store
        .delete_payment_link("other", &link.id, 5, None)
        .await
        .unwrap());
    assert_eq!(
        store.payment_links(&service.id).await.unwrap(),
        vec![link.clone()]
    );
    assert!(store.payment_links("other").await.unwrap().is_empty());
    assert!(store.link_payment("nothing").await.unwrap().is_none());
    assert!(store.link_payment_of("nothing").await.unwrap().is_none());
    assert!(store
        .payments_of_link(&link.id, 5)
        .await
        .unwrap()
        .is_empty());
    let none = store.link_takings(&link.id).await.unwrap();
    assert_eq!((none.payments, none.total), (0, 0));
    let renamed = pence_core::link::PaymentLink {
        title: "Parking permits".into(),
        ..link.clone()
    };
    assert!(store.update_payment_link(&renamed, None).await.unwrap());
    assert_eq!(store.payment_link(&link.id).await.unwrap(), Some(renamed));
    store.close().await;
}

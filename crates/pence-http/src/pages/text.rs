//! Every word on the paying user's pages, in English and Welsh (`language: "cy"`). The
//! wording is Pence's own; the Welsh is our translation.

use pence_core::card::{Field, Problem};
use pence_core::payment::Language;

pub struct Text {
    pub lang: &'static str,
    pub site: &'static str,
    pub sandbox_notice: &'static str,
    pub enter_card_details: &'static str,
    pub payment_summary: &'static str,
    pub total_to_pay: &'static str,
    pub surcharge_notice: &'static str,
    pub corporate_fee_hint: &'static str,
    pub error_summary_title: &'static str,
    pub card_number: &'static str,
    pub card_number_hint: &'static str,
    pub accepted_cards: &'static str,
    pub expiry_date: &'static str,
    pub expiry_hint: &'static str,
    pub month: &'static str,
    pub year: &'static str,
    pub name_on_card: &'static str,
    pub security_code: &'static str,
    pub security_code_hint: &'static str,
    pub billing_address: &'static str,
    pub billing_address_hint: &'static str,
    pub address_line1: &'static str,
    pub address_line2: &'static str,
    pub town_or_city: &'static str,
    pub postcode: &'static str,
    pub country: &'static str,
    pub email: &'static str,
    pub email_hint: &'static str,
    pub optional: &'static str,
    pub continue_button: &'static str,
    pub cancel_payment: &'static str,
    pub confirm_title: &'static str,
    pub confirm_button: &'static str,
    pub confirm_hint: &'static str,
    pub description: &'static str,
    pub amount: &'static str,
    pub card_label: &'static str,
    pub ending_in: &'static str,
    pub expires: &'static str,
    pub three_ds_title: &'static str,
    pub three_ds_body: &'static str,
    pub three_ds_pass: &'static str,
    pub three_ds_fail: &'static str,
    pub waiting_title: &'static str,
    pub waiting_body: &'static str,
    pub back_to_service: &'static str,
    pub declined_title: &'static str,
    pub declined_body: &'static str,
    pub error_title: &'static str,
    pub error_body: &'static str,
    pub expired_title: &'static str,
    pub expired_body: &'static str,
    pub cancelled_title: &'static str,
    pub cancelled_body: &'static str,
    pub used_title: &'static str,
    pub used_body: &'static str,
    pub not_found_title: &'static str,
    pub not_found_body: &'static str,
    pub done_title: &'static str,
    pub done_body: &'static str,
    pub session_title: &'static str,
    pub session_body: &'static str,
}

pub const EN: Text = Text {
    lang: "en",
    site: "Pence payments",
    sandbox_notice: "Sandbox: no real money is taken. Use a test card.",
    enter_card_details: "Enter card details",
    payment_summary: "Payment summary",
    total_to_pay: "Total amount",
    surcharge_notice: "Your payment includes a fee of {fee} for using a corporate card.",
    corporate_fee_hint: "Corporate cards may carry a fee of up to {fee}.",
    error_summary_title: "There is a problem",
    card_number: "Card number",
    card_number_hint: "The long number on the front of your card",
    accepted_cards: "Accepted cards",
    expiry_date: "Expiry date",
    expiry_hint: "For example, 10/29",
    month: "Month",
    year: "Year",
    name_on_card: "Name on card",
    security_code: "Card security code",
    security_code_hint: "The last 3 digits on the back of the card (4 digits on the front for American Express)",
    billing_address: "Billing address",
    billing_address_hint: "The address your card is registered to",
    address_line1: "Address line 1",
    address_line2: "Address line 2",
    town_or_city: "Town or city",
    postcode: "Postcode",
    country: "Country or territory",
    email: "Email",
    email_hint: "We will send your payment confirmation here",
    optional: "(optional)",
    continue_button: "Continue",
    cancel_payment: "Cancel payment",
    confirm_title: "Confirm your payment",
    confirm_button: "Confirm payment",
    confirm_hint: "Check the details below before you pay.",
    description: "Payment for",
    amount: "Total amount",
    card_label: "Card",
    ending_in: "ending in",
    expires: "Expiry date",
    three_ds_title: "Your bank wants to check it is you",
    three_ds_body: "This sandbox stands in for your bank's 3-D Secure check. Choose the outcome.",
    three_ds_pass: "Pass the check",
    three_ds_fail: "Fail the check",
    waiting_title: "We are checking your payment",
    waiting_body: "This page will refresh. Do not go back or close the window.",
    back_to_service: "Go back to the service",
    declined_title: "Your payment has been declined",
    declined_body: "No money has been taken from your account.",
    error_title: "We could not take your payment",
    error_body: "There was a problem with the payment provider. No money has been taken.",
    expired_title: "Your payment session has expired",
    expired_body: "Payments must be completed within 90 minutes. No money has been taken.",
    cancelled_title: "This payment was cancelled",
    cancelled_body: "The service cancelled this payment. No money has been taken.",
    used_title: "This link has been used",
    used_body: "This payment link was opened in another browser or window. Go back to the service to start again.",
    not_found_title: "This link is not valid",
    not_found_body: "Check the link you followed, or go back to the service to start again.",
    done_title: "Your payment is complete",
    done_body: "You can close this window.",
    session_title: "Your session has expired",
    session_body: "Go back to the service and start the payment again.",
};

pub const CY: Text = Text {
    lang: "cy",
    site: "Taliadau Pence",
    sandbox_notice: "Blwch tywod: ni chymerir arian go iawn. Defnyddiwch gerdyn prawf.",
    enter_card_details: "Rhowch fanylion y cerdyn",
    payment_summary: "Crynodeb o'r taliad",
    total_to_pay: "Cyfanswm",
    surcharge_notice: "Mae eich taliad yn cynnwys ffi o {fee} am ddefnyddio cerdyn corfforaethol.",
    corporate_fee_hint: "Gall fod ffi o hyd at {fee} am gardiau corfforaethol.",
    error_summary_title: "Mae problem wedi codi",
    card_number: "Rhif y cerdyn",
    card_number_hint: "Y rhif hir ar flaen eich cerdyn",
    accepted_cards: "Cardiau a dderbynnir",
    expiry_date: "Dyddiad dod i ben",
    expiry_hint: "Er enghraifft, 10/29",
    month: "Mis",
    year: "Blwyddyn",
    name_on_card: "Enw ar y cerdyn",
    security_code: "Cod diogelwch y cerdyn",
    security_code_hint: "Y 3 digid olaf ar gefn y cerdyn (4 digid ar y blaen ar gyfer American Express)",
    billing_address: "Cyfeiriad bilio",
    billing_address_hint: "Y cyfeiriad y mae eich cerdyn wedi'i gofrestru iddo",
    address_line1: "Llinell 1 y cyfeiriad",
    address_line2: "Llinell 2 y cyfeiriad",
    town_or_city: "Tref neu ddinas",
    postcode: "Cod post",
    country: "Gwlad neu diriogaeth",
    email: "E-bost",
    email_hint: "Byddwn yn anfon cadarnhad o'ch taliad i'r cyfeiriad hwn",
    optional: "(dewisol)",
    continue_button: "Parhau",
    cancel_payment: "Canslo'r taliad",
    confirm_title: "Cadarnhewch eich taliad",
    confirm_button: "Cadarnhau'r taliad",
    confirm_hint: "Gwiriwch y manylion isod cyn i chi dalu.",
    description: "Taliad am",
    amount: "Cyfanswm",
    card_label: "Cerdyn",
    ending_in: "yn gorffen gyda",
    expires: "Dyddiad dod i ben",
    three_ds_title: "Mae eich banc eisiau gwirio mai chi sydd yno",
    three_ds_body: "Mae'r blwch tywod hwn yn sefyll yn lle gwiriad 3-D Secure eich banc. Dewiswch y canlyniad.",
    three_ds_pass: "Pasio'r gwiriad",
    three_ds_fail: "Methu'r gwiriad",
    waiting_title: "Rydym yn gwirio eich taliad",
    waiting_body: "Bydd y dudalen hon yn adnewyddu. Peidiwch â mynd yn ôl na chau'r ffenestr.",
    back_to_service: "Mynd yn ôl i'r gwasanaeth",
    declined_title: "Mae eich taliad wedi'i wrthod",
    declined_body: "Nid oes arian wedi'i gymryd o'ch cyfrif.",
    error_title: "Nid oeddem yn gallu cymryd eich taliad",
    error_body: "Roedd problem gyda'r darparwr taliadau. Nid oes arian wedi'i gymryd.",
    expired_title: "Mae eich sesiwn talu wedi dod i ben",
    expired_body: "Rhaid cwblhau taliadau o fewn 90 munud. Nid oes arian wedi'i gymryd.",
    cancelled_title: "Cafodd y taliad hwn ei ganslo",
    cancelled_body: "Mae'r gwasanaeth wedi canslo'r taliad hwn. Nid oes arian wedi'i gymryd.",
    used_title: "Mae'r ddolen hon wedi'i defnyddio",
    used_body: "Agorwyd y ddolen dalu hon mewn porwr neu ffenestr arall. Ewch yn ôl i'r gwasanaeth i ddechrau eto.",
    not_found_title: "Nid yw'r ddolen hon yn ddilys",
    not_found_body: "Gwiriwch y ddolen a ddilynwyd gennych, neu ewch yn ôl i'r gwasanaeth i ddechrau eto.",
    done_title: "Mae eich taliad wedi'i gwblhau",
    done_body: "Gallwch gau'r ffenestr hon.",
    session_title: "Mae eich sesiwn wedi dod i ben",
    session_body: "Ewch yn ôl i'r gwasanaeth a dechrau'r taliad eto.",
};

pub fn for_language(language: Language) -> &'static Text {
    match language {
        Language::En => &EN,
        Language::Cy => &CY,
    }
}

/// The message for a refused field, in the page's language.
pub fn problem(lang: Language, field: Field, problem: Problem) -> String {
    let cy = lang == Language::Cy;
    let pick = |en: &str, cy_text: &str| {
        if cy {
            cy_text.to_string()
        } else {
            en.to_string()
        }
    };
    use Problem::*;
    match problem {
        CardNoMissing => pick("Enter your card number", "Rhowch rif eich cerdyn"),
        CardNoInvalid => pick("Enter a valid card number", "Rhowch rif cerdyn dilys"),
        BrandNotAccepted(brand) => {
            if cy {
                format!("Nid yw cardiau {} yn cael eu derbyn", brand.label())
            } else {
                format!("{} cards are not accepted", brand.label())
            }
        }
        DebitNotAccepted => pick(
            "Debit cards are not accepted",
            "Nid yw cardiau debyd yn cael eu derbyn",
        ),
        CreditNotAccepted => pick(
            "Credit cards are not accepted",
            "Nid yw cardiau credyd yn cael eu derbyn",
        ),
        PrepaidNotAccepted => pick(
            "Prepaid cards are not accepted",
            "Nid yw cardiau rhagdaledig yn cael eu derbyn",
        ),
        ExpiryMissing => pick("Enter the expiry date", "Rhowch y dyddiad dod i ben"),
        ExpiryInvalid => pick(
            "Enter a valid expiry date",
            "Rhowch ddyddiad dod i ben dilys",
        ),
        ExpiryPast => pick(
            "The card has expired: enter a date in the future",
            "Mae'r cerdyn wedi dod i ben: rhowch ddyddiad yn y dyfodol",
        ),
        NameMissing => pick(
            "Enter the name as it appears on the card",
            "Rhowch yr enw fel y mae'n ymddangos ar y cerdyn",
        ),
        NameIsCardNumber => pick(
            "Enter the name on the card, not the card number",
            "Rhowch yr enw ar y cerdyn, nid rhif y cerdyn",
        ),
        NameTooLong => pick(
            "Name on card must be 255 characters or fewer",
            "Rhaid i'r enw ar y cerdyn fod yn 255 nod neu lai",
        ),
        CvcMissing => pick(
            "Enter the card security code",
            "Rhowch god diogelwch y cerdyn",
        ),
        CvcInvalid => pick(
            "Enter a valid card security code",
            "Rhowch god diogelwch dilys",
        ),
        Line1Missing => pick(
            "Enter the building and street of your billing address",
            "Rhowch adeilad a stryd eich cyfeiriad bilio",
        ),
        CityMissing => pick("Enter the town or city", "Rhowch y dref neu'r ddinas"),
        PostcodeMissing => pick("Enter a postcode", "Rhowch god post"),
        PostcodeInvalid => pick("Enter a valid postcode", "Rhowch god post dilys"),
        CountryMissing => pick(
            "Select a country or territory",
            "Dewiswch wlad neu diriogaeth",
        ),
        EmailMissing => pick("Enter your email address", "Rhowch eich cyfeiriad e-bost"),
        EmailInvalid => pick(
            "Enter a valid email address, like name@example.com",
            "Rhowch gyfeiriad e-bost dilys, fel enw@example.com",
        ),
        TooLong => match field {
            _ if cy => "Mae'r testun yn rhy hir: 255 nod ar y mwyaf".to_string(),
            _ => "Text must be 255 characters or fewer".to_string(),
        },
    }
}

/// `£1,234.56` from pence.
pub fn money(pence: i64) -> String {
    let pounds = (pence / 100).to_string();
    let mut grouped = String::new();
    for (i, c) in pounds.chars().enumerate() {
        if i > 0 && (pounds.len() - i).is_multiple_of(3) {
            grouped.push(',');
        }
        grouped.push(c);
    }
    format!("£{grouped}.{:02}", pence % 100)
}

#[cfg(test)]
mod tests {
    #[test]
    fn money() {
        assert_eq!(super::money(5), "£0.05");
        assert_eq!(super::money(123456789), "£1,234,567.89");
        assert_eq!(super::money(100000), "£1,000.00");
    }
}

//! Every word on a payment link's own pages, in English and Welsh (the link's language).
//! Headings, buttons and error texts are GOV.UK Pay's (pay-products-ui), so tests written
//! against its pages find them; `{label}` is the link's reference label.

use pence_core::link::payer::{AmountProblem, AnswerProblem, ReferenceProblem};
use pence_core::payment::Language;

pub struct LinkText {
    pub start_title: &'static str,
    pub continue_button: &'static str,
    pub back: &'static str,
    pub there_is_a_problem: &'static str,
    pub enter_your: &'static str,
    pub enter_amount: &'static str,
    pub check_details: &'static str,
    pub total_to_pay: &'static str,
    pub change: &'static str,
    pub continue_to_payment: &'static str,
    pub amount_empty: &'static str,
    pub amount_format: &'static str,
    pub amount_over_max: &'static str,
    /// Unconfirmed in English: GOV.UK Pay's Welsh reads "the amount must be £0.01 or more".
    pub amount_zero: &'static str,
    pub reference_empty: &'static str,
    pub reference_too_long: &'static str,
    pub reference_bad_chars: &'static str,
    pub card_number_title: &'static str,
    pub card_number_body: &'static str,
    pub success_title: &'static str,
    pub reference_is: &'static str,
    pub what_next: &'static str,
    pub email_sent: &'static str,
    pub summary_title: &'static str,
    pub payment_for: &'static str,
    pub total_amount: &'static str,
    pub failed_title: &'static str,
    pub failed_body: &'static str,
    pub try_again: &'static str,
    pub link_error_title: &'static str,
    pub link_problem: &'static str,
    pub invalid_prefilled_reference: &'static str,
    pub invalid_prefilled_amount: &'static str,
    pub not_found_title: &'static str,
    pub not_found_body: &'static str,
}

pub static EN: LinkText = LinkText {
    start_title: "Make a payment",
    continue_button: "Continue",
    back: "Back",
    there_is_a_problem: "There is a problem",
    enter_your: "Enter your",
    enter_amount: "Enter amount to pay",
    check_details: "Check your details",
    total_to_pay: "Total to pay",
    change: "Change",
    continue_to_payment: "Continue to payment",
    amount_empty: "Enter an amount of money to pay",
    amount_format: "Enter an amount in pounds and pence using digits and a decimal point, like 123.45 or 156.00",
    amount_over_max: "Enter an amount that is £100,000 or less",
    amount_zero: "The amount must be £0.01 or more",
    reference_empty: "You must enter your {label}",
    reference_too_long: "{label} must be 255 characters or fewer",
    reference_bad_chars: "{label} must not include any of the following characters < > ; : ` ( ) \" ' = | \",\" ~ [ ]",
    card_number_title: "Are you sure this is a reference number?",
    card_number_body: "Check that you’ve entered the number correctly before making the payment. Do not enter your debit or credit card number.",
    success_title: "Your payment was successful",
    reference_is: "Your payment reference number is",
    what_next: "What happens next",
    email_sent: "We have sent you a confirmation email.",
    summary_title: "Payment summary",
    payment_for: "Payment for:",
    total_amount: "Total amount:",
    failed_title: "Your payment has been declined",
    failed_body: "Contact your bank for more details. No money has been taken from your account.",
    try_again: "Go back to try the payment again",
    link_error_title: "An error occurred:",
    link_problem: "There is a problem with the link you have been sent to use to pay. Please contact the service you're trying to make a payment to.",
    invalid_prefilled_reference: "Reference must be 255 characters or fewer. You can’t use any of the following characters < > ; : ` ( ) \" ' = | \",\" ~ [ ]",
    invalid_prefilled_amount: "Amount must be in pounds and pence using digits and a decimal point, like 123.45 or 156.00 and £100,000 or less.",
    not_found_title: "Page not found",
    not_found_body: "If you typed the web address, check it is correct.",
};

pub static CY: LinkText = LinkText {
    start_title: "Gwneud taliad",
    continue_button: "Parhau",
    back: "Yn ôl",
    there_is_a_problem: "Mae yna broblem",
    enter_your: "Cofnodwch eich",
    enter_amount: "Nodwch y swm i'w dalu mewn punnoedd",
    check_details: "Gwiriwch eich manylion",
    total_to_pay: "Cyfanswm i’w dalu",
    change: "Newid",
    continue_to_payment: "Parhau at daliad",
    amount_empty: "Cofnodwch swm o arian i’w dalu",
    amount_format: "Cofnodwch swm mewn punnoedd a cheiniogau gan ddefnyddio digidau a phwynt degol, fel 123.45 neu 156.00",
    amount_over_max: "Cofnodwch swm sy’n £100,000 neu lai",
    amount_zero: "Rhaid i'r swm fod yn £0.01 neu fwy",
    reference_empty: "Mae’n rhaid i chi gofnodi’ch {label}",
    reference_too_long: "Mae’n rhaid i {label} fod yn 255 nod neu lai",
    reference_bad_chars: "Mae’n rhaid i {label} beidio â chynnwys unrhyw un o’r nodau canlynol < > ; : ` ( ) \" = | \",\" ~ [ ]",
    card_number_title: "Ydych chi’n siŵr mae rhif cyfeirnod yw hwn?",
    card_number_body: "Gwiriwch eich bod wedi nodi’r rhif yn gywir cyn gwneud y taliad. Peidiwch â nodi’ch rhif cerdyn debyd neu gredyd.",
    success_title: "Roedd eich taliad yn llwyddiannus",
    reference_is: "Rhif cyfeirnod eich taliad yw",
    what_next: "Beth sy’n digwydd nesaf",
    email_sent: "Rydym wedi anfon e-bost atoch yn cadarnhau eich bod wedi gwneud taliad.",
    summary_title: "Crynodeb o’r taliad",
    payment_for: "Taliad am:",
    total_amount: "Cyfanswm:",
    failed_title: "Mae eich taliad wedi cael ei wrthod",
    failed_body: "Nid oes arian wedi cael ei dynnu o’ch cyfrif. Cysylltwch â’ch banc am ragor o fanylion.",
    try_again: "Mynd yn ôl i geisio’r taliad eto",
    link_error_title: "Mae yna broblem",
    link_problem: "Mae problem gyda’r ddolen sydd wedi cael ei hanfon atoch i’w defnyddio i dalu. Cysylltwch â’r gwasanaeth rydych chi’n ceisio gwneud taliad iddo.",
    invalid_prefilled_reference: "Mae’n rhaid i’r cyfeirnod fod yn 255 nod neu lai. Ni allwch ddefnyddio unrhyw rai o’r nodau canlynol < > ; : ` ( ) \" = | \",\" ~ [ ]",
    invalid_prefilled_amount: "Ni all swm y taliad fod yn llai na £0.01 ac ni all fod yn fwy na £100,000 .",
    not_found_title: "Ni chanfuwyd y dudalen",
    not_found_body: "Os wnaethoch deipio’r gwegyfeiriad, gwiriwch ei fod yn gywir.",
};

pub fn for_language(l: Language) -> &'static LinkText {
    match l {
        Language::En => &EN,
        Language::Cy => &CY,
    }
}

impl LinkText {
    pub fn amount_problem(&self, p: AmountProblem) -> &'static str {
        match p {
            AmountProblem::Empty => self.amount_empty,
            AmountProblem::NotPoundsAndPence => self.amount_format,
            AmountProblem::OverMaximum => self.amount_over_max,
            AmountProblem::Zero => self.amount_zero,
        }
    }

    /// A refused answer given all at once (the control API's and the CLI's paying user): the
    /// field it names and the words its page would show (`label`: the link's reference
    /// label).
    pub fn answer_problem(&self, p: AnswerProblem, label: &str) -> (&'static str, String) {
        match p {
            AnswerProblem::Amount(a) => ("amount", self.amount_problem(a).to_string()),
            AnswerProblem::Reference(r) => ("reference", self.reference_problem(r, label)),
            AnswerProblem::AmountIsFixed => ("amount", "The link has a fixed amount".into()),
            AnswerProblem::NoReferenceAsked => {
                ("reference", "The link makes up its references".into())
            }
        }
    }

    /// GOV.UK Pay fills in the label and starts the message with a capital.
    pub fn reference_problem(&self, p: ReferenceProblem, label: &str) -> String {
        let text = match p {
            ReferenceProblem::Empty => self.reference_empty,
            ReferenceProblem::TooLong => self.reference_too_long,
            ReferenceProblem::BadCharacters => self.reference_bad_chars,
        }
        .replace("{label}", label);
        let mut chars = text.chars();
        match chars.next() {
            Some(first) => first.to_uppercase().chain(chars).collect(),
            None => text,
        }
    }
}

//! Card identification by BIN (reference §16): the brand from the number's leading digits,
//! and the type / corporate / prepaid flags, which GOV.UK Pay's cardid service reads from
//! acquirer BIN files. Pence keeps its own small table: the public prefix ranges of every
//! brand, and exact entries for the sandbox test cards of §4.2.

/// A card scheme as GOV.UK Pay names it (connector `card_types`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Brand {
    Visa,
    MasterCard,
    AmericanExpress,
    DinersClub,
    Discover,
    Jcb,
    UnionPay,
    Maestro,
}

impl Brand {
    pub const ALL: [Brand; 8] = [
        Brand::Visa,
        Brand::MasterCard,
        Brand::AmericanExpress,
        Brand::DinersClub,
        Brand::Discover,
        Brand::Jcb,
        Brand::UnionPay,
        Brand::Maestro,
    ];

    /// The id used in the API's search filter and in service settings.
    pub fn id(self) -> &'static str {
        match self {
            Brand::Visa => "visa",
            Brand::MasterCard => "master-card",
            Brand::AmericanExpress => "american-express",
            Brand::DinersClub => "diners-club",
            Brand::Discover => "discover",
            Brand::Jcb => "jcb",
            Brand::UnionPay => "unionpay",
            Brand::Maestro => "maestro",
        }
    }

    /// The label shown as `card_details.card_brand`.
    pub fn label(self) -> &'static str {
        match self {
            Brand::Visa => "Visa",
            Brand::MasterCard => "Mastercard",
            Brand::AmericanExpress => "American Express",
            Brand::DinersClub => "Diners Club",
            Brand::Discover => "Discover",
            Brand::Jcb => "Jcb",
            Brand::UnionPay => "Union Pay",
            Brand::Maestro => "Maestro",
        }
    }

    pub fn parse(id: &str) -> Option<Brand> {
        Brand::ALL.into_iter().find(|b| b.id() == id)
    }

    /// Brands a new service accepts: all but Maestro, as on GOV.UK Pay.
    pub fn default_accepted() -> Vec<Brand> {
        Brand::ALL
            .into_iter()
            .filter(|b| *b != Brand::Maestro)
            .collect()
    }

    /// Digits of the card security code.
    pub fn cvc_len(self) -> usize {
        if self == Brand::AmericanExpress {
            4
        } else {
            3
        }
    }

    /// Card-number lengths the scheme issues.
    pub fn lengths(self) -> &'static [usize] {
        match self {
            Brand::Visa => &[13, 16, 19],
            // 15 for the sandbox's 2221 test card (reference §4.2).
            Brand::MasterCard => &[15, 16],
            Brand::AmericanExpress => &[15],
            Brand::DinersClub => &[14, 15, 16, 17, 18, 19],
            Brand::Discover | Brand::Jcb | Brand::UnionPay => &[16, 17, 18, 19],
            Brand::Maestro => &[12, 13, 14, 15, 16, 17, 18, 19],
        }
    }
}

/// Debit, credit, or a card BIN files list as either (`card_type` null on the API).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CardType {
    Debit,
    Credit,
    CreditOrDebit,
}

impl CardType {
    /// `card_details.card_type`.
    pub fn api(self) -> Option<&'static str> {
        match self {
            Debit => Some("debit"),
            Credit => Some("credit"),
            CreditOrDebit => None,
        }
    }

    pub fn parse_api(s: Option<&str>) -> CardType {
        match s {
            Some("debit") => Debit,
            Some("credit") => Credit,
            _ => CreditOrDebit,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Prepaid {
    Prepaid,
    NotPrepaid,
    Unknown,
}

/// What the BIN says about a card.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CardInfo {
    pub brand: Brand,
    pub card_type: CardType,
    pub corporate: bool,
    pub prepaid: Prepaid,
}

/// Inclusive ranges of leading digits, compared on the length of the bounds.
const BRAND_RANGES: &[(&str, &str, Brand)] = &[
    ("4", "4", Brand::Visa),
    ("51", "55", Brand::MasterCard),
    ("2221", "2720", Brand::MasterCard),
    ("34", "34", Brand::AmericanExpress),
    ("37", "37", Brand::AmericanExpress),
    ("300", "305", Brand::DinersClub),
    ("3095", "3095", Brand::DinersClub),
    ("36", "36", Brand::DinersClub),
    ("38", "39", Brand::DinersClub),
    ("3528", "3589", Brand::Jcb),
    ("6011", "6011", Brand::Discover),
    ("644", "649", Brand::Discover),
    ("65", "65", Brand::Discover),
    ("62", "62", Brand::UnionPay),
    ("81", "81", Brand::UnionPay),
    ("50", "50", Brand::Maestro),
    ("56", "58", Brand::Maestro),
    ("6304", "6304", Brand::Maestro),
    ("6759", "6759", Brand::Maestro),
    ("6761", "6763", Brand::Maestro),
];

use CardType::{Credit, CreditOrDebit, Debit};
use Prepaid::{NotPrepaid, Unknown};

/// Issuer details of particular BINs (the test cards of reference §4.2), longest prefix wins.
const DETAILS: &[(&str, CardType, bool, Prepaid)] = &[
    ("4444333322221111", Credit, false, NotPrepaid),
    ("4242424242424242", Credit, false, NotPrepaid),
    ("400005", Debit, false, NotPrepaid),
    ("491761", Debit, false, NotPrepaid),
    ("5105105105105100", Debit, false, NotPrepaid),
    ("2221", Credit, false, NotPrepaid),
    ("4000000000000010", CreditOrDebit, false, NotPrepaid),
    ("400016", Debit, false, Prepaid::Prepaid),
    ("400002", CreditOrDebit, false, NotPrepaid),
    ("498808", Debit, true, NotPrepaid),
    ("411111", Credit, true, NotPrepaid),
    ("42931891", CreditOrDebit, true, NotPrepaid),
    ("510118", Credit, true, Unknown),
    ("413184", Debit, true, Prepaid::Prepaid),
    ("400018", Debit, true, Prepaid::Prepaid),
    ("520082", Debit, false, Unknown),
    ("4000002500003155", Credit, false, NotPrepaid),
];

fn default_type(brand: Brand) -> CardType {
    match brand {
        Brand::Visa | Brand::MasterCard => CreditOrDebit,
        Brand::Maestro => Debit,
        _ => Credit,
    }
}

fn in_range(number: &str, low: &str, high: &str) -> bool {
    number.len() >= low.len() && {
        let head = &number[..low.len()];
        head >= low && head <= high
    }
}

/// Identifies a card from its digits; `None` when no brand's range covers it.
pub fn identify(number: &str) -> Option<CardInfo> {
    let brand = BRAND_RANGES
        .iter()
        .filter(|(low, high, _)| in_range(number, low, high))
        .max_by_key(|(low, _, _)| low.len())
        .map(|(_, _, brand)| *brand)?;
    let detail = DETAILS
        .iter()
        .filter(|(prefix, ..)| number.starts_with(prefix))
        .max_by_key(|(prefix, ..)| prefix.len());
    Some(match detail {
        Some((_, card_type, corporate, prepaid)) => CardInfo {
            brand,
            card_type: *card_type,
            corporate: *corporate,
            prepaid: *prepaid,
        },
        None => CardInfo {
            brand,
            card_type: default_type(brand),
            corporate: false,
            prepaid: NotPrepaid,
        },
    })
}

/// The Luhn checksum every card number carries.
pub fn luhn_ok(number: &str) -> bool {
    let mut sum = 0;
    for (i, c) in number.bytes().rev().enumerate() {
        let mut d = u32::from(c - b'0');
        if i % 2 == 1 {
            d *= 2;
            if d > 9 {
                d -= 9;
            }
        }
        sum += d;
    }
    sum % 10 == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every card of reference §4.2 is identified as the table says.
    #[test]
    fn sandbox_cards() {
        let cases = [
            ("4444333322221111", Brand::Visa, Some("credit")),
            ("4242424242424242", Brand::Visa, Some("credit")),
            ("4000056655665556", Brand::Visa, Some("debit")),
            ("4917610000000000003", Brand::Visa, Some("debit")),
            ("371449635398431", Brand::AmericanExpress, Some("credit")),
            ("3566002020360505", Brand::Jcb, Some("credit")),
            ("6011000990139424", Brand::Discover, Some("credit")),
            ("36148900647913", Brand::DinersClub, Some("credit")),
            ("5105105105105100", Brand::MasterCard, Some("debit")),
            ("222100000000000", Brand::MasterCard, Some("credit")),
            ("4000000000000010", Brand::Visa, None),
            ("4000160000000004", Brand::Visa, Some("debit")),
            ("4988080000000000", Brand::Visa, Some("debit")),
            ("4111111111111111", Brand::Visa, Some("credit")),
            ("5101180000000007", Brand::MasterCard, Some("credit")),
            ("4131840000000003", Brand::Visa, Some("debit")),
            ("4000180000000002", Brand::Visa, Some("debit")),
            ("5200828282828210", Brand::MasterCard, Some("debit")),
            ("4000000000000002", Brand::Visa, None),
            ("6759649826438453", Brand::Maestro, Some("debit")),
            ("4000002500003155", Brand::Visa, Some("credit")),
        ];
        for (number, brand, card_type) in cases {
            assert!(luhn_ok(number), "{number} fails Luhn");
            let info = identify(number).unwrap_or_else(|| panic!("{number} unknown"));
            assert_eq!(info.brand, brand, "{number}");
            assert_eq!(info.card_type.api(), card_type, "{number}");
            assert!(brand.lengths().contains(&number.len()), "{number} length");
        }
        assert_eq!(
            identify("4000160000000004").unwrap().prepaid,
            Prepaid::Prepaid
        );
        assert!(identify("4988080000000000").unwrap().corporate);
        assert!(!identify("4444333322221111").unwrap().corporate);
    }

    #[test]
    fn unknown_and_luhn() {
        assert_eq!(identify("9999999999999999"), None);
        assert!(!luhn_ok("4444333322221112"));
        assert!(luhn_ok("0"));
    }
}

"""Seeds a running Pence with what the compatibility suite needs: a payment paid through the
card pages and captured (setting an agreement up), a refund of part of it, an unpaid
payment and another agreement. Prints JSON with
their ids. Uses only the public API and the pages, as a service and a paying user would.

    python3 compat/seed.py BASE_URL API_KEY
"""

import json
import re
import sys
import time
import urllib.parse
import urllib.request
from http.cookiejar import CookieJar

base, key = sys.argv[1].rstrip("/"), sys.argv[2]


def api(method, path, body=None):
    req = urllib.request.Request(
        base + path,
        method=method,
        data=None if body is None else json.dumps(body).encode(),
        headers={"Authorization": f"Bearer {key}", "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(req) as resp:
        text = resp.read().decode()
        return json.loads(text) if text else None


def create(reference, **extra):
    return api(
        "POST",
        "/v1/payments",
        {
            "amount": 2500,
            "reference": reference,
            "description": "Compatibility suite",
            "return_url": "https://example.org/return",
            "email": "payer@example.org",
            "metadata": {"ledger_code": "AB100", "internal": True},
            **extra,
        },
    )


# The paid payment also sets an agreement up (the service takes recurring payments).
to_set_up = api("POST", "/v1/agreements", {"reference": "COMPAT-ACTIVE", "description": "Compatibility suite"})
paid = create("COMPAT-PAID", set_up_agreement=to_set_up["agreement_id"])
browser = urllib.request.build_opener(
    urllib.request.HTTPCookieProcessor(CookieJar()),
    # The pages redirect to the service's return_url at the end: not followed off the node.
    type("NoOffsiteRedirects", (urllib.request.HTTPRedirectHandler,), {
        "redirect_request": lambda self, req, fp, code, msg, hdrs, newurl:
            super(type(self), self).redirect_request(req, fp, code, msg, hdrs, newurl)
            if newurl.startswith(base) or newurl.startswith("/") else None
    })(),
)
page = browser.open(paid["_links"]["next_url"]["href"]).read().decode()
csrf = re.search(r'name="csrfToken" value="([^"]+)"', page).group(1)
card_url = f"{base}/card_details/{paid['payment_id']}"
form = {
    "csrfToken": csrf,
    "cardNo": "4444333322221111",
    "expiryMonth": "04",
    "expiryYear": "31",
    "cardholderName": "Ada Lovelace",
    "cvc": "123",
    "addressLine1": "1 Example Street",
    "addressCity": "London",
    "addressPostcode": "SW1A 1AA",
    "addressCountry": "GB",
    "email": "payer@example.org",
}
browser.open(card_url, urllib.parse.urlencode(form).encode()).read()
try:
    browser.open(f"{card_url}/confirm", urllib.parse.urlencode({"csrfToken": csrf}).encode()).read()
except urllib.error.HTTPError as e:
    if e.code not in (301, 302, 303):
        raise
# The node's capture sweep runs every second.
for _ in range(100):
    if api("GET", f"/v1/payments/{paid['payment_id']}")["refund_summary"]["status"] == "available":
        break
    time.sleep(0.1)
refund = api("POST", f"/v1/payments/{paid['payment_id']}/refunds", {"amount": 500})
unpaid = create("COMPAT-UNPAID")
agreement = api("POST", "/v1/agreements", {"reference": "COMPAT-AGREEMENT", "description": "Compatibility suite"})
assert api("GET", f"/v1/agreements/{to_set_up['agreement_id']}")["status"] == "active"
print(json.dumps({
    "agreement_id": agreement["agreement_id"],
    "active_agreement_id": to_set_up["agreement_id"],
    "paid_payment_id": paid["payment_id"],
    "refund_id": refund["refund_id"],
    "unpaid_payment_id": unpaid["payment_id"],
}))

"""Test data for scripts/api-contract: real identifiers for schemathesis.

Random path parameters name nothing, so without help most operations would only ever answer
404. This script creates a few records on the demo server (tickets by phone and by mail, a mail
without a tenant, a mail with an attachment, a text module, a coverage, a disabled IMAP mailbox),
reads the demo tenants, centers, users, descriptions, org units and base texts, and writes a
schemathesis config whose dictionaries offer their slugs, ids and ticket numbers for the path
parameters `slug`, `id` and `attachment` (mixed with generated values).

Usage: python api_contract_seed.py BASE_URL INGEST_TOKEN OUT_TOML
Only the standard library: it runs in the venv of scripts/api-contract or outside it.
"""

import json
import re
import sys
import urllib.error
import urllib.request
from datetime import datetime, timedelta, timezone

PASSWORD = "verbund-demo-2026"
UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
TICKET_NUMBER = re.compile(r"^[A-Z]{2,}-\d{4}-\d{6}$")


def request(base, method, path, token=None, body=None, content_type="application/json"):
    data = None
    headers = {}
    if body is not None:
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        headers["Content-Type"] = content_type
    if token:
        headers["Authorization"] = f"Bearer {token}"
    req = urllib.request.Request(base + path, data=data, method=method, headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=30) as resp:
            raw = resp.read()
    except urllib.error.HTTPError as e:
        raise SystemExit(f"api_contract_seed: {method} {path} answered {e.code}: {e.read()[:300]!r}")
    return json.loads(raw) if raw else None


def login(base, email):
    return request(base, "POST", "/api/v1/auth/login", body={"email": email, "password": PASSWORD})[
        "access_token"
    ]


def collect(value, ids, numbers, skip):
    """Every id and ticket number anywhere in a response."""
    if isinstance(value, dict):
        for v in value.values():
            collect(v, ids, numbers, skip)
    elif isinstance(value, list):
        for v in value:
            collect(v, ids, numbers, skip)
    elif isinstance(value, str):
        if UUID.match(value) and value not in skip:
            ids.add(value)
        elif TICKET_NUMBER.match(value):
            numbers.add(value)


def mail(to, subject, attachment=False):
    head = (
        f"From: Erika Mustermann <erika@example.org>\r\nTo: {to}\r\nSubject: {subject}\r\n"
        f"Message-ID: <{subject.replace(' ', '-')}@example.org>\r\n"
        "Date: Tue, 01 Dec 2026 09:00:00 +0100\r\nMIME-Version: 1.0\r\n"
    )
    text = "Guten Tag, wann hat das Bürgeramt geöffnet?\r\n"
    if not attachment:
        return (head + "Content-Type: text/plain; charset=utf-8\r\n\r\n" + text).encode()
    return (
        head
        + 'Content-Type: multipart/mixed; boundary="b1"\r\n\r\n'
        + "--b1\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
        + text
        + "--b1\r\nContent-Type: application/pdf\r\n"
        + 'Content-Disposition: attachment; filename="antrag.pdf"\r\n'
        + "Content-Transfer-Encoding: base64\r\n\r\nJVBERi0xLjQKJcTl8uXr\r\n--b1--\r\n"
    ).encode()


def main():
    base, ingest_token, out = sys.argv[1:4]
    operator = login(base, "operator@verbund.demo")
    admin = login(base, "admin@stadt-koblenz.demo")
    agent = login(base, "agent@sc-koblenz.demo")
    me = request(base, "GET", "/api/v1/me", admin)
    # The admin's own account stays out: a run that deactivated it would see only 401 after.
    skip = {me["id"]}
    ids, numbers, slugs = set(), set(), set()
    seen = []

    for who, path in [
        (operator, "/api/v1/tenants"),
        (operator, "/api/v1/centers"),
    ]:
        for item in request(base, "GET", path, who):
            slugs.add(item["slug"])
    for who, path in [
        (operator, "/api/v1/tenants/stadt-koblenz/users"),
        (admin, "/api/v1/tenants/stadt-koblenz/services"),
        (admin, "/api/v1/tenants/stadt-koblenz/org-units"),
        (operator, "/api/v1/catalog/services"),
    ]:
        seen.append(request(base, "GET", path, who))

    for channel in ["callback", "email"]:
        seen.append(
            request(
                base,
                "POST",
                "/api/v1/tenants/stadt-koblenz/tickets",
                agent,
                {
                    "subject": f"Rückfrage Wohnsitz ({channel})",
                    "question": "Welche Unterlagen brauche ich für die Anmeldung?",
                    "answer_channel": channel,
                    "citizen": {"name": "Erika Mustermann", "email": "erika@example.org", "phone": "+49 261 1234567"},
                },
            )
        )
    raw = "message/rfc822"
    for message in [
        mail("buergerservice@stadt-koblenz.demo", "Oeffnungszeiten Buergeramt", attachment=True),
        mail("niemand@nirgendwo.example", "Irrlaeufer"),
    ]:
        seen.append(request(base, "POST", "/api/v1/inbound/raw", ingest_token, message, raw))
    seen.append(request(base, "GET", "/api/v1/inbound", operator))
    seen.append(
        request(
            base,
            "POST",
            "/api/v1/tenants/stadt-koblenz/templates",
            admin,
            {"name": "Öffnungszeiten", "body": "Das Bürgeramt ist montags bis freitags geöffnet."},
        )
    )
    until = (datetime.now(timezone.utc) + timedelta(days=7)).isoformat()
    seen.append(
        request(
            base,
            "POST",
            "/api/v1/tenants/stadt-koblenz/coverages",
            admin,
            {"center": "sc-trier", "until": until, "reason": "Betriebsausflug"},
        )
    )
    seen.append(
        request(
            base,
            "POST",
            "/api/v1/tenants/stadt-koblenz/mailboxes",
            admin,
            {
                "name": "Postfach",
                "host": "127.0.0.1",
                "port": 9,
                "security": "plain",
                "username": "postfach",
                "secret": "geheim",
                "enabled": False,
            },
        )
    )
    for page in seen:
        collect(page, ids, numbers, skip)
    # The tickets' mails carry the attachment ids.
    for number in sorted(numbers):
        collect(request(base, "GET", f"/api/v1/tickets/{number}/mails", admin), ids, numbers, skip)
    seen_notifications = request(base, "GET", "/api/v1/notifications", admin)
    collect(seen_notifications, ids, numbers, skip)

    def toml_list(values):
        return "[" + ", ".join(json.dumps(v) for v in sorted(values)) + "]"

    with open(out, "w", encoding="utf-8") as f:
        f.write("# Written by scripts/api_contract_seed.py for one run of scripts/api-contract.\n")
        f.write(f"[dictionaries.slugs]\nvalues = {toml_list(slugs)}\n\n")
        f.write(f"[dictionaries.ids]\nvalues = {toml_list(ids | numbers)}\n\n")
        f.write("[parameters]\n")
        f.write('"path.slug" = { dictionary = "slugs", probability = 0.7 }\n')
        f.write('"path.id" = { dictionary = "ids", probability = 0.7 }\n')
        f.write('"path.attachment" = { dictionary = "ids", probability = 0.7 }\n')
    print(f"api_contract_seed: {len(slugs)} slugs, {len(ids)} ids, {len(numbers)} ticket numbers")


if __name__ == "__main__":
    main()

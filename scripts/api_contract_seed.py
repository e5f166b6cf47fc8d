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


def ids_of(items):
    return {item["id"] for item in items}


# The pools of path parameter values, and the operations (path regex) that take them as `{id}`.
POOLS = {
    "tickets": r"^/api/v1/tickets/\{id\}",
    "users": r"^/api/v1/tenants/\{slug\}/users/\{id\}$",
    "services": r"^/api/v1/tenants/\{slug\}/services/\{id\}",
    "org_units": r"^/api/v1/tenants/\{slug\}/org-units/\{id\}",
    "templates": r"^/api/v1/tenants/\{slug\}/templates/\{id\}$",
    "coverages": r"^/api/v1/tenants/\{slug\}/coverages/\{id\}",
    "mailboxes": r"^/api/v1/tenants/\{slug\}/mailboxes/\{id\}$",
    "outbox": r"^/api/v1/tenants/\{slug\}/outbox/\{id\}",
    "catalog": r"^/api/v1/catalog/services/\{id\}$",
    "inbound": r"^/api/v1/inbound/\{id\}",
    "notifications": r"^/api/v1/notifications/\{id\}",
}


def main():
    base, ingest_token, out = sys.argv[1:4]
    koblenz = "/api/v1/tenants/stadt-koblenz"
    operator = login(base, "operator@verbund.demo")
    admin = login(base, "admin@stadt-koblenz.demo")
    agent = login(base, "agent@sc-koblenz.demo")
    get = lambda who, path: request(base, "GET", path, who)  # noqa: E731
    post = lambda who, path, body: request(base, "POST", path, who, body)  # noqa: E731
    pool = {name: set() for name in POOLS}
    attachments = set()

    slugs = {t["slug"] for t in get(operator, "/api/v1/tenants")}
    slugs |= {c["slug"] for c in get(operator, "/api/v1/centers")}
    # The admin's own account stays out: a run that deactivated it would see only 401 after.
    own = get(admin, "/api/v1/me")["id"]
    pool["users"] = ids_of(get(operator, f"{koblenz}/users")) - {own}
    pool["services"] = ids_of(get(admin, f"{koblenz}/services")["items"])
    pool["org_units"] = ids_of(get(admin, f"{koblenz}/org-units"))
    pool["catalog"] = ids_of(get(operator, "/api/v1/catalog/services"))

    tickets = []
    for channel in ["callback", "email"]:
        tickets.append(
            post(
                agent,
                f"{koblenz}/tickets",
                {
                    "subject": f"Rückfrage Wohnsitz ({channel})",
                    "question": "Welche Unterlagen brauche ich für die Anmeldung?",
                    "answer_channel": channel,
                    "citizen": {
                        "name": "Erika Mustermann",
                        "email": "erika@example.org",
                        "phone": "+49 261 1234567",
                    },
                },
            )
        )
    # An answer by mail puts a mail into the outbox.
    post(agent, f"/api/v1/tickets/{tickets[1]['number']}/messages", {"body": "Sehr geehrte Frau Mustermann, ..."})
    for t in tickets:
        pool["tickets"] |= {t["id"], t["number"]}
    for message in [
        mail("buergerservice@stadt-koblenz.demo", "Oeffnungszeiten Buergeramt", attachment=True),
        mail("niemand@nirgendwo.example", "Irrlaeufer"),
    ]:
        got = request(base, "POST", "/api/v1/inbound/raw", ingest_token, message, "message/rfc822")
        pool["inbound"].add(got["id"])
        for key in ("ticket_id", "ticket_number"):
            if got.get(key):
                pool["tickets"].add(got[key])
    for number in [t for t in pool["tickets"] if not UUID.match(t)]:
        for m in get(admin, f"/api/v1/tickets/{number}/mails"):
            attachments |= ids_of(m["attachments"])
    pool["inbound"] |= ids_of(get(operator, "/api/v1/inbound"))
    pool["outbox"] = ids_of(get(admin, f"{koblenz}/outbox"))
    pool["templates"].add(
        post(admin, f"{koblenz}/templates", {"name": "Öffnungszeiten", "body": "Montags bis freitags."})["id"]
    )
    until = (datetime.now(timezone.utc) + timedelta(days=7)).isoformat()
    pool["coverages"].add(
        post(admin, f"{koblenz}/coverages", {"center": "sc-trier", "until": until, "reason": "Betriebsausflug"})["id"]
    )
    mailbox = {
        "name": "Postfach",
        "host": "127.0.0.1",
        "port": 9,
        "security": "plain",
        "username": "postfach",
        "secret": "geheim",
        "enabled": False,
    }
    pool["mailboxes"].add(post(admin, f"{koblenz}/mailboxes", mailbox)["id"])
    pool["notifications"] = ids_of(get(admin, "/api/v1/notifications")) | ids_of(
        get(agent, "/api/v1/notifications")
    )

    def toml_list(values):
        return "[" + ", ".join(json.dumps(v) for v in sorted(values)) + "]"

    with open(out, "w", encoding="utf-8") as f:
        f.write("# Written by scripts/api_contract_seed.py for one run of scripts/api-contract.\n")
        f.write(f"[dictionaries.slugs]\nvalues = {toml_list(slugs)}\n\n")
        f.write('[dictionaries.koblenz]\nvalues = ["stadt-koblenz"]\n\n')
        if attachments:
            f.write(f"[dictionaries.attachments]\nvalues = {toml_list(attachments)}\n\n")
        for name, values in pool.items():
            if values:
                f.write(f"[dictionaries.{name}]\nvalues = {toml_list(values)}\n\n")
        f.write('[parameters]\n"path.slug" = { dictionary = "slugs", probability = 0.7 }\n')
        if attachments:
            f.write('"path.attachment" = { dictionary = "attachments", probability = 0.7 }\n')
        for name, values in pool.items():
            if values:
                f.write(f"\n[[operations]]\ninclude-path-regex = {json.dumps(POOLS[name])}\n")
                # The records were made in Stadt Koblenz: the pair (slug, id) must match.
                f.write(
                    f'parameters = {{ "path.id" = {{ dictionary = "{name}", probability = 0.7 }}, '
                    '"path.slug" = { dictionary = "koblenz", probability = 0.8 } }\n'
                )
    sizes = ", ".join(f"{name} {len(values)}" for name, values in pool.items())
    print(f"api_contract_seed: slugs {len(slugs)}, attachments {len(attachments)}, {sizes}")


if __name__ == "__main__":
    main()

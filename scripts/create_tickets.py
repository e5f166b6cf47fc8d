#!/usr/bin/env python3
"""Sends N ticket creations over C keep-alive connections (scripts/callgrind-create). Usage: create_tickets.py PORT N [C] [TENANT]"""
import http.client, json, sys, threading, time
port = int(sys.argv[1]); total = int(sys.argv[2]); conns = int(sys.argv[3]) if len(sys.argv) > 3 else 1
slug = sys.argv[4] if len(sys.argv) > 4 else "stadt-trier"
c = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
c.request("POST", "/api/v1/auth/login", json.dumps({"email": "agent@sc-trier.demo", "password": "verbund-demo-2026"}), {"content-type": "application/json"})
r = c.getresponse(); body = json.loads(r.read()); tok = body["access_token"]
BODY = json.dumps({"subject":"Personalausweis beantragen","question":"Welche Unterlagen brauche ich für den neuen Personalausweis?","citizen":{"name":"Erika Mustermann","phone":"+49 261 123456"},"answer_channel":"callback"}).encode()
H = {"content-type": "application/json", "authorization": "Bearer " + tok}
lock = threading.Lock(); left = [total]; bad = [0]
def worker():
    k = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
    while True:
        with lock:
            if left[0] <= 0: return
            left[0] -= 1
        k.request("POST", f"/api/v1/tenants/{slug}/tickets", BODY, H)
        r = k.getresponse(); r.read()
        if r.status != 201:
            with lock: bad[0] += 1
t0 = time.time()
ts = [threading.Thread(target=worker) for _ in range(conns)]
[t.start() for t in ts]; [t.join() for t in ts]
print(f"{total} requests, {conns} conns, {time.time()-t0:.1f}s, non-201: {bad[0]}")

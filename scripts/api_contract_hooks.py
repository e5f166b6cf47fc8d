"""Schemathesis hooks for scripts/api-contract (loaded through SCHEMATHESIS_HOOKS).

`POST /api/v1/inbound/raw` takes a raw mail as `message/rfc822`; schemathesis has no
serializer for it, so the generated text goes on the wire as it is, like `text/plain`.
"""

import schemathesis

schemathesis.serializer.alias("message/rfc822", "text/plain")

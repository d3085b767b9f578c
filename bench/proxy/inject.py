"""mitmdump addon for enclave's proxy benchmark: the peer's equivalent of an http grant.

For requests to the granted host:port it sets the grant's header (replacing whatever the client
sent, e.g. a placeholder) and asks for an unencoded body; on the way back it swaps the secret for
the placeholder in the response headers and body -- what enclave's proxy does (inject + scrub).
Other hosts pass as mitmproxy passes them.

Configuration: a JSON file named by BENCH_MITM_CONFIG:
  {"host": "localhost", "port": 8443, "header": "Authorization",
   "value": "Bearer <secret>", "secret": "<secret>", "placeholder": "<same length>"}

    mitmdump -s bench/proxy/inject.py --set ssl_verify_upstream_trusted_ca=UPSTREAM_CA.pem ...
"""

import json
import os

from mitmproxy import http


class InjectAndScrub:
    def __init__(self) -> None:
        with open(os.environ["BENCH_MITM_CONFIG"], encoding="utf-8") as f:
            c = json.load(f)
        self.host = c["host"]
        self.port = int(c["port"])
        self.header = c["header"]
        self.value = c["value"]
        self.secret = c["secret"].encode()
        self.placeholder = c["placeholder"].encode()
        self.secret_text = c["secret"]
        self.placeholder_text = c["placeholder"]

    def request(self, flow: http.HTTPFlow) -> None:
        if flow.request.host == self.host and flow.request.port == self.port:
            flow.request.headers[self.header] = self.value
            # As enclave does: ask for an unencoded body, so that scrubbing can read it.
            flow.request.headers["accept-encoding"] = "identity"
            flow.metadata["enclave_bench_injected"] = True

    def response(self, flow: http.HTTPFlow) -> None:
        if not flow.metadata.get("enclave_bench_injected") or flow.response is None:
            return
        r = flow.response
        for name in {n for n, v in r.headers.items(multi=True) if self.secret_text in v}:
            r.headers.set_all(
                name, [x.replace(self.secret_text, self.placeholder_text) for x in r.headers.get_all(name)]
            )
        body = r.raw_content
        if body and self.secret in body:
            r.raw_content = body.replace(self.secret, self.placeholder)


addons = [InjectAndScrub()]

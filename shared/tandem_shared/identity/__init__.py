"""Identity: who a caller is, proven by a token from an issuer the service trusts.

- `principal`: the verified caller (`Principal`, `Role`) and the refusals.
- `keys`: asymmetric signing keys, their JWKs and the key ring a registry publishes.
- `issuers`: the trusted-issuer setting and how an issuer's claims become a principal.
- `jwks`: where an issuer's public keys come from (static, or a cached JWKS URL).
- `tokens`: issuing (registry) and verifying (every service) bearer tokens.
"""

"""Events use cases, one module per sub-domain. Each writes its domain change and its
messages in the caller's transaction (the outbox), so either both happen or neither does;
refusals are `tandem_shared.errors`, answered once by the app."""

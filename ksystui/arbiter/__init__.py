"""The arbiter: the only door through which operations reach KSYS nodes.
A durable queue in the store, a dispatcher that admits what the pure rules
allow, runs it under fenced claims, and reconciles after a crash."""

"""Traffic providers: the routers that split a route between stable and canary."""

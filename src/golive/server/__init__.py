"""``golive serve``: the controller and the HTTP server in one process over the state store.

- :mod:`.app`: the Starlette application, its middleware (body limit, security headers) and
  the one JSON error handler.
- :mod:`.routes`: the route table, each route with its permission beside it.
- :mod:`.auth`: bearer tokens, the API permissions (viewer, operator, admin), the rate limit
  on failed authentication.
- :mod:`.reads`, :mod:`.actions`: the handlers; every rule they apply is the operations
  layer's (``golive.operations``), the same functions the CLI calls.
- :mod:`.events`: server-sent events of a rollout's journal and measurements.
- :mod:`.statuspage`: the public status page of a service.
- :mod:`.controller`: one task per active rollout, driving it with the engine's Runner.

Nothing below the server imports it.
"""

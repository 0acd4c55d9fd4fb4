"""What people do to rollouts, with every rule, once: the CLI (and the server) call these.

- :mod:`.rollouts`: start a rollout or continue the service's active one; who may start it.
- :mod:`.commands`: pause, resume, promote, skip, abort, roll back: permissions and preconditions.
- :mod:`.signoffs`: approvals, rejections and checklist confirmations.
- :mod:`.tokens`: API tokens: the first admin token, minting, listing, revoking, all journaled.

Each function takes the store, the acting :class:`~golive.identity.Identity` and the time, and
raises :class:`~golive.errors.AuthorizationError` (not allowed) or
:class:`~golive.errors.StateError` (not now) with a sentence for the person acting.
"""

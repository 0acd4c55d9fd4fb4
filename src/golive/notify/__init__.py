"""Notifications: messages made from a rollout's journal (pure: notice, messages, route,
webhook signing), kept in the store's outbox with the event that caused them, and sent by a
worker of their own (worker, apprise, send). docs/notifications.md."""

"""Webhook senders (the WebhookSender port)."""

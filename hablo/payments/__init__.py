"""Payments: checkout links sent in the chat, provider webhooks, refunds, invoices."""

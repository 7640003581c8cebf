"""Notifications to people (not to customers on a channel): e-mail for now."""

from hablo.notify.mailer import FileMailer, Mailer, MailError, SmtpMailer, build_mailer

__all__ = ["FileMailer", "MailError", "Mailer", "SmtpMailer", "build_mailer"]

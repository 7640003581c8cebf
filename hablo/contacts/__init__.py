"""Contacts (a business's customers): normalising phones and e-mails, keeping the
cross-channel identities in step, CSV import/export, and GDPR export/erasure."""

"""The e-mail channel: a built-in SMTP receiver and IMAP polling in, SMTP out, threaded."""
